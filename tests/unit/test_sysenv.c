/* Unit tests of common/sysenv: every agreed key is present, with the right type. */
#include "sysenv.h"

#include <criterion/criterion.h>
#include <string.h>

Test(sysenv, has_every_key)
{
    /* Table: the keys the report generator reads. */
    static const char *keys[] = {"kernel",        "cpu_model",     "cores",       "mem_kib",
                                 "pid_max",       "threads_max",   "nproc_limit", "nofile_limit",
                                 "max_map_count", "libev_version", "cc_version",  "git_commit",
                                 "date"};
    json_t *env = sysenv_json();
    cr_assert_not_null(env);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_not_null(json_object_get(env, keys[i]), "missing key %s", keys[i]);
    cr_expect_eq(json_object_size(env), sizeof keys / sizeof keys[0]);
    json_decref(env);
}

Test(sysenv, values_are_plausible)
{
    json_t *env = sysenv_json();
    cr_expect_gt(json_integer_value(json_object_get(env, "cores")), 0);
    cr_expect_gt(json_integer_value(json_object_get(env, "mem_kib")), 0);
    cr_expect_gt(json_integer_value(json_object_get(env, "pid_max")), 300);
    const char *date = json_string_value(json_object_get(env, "date"));
    cr_assert_not_null(date);
    /* 2025-11-28T00:18:00Z */
    cr_expect_eq(strlen(date), 20);
    cr_expect_eq(date[10], 'T');
    cr_expect_eq(date[19], 'Z');
    const char *ev = json_string_value(json_object_get(env, "libev_version"));
    cr_assert_not_null(ev);
    cr_expect_eq(strncmp(ev, "4.", 2), 0, "libev %s", ev);
    json_decref(env);
}
