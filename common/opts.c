/* opts.c: the table-driven command-line parser, its usage printer and its table check. */
#include "opts.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 256 /* a range, a choice list, a metavar, a default, a reader's reason */
#define HEAD_MAX 22  /* "  --name META" wider than this does not push the help column */

static bool takes(const struct opt *o, unsigned cmd)
{
    return o->cmds == 0 || (o->cmds & cmd) != 0;
}

static bool is_option(const struct opt *o)
{
    return o->type != OPT_END && o->type != OPT_HEADING && o->type != OPT_HELP;
}

static bool is_integer(enum opt_type t)
{
    return t == OPT_INT || t == OPT_LONG || t == OPT_UINT32 || t == OPT_UINT64 || t == OPT_SIZE;
}

static bool has_value(const struct opt *o)
{
    return o->type != OPT_FLAG && o->type != OPT_FLAG_OFF;
}

/* What an integer field of type t can hold (unsigned 64-bit ones: up to LLONG_MAX). */
static void type_limits(enum opt_type t, long long *lo, long long *hi)
{
    *lo = 0;
    switch (t) {
    case OPT_INT: *lo = INT_MIN, *hi = INT_MAX; break;
    case OPT_LONG: *lo = LONG_MIN, *hi = LONG_MAX; break;
    case OPT_UINT32: *hi = UINT32_MAX; break;
    case OPT_SIZE:
        *hi = (unsigned long long)SIZE_MAX < (unsigned long long)LLONG_MAX ? (long long)SIZE_MAX
                                                                           : LLONG_MAX;
        break;
    default: *hi = LLONG_MAX; break;
    }
}

/* The row's range in its type; opts_check has made sure that it fits. */
static void int_bounds(const struct opt *o, long long *lo, long long *hi)
{
    type_limits(o->type, lo, hi);
    if (o->min == 0 && o->max == 0)
        return;
    if (o->min > (double)*lo)
        *lo = (long long)o->min;
    if (o->max < (double)*hi)
        *hi = (long long)o->max;
}

static void double_bounds(const struct opt *o, double *lo, double *hi)
{
    *lo = o->min == 0 && o->max == 0 ? -HUGE_VAL : o->min;
    *hi = o->min == 0 && o->max == 0 ? HUGE_VAL : o->max;
}

/* "a, b or c" (last = " or ") or "a|b|c" (sep = last = "|"). */
static void join_names(const char *const *names, const char *sep, const char *last, char *buf,
                       size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; names && names[i] && n < len; i++) {
        const char *between = i == 0 ? "" : names[i + 1] ? sep : last;
        int w = snprintf(buf + n, len - n, "%s%s", between, names[i]);
        n += w > 0 ? (size_t)w : 0;
    }
}

/* What the row accepts: "1..1024", "0.01..86400", "loop, pool or uring", "" if unbounded. */
static void range_text(const struct opt *o, char *buf, size_t len)
{
    buf[0] = '\0';
    if (is_integer(o->type)) {
        long long lo, hi;
        int_bounds(o, &lo, &hi);
        snprintf(buf, len, "%lld..%lld", lo, hi);
    } else if (o->type == OPT_CHOICE) {
        join_names(o->choices, ", ", " or ", buf, len);
    } else if (o->type == OPT_DOUBLE || (o->type == OPT_CUSTOM && (o->min || o->max))) {
        double lo, hi;
        double_bounds(o, &lo, &hi);
        snprintf(buf, len, "%.10g..%.10g", lo, hi);
    }
}

static void meta_text(const struct opt *o, char *buf, size_t len)
{
    if (!has_value(o) || o->type == OPT_HELP)
        snprintf(buf, len, "%s", "");
    else if (o->meta)
        snprintf(buf, len, "%s", o->meta);
    else if (o->type == OPT_CHOICE)
        join_names(o->choices, "|", "|", buf, len);
    else
        snprintf(buf, len, "%s", o->type == OPT_STRING || o->type == OPT_CUSTOM ? "VALUE" : "N");
}

/* A decimal integer, optionally negative: no sign '+', no blanks, no suffix. */
static int read_integer(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int read_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!(*s == '-' || *s == '.' || (*s >= '0' && *s <= '9')) || strpbrk(s, "xX"))
        return -1; /* no blanks, no '+', no hexadecimal */
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void store_integer(enum opt_type t, void *field, long long v)
{
    switch (t) {
    case OPT_INT: *(int *)field = (int)v; break;
    case OPT_LONG: *(long *)field = (long)v; break;
    case OPT_UINT32: *(uint32_t *)field = (uint32_t)v; break;
    case OPT_UINT64: *(uint64_t *)field = (uint64_t)v; break;
    default: *(size_t *)field = (size_t)v; break;
    }
}

/* Reads arg into the row's field. 0 ok; -1 with what was expected in why. */
static int read_value(const struct opt *o, const char *arg, void *field, char *why, size_t len)
{
    char range[TEXT_MAX];
    range_text(o, range, sizeof range);
    if (is_integer(o->type)) {
        long long lo, hi, v;
        int_bounds(o, &lo, &hi);
        if (read_integer(arg, lo, hi, &v) == 0) {
            store_integer(o->type, field, v);
            return 0;
        }
        snprintf(why, len, "expected an integer in %s", range);
        return -1;
    }
    switch (o->type) {
    case OPT_DOUBLE: {
        double lo, hi;
        double_bounds(o, &lo, &hi);
        if (read_double(arg, lo, hi, (double *)field) == 0)
            return 0;
        snprintf(why, len, "expected a number in %s", range);
        return -1;
    }
    case OPT_STRING: *(const char **)field = arg; return 0;
    case OPT_CHOICE: {
        int i = opts_choice(o->choices, arg, why, len);
        if (i >= 0)
            *(uint32_t *)field = (uint32_t)i;
        return i >= 0 ? 0 : -1;
    }
    default: why[0] = '\0'; return o->parse(o, arg, field, why, len);
    }
}

static const struct opt *find_row(const struct opt *rows, const char *name, size_t len)
{
    for (const struct opt *o = rows; o->type != OPT_END; o++)
        if (is_option(o) && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

/* "--buffers is an async server flag": whose flag a row of another command is. */
static void not_this_command(const struct opts_table *t, const struct opt *o, char *err,
                             size_t errlen)
{
    unsigned bit = 0;
    while (bit < 31 && !(o->cmds & (1u << bit)))
        bit++;
    if (t->cmd_names && t->cmd_names[bit])
        snprintf(err, errlen, "--%s is %s flag (try --help)", o->name, t->cmd_names[bit]);
    else
        snprintf(err, errlen, "--%s is not a flag of this command (try --help)", o->name);
}

/* Takes the option at argv[*i] (which begins with '-') and its value, advancing *i past a
   separate value. 0 ok; -1 with the message in err. */
static int take_option(const struct opts_table *t, unsigned cmd, int argc, char **argv, int *i,
                       void *dest, char *err, size_t errlen)
{
    const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
    const struct opt *o =
        arg[1] == '-' ? find_row(t->rows, name, eq ? (size_t)(eq - name) : strlen(name)) : NULL;
    char meta[TEXT_MAX], why[2 * TEXT_MAX];
    if (!o) {
        snprintf(err, errlen, "unknown option '%s' (try --help)", arg);
        return -1;
    }
    if (!takes(o, cmd)) {
        not_this_command(t, o, err, errlen);
        return -1;
    }
    void *field = (char *)dest + o->off;
    const char *value = eq ? eq + 1 : NULL;
    if (!has_value(o)) {
        if (value) {
            snprintf(err, errlen, "--%s takes no value ('%s')", o->name, arg);
            return -1;
        }
        *(bool *)field = o->type == OPT_FLAG;
    } else {
        if (!value && (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)) {
            meta_text(o, meta, sizeof meta);
            snprintf(err, errlen, "--%s needs a value (--%s %s)", o->name, o->name, meta);
            return -1;
        }
        if (!value)
            value = argv[++*i];
        if (read_value(o, value, field, why, sizeof why) < 0) {
            snprintf(err, errlen, "--%s '%s': %s", o->name, value, why[0] ? why : "invalid value");
            return -1;
        }
    }
    if (o->given)
        *(bool *)((char *)dest + o->given - 1) = true;
    return 0;
}

enum opts_result opts_parse(const struct opts_table *t, unsigned cmd, int argc, char **argv,
                            void *dest, int *rest, char *err, size_t errlen)
{
    int i = 1;
    if (opts_check(t, err, errlen) < 0)
        return OPTS_ERROR;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            return OPTS_HELP;
        if (arg[0] != '-' || arg[1] == '\0') {
            if (rest && (t->flags & OPTS_POSITIONAL))
                break;
            snprintf(err, errlen, "unexpected argument '%s' (try --help)", arg);
            return OPTS_ERROR;
        }
        if (take_option(t, cmd, argc, argv, &i, dest, err, errlen) < 0)
            return OPTS_ERROR;
    }
    if (rest) {
        *rest = i;
    } else if (i < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (try --help)", argv[i]);
        return OPTS_ERROR;
    }
    return OPTS_OK;
}

const char *opts_choice_name(const char *const *names, uint32_t i)
{
    for (uint32_t k = 0; names && names[k]; k++)
        if (k == i)
            return names[k];
    return "?";
}

int opts_choice(const char *const *names, const char *arg, char *err, size_t errlen)
{
    char list[TEXT_MAX];
    for (int i = 0; names && names[i]; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    join_names(names, ", ", " or ", list, sizeof list);
    snprintf(err, errlen, "expected %s", list);
    return -1;
}

/* ---- usage ------------------------------------------------------------------------------ */

/* The row's head, "  --name META" or "  -h, --help", into buf; its length. */
static int head_text(const struct opt *o, char *buf, size_t len)
{
    char meta[TEXT_MAX];
    meta_text(o, meta, sizeof meta);
    int n = o->type == OPT_HELP
                ? snprintf(buf, len, "  -h, --help")
                : snprintf(buf, len, "  --%s%s%s", o->name, meta[0] ? " " : "", meta);
    return n < 0 ? 0 : n;
}

/* The help column: two past the widest head that is not an outlier (HEAD_MAX). */
static int help_column(const struct opts_table *t, unsigned cmd)
{
    char head[2 * TEXT_MAX];
    int col = 0;
    for (const struct opt *o = t->rows; o->type != OPT_END; o++) {
        if (o->type == OPT_HEADING || !takes(o, cmd))
            continue;
        int w = head_text(o, head, sizeof head);
        if (w <= HEAD_MAX && w + 2 > col)
            col = w + 2;
    }
    return col;
}

/* The field's value in defaults, as {default} shows it. */
static void default_text(const struct opt *o, const void *defaults, char *buf, size_t len)
{
    const void *f = defaults ? (const char *)defaults + o->off : NULL;
    if (!f || o->type == OPT_CUSTOM || !is_option(o)) {
        snprintf(buf, len, "?");
        return;
    }
    switch (o->type) {
    case OPT_FLAG:
    case OPT_FLAG_OFF: snprintf(buf, len, "%s", *(const bool *)f ? "on" : "off"); break;
    case OPT_INT: snprintf(buf, len, "%d", *(const int *)f); break;
    case OPT_LONG: snprintf(buf, len, "%ld", *(const long *)f); break;
    case OPT_UINT32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)f); break;
    case OPT_UINT64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)f); break;
    case OPT_SIZE: snprintf(buf, len, "%zu", *(const size_t *)f); break;
    case OPT_DOUBLE: snprintf(buf, len, "%.10g", *(const double *)f); break;
    case OPT_STRING: {
        const char *s = *(const char *const *)f;
        snprintf(buf, len, "%s", s ? s : "none");
        break;
    }
    default: snprintf(buf, len, "%s", opts_choice_name(o->choices, *(const uint32_t *)f)); break;
    }
}

/* The help text from column col on (the first line already there), placeholders expanded. */
static void put_help(FILE *f, const struct opt *o, int col, const void *defaults)
{
    char text[TEXT_MAX];
    for (const char *p = o->help ? o->help : ""; *p; p++) {
        if (*p == '\n') {
            fprintf(f, "\n%*s", p[1] && p[1] != '\n' ? col : 0, "");
        } else if (strncmp(p, "{range}", 7) == 0) {
            range_text(o, text, sizeof text);
            fputs(text, f);
            p += 6;
        } else if (strncmp(p, "{default}", 9) == 0) {
            default_text(o, defaults, text, sizeof text);
            fputs(text, f);
            p += 8;
        } else {
            fputc(*p, f);
        }
    }
    fputc('\n', f);
}

void opts_usage(FILE *f, const struct opts_table *t, unsigned cmd, const void *defaults)
{
    char head[2 * TEXT_MAX];
    int col = help_column(t, cmd);
    bool first = true;
    for (const struct opt *o = t->rows; o->type != OPT_END; o++) {
        if (!takes(o, cmd))
            continue;
        if (o->type == OPT_HEADING) {
            if (!first)
                fputc('\n', f); /* a heading opens a section */
            put_help(f, o, 0, defaults);
            first = false;
            continue;
        }
        first = false;
        int w = head_text(o, head, sizeof head);
        fputs(head, f);
        if (o->help && o->help[0])
            fprintf(f, "%*s", w + 2 <= col ? col - w : 2, "");
        put_help(f, o, col, defaults);
    }
}

/* ---- the table's own check ---------------------------------------------------------------- */

/* What is wrong with row o, or NULL. */
static const char *row_problem(const struct opt *o)
{
    if (o->type > OPT_HELP)
        return "no such type";
    if (o->type == OPT_HEADING)
        return o->help ? NULL : "a heading needs its text in .help";
    if (o->type == OPT_HELP)
        return NULL;
    if (!o->name || !o->name[0] || o->name[0] == '-' || strchr(o->name, '='))
        return "a name without dashes or '=' is needed";
    if (strcmp(o->name, "help") == 0)
        return "--help is OPT_HELP's";
    if (o->type == OPT_CHOICE && !(o->choices && o->choices[0]))
        return "OPT_CHOICE needs .choices";
    if (o->type == OPT_CUSTOM && !o->parse)
        return "OPT_CUSTOM needs .parse";
    if (!(o->min <= o->max))
        return "min is above max";
    if (is_integer(o->type) && (o->min || o->max)) {
        long long lo, hi;
        type_limits(o->type, &lo, &hi);
        if (o->min < (double)lo || o->max > (double)hi)
            return "the range does not fit the type";
        if (o->min != floor(o->min) || o->max != floor(o->max))
            return "an integer range needs integer ends";
    }
    return NULL;
}

int opts_check(const struct opts_table *t, char *err, size_t errlen)
{
    for (const struct opt *o = t->rows; o->type != OPT_END; o++) {
        const char *problem = row_problem(o);
        for (const struct opt *p = t->rows; !problem && is_option(o) && p < o; p++)
            if (is_option(p) && strcmp(p->name, o->name) == 0)
                problem = "the name is taken by an earlier row";
        if (problem) {
            snprintf(err, errlen, "option table, row %d (--%s): %s", (int)(o - t->rows),
                     is_option(o) && o->name ? o->name : "", problem);
            return -1;
        }
    }
    return 0;
}
