/* json_read: read the JSON files the programs under test write, and their keys. */
#include "json_read.h"

#include <criterion/criterion.h>

json_t *hjson_load(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    cr_assert_not_null(doc, "%s is not valid JSON: %s (line %d)", path, e.text, e.line);
    return doc;
}

json_t *hget(json_t *obj, const char *key)
{
    cr_assert(json_is_object(obj), "parent of '%s' is not an object", key);
    json_t *v = json_object_get(obj, key);
    cr_assert_not_null(v, "key '%s' is missing", key);
    return v;
}

double hnum(json_t *obj, const char *key)
{
    json_t *v = hget(obj, key);
    cr_assert(json_is_number(v), "key '%s' is not a number", key);
    return json_number_value(v);
}

json_int_t hint(json_t *obj, const char *key)
{
    json_t *v = hget(obj, key);
    cr_assert(json_is_integer(v), "key '%s' is not an integer", key);
    return json_integer_value(v);
}

const char *hstr(json_t *obj, const char *key)
{
    json_t *v = hget(obj, key);
    cr_assert(json_is_string(v), "key '%s' is not a string", key);
    return json_string_value(v);
}

void hexpect_keys(json_t *obj, const char *const *keys, const char *what)
{
    for (; *keys; keys++)
        cr_expect_not_null(json_object_get(obj, *keys), "%s has no key '%s'", what, *keys);
}
