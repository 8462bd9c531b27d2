/* test_opts.c: the table-driven option parser: every type, ranges, errors, commands, usage. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

enum { CMD_LOAD = 1u, CMD_RUN = 2u };

struct t_opts {
    bool flag;
    bool check; /* --no-check clears it */
    int i;
    bool i_given;
    long l;
    uint32_t u32;
    uint64_t u64;
    size_t size;
    double rate;
    const char *out;
    bool out_given;
    uint32_t impl;
    int cpu; /* -1: none */
    int stack_kib;
    const char *target;
};

/* "none" or a CPU number in the row's range: what the harness's --client-cpu takes. */
static int parse_cpu(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    char *end;
    if (strcmp(arg, "none") == 0) {
        *(int *)field = -1;
        return 0;
    }
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < o->min || v > o->max) {
        snprintf(err, errlen, "expected none or a CPU in %.0f..%.0f", o->min, o->max);
        return -1;
    }
    *(int *)field = (int)v;
    return 0;
}

/* A reader that fails without saying why. */
static int parse_mute(const struct opt *o, const char *arg, void *field, char *err, size_t errlen)
{
    (void)o, (void)arg, (void)field, (void)err, (void)errlen;
    return -1;
}

static const char *const IMPLS[] = {"async", "thread", "uring", NULL};

#define F(member) offsetof(struct t_opts, member)

static const struct opt ROWS[] = {
    {"flag", OPT_FLAG, F(flag), .help = "a flag"},
    {"no-check", OPT_FLAG_OFF, F(check), .help = "clears check"},
    {"int", OPT_INT, F(i), OPT_GIVEN(struct t_opts, i_given), .min = -5, .max = 5,
     .help = "an int, {range} (default {default})"},
    {"long", OPT_LONG, F(l), .min = 0, .max = 4000000000000.0, .meta = "M",
     .help = "a long\nsecond line\nthird line"},
    {"u32", OPT_UINT32, F(u32), .min = 1, .max = 1024, .help = "{range}"},
    {"u64", OPT_UINT64, F(u64), .help = "the whole range: {range}"},
    {"size", OPT_SIZE, F(size), .min = 0, .max = 1 << 20, .help = "a size"},
    {"rate", OPT_DOUBLE, F(rate), .min = 0.001, .max = 1e9, .meta = "R", .help = "{range}/s"},
    {"out", OPT_STRING, F(out), OPT_GIVEN(struct t_opts, out_given), .meta = "FILE",
     .help = "default {default}"},
    {"impl", OPT_CHOICE, F(impl), .choices = IMPLS, .help = "one of {range} (default {default})"},
    {"cpu", OPT_CUSTOM, F(cpu), .min = 0, .max = 4095, .parse = parse_cpu, .meta = "N|none",
     .help = "a CPU"},
    {"mute", OPT_CUSTOM, F(cpu), .parse = parse_mute, .help = "always refuses"},
    {.type = OPT_HEADING, .help = "\nrun only:", .cmds = CMD_RUN},
    {"stack-kib", OPT_INT, F(stack_kib), .min = 0, .max = 1 << 20, .help = "run's",
     .cmds = CMD_RUN},
    {"target", OPT_STRING, F(target), .meta = "HOST:PORT", .help = "load's", .cmds = CMD_LOAD},
    {"a-very-long-option-name", OPT_FLAG, F(flag), .help = "too wide for the column"},
    {"help", OPT_HELP, .help = "this text"},
    {0},
};

static const char *const CMD_NAMES[] = {"a load", "a run"};
static const struct opts_table TABLE = {.rows = ROWS, .cmd_names = CMD_NAMES};
static const struct opts_table NAMELESS = {.rows = ROWS};
static const struct opts_table POSITIONAL = {
    .rows = ROWS, .cmd_names = CMD_NAMES, .flags = OPTS_POSITIONAL};

/* Parses args (NULL-terminated, argv[0] added) from zeroed options with check on. */
static enum opts_result parse(const struct opts_table *t, unsigned cmd, const char *const *args,
                              struct t_opts *o, int *rest, char *err, size_t errlen)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    for (const char *const *a = args; *a; a++)
        argv[argc++] = (char *)*a;
    *o = (struct t_opts){.check = true};
    err[0] = '\0';
    return opts_parse(t, cmd, argc, argv, o, rest, err, errlen);
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Asserts that got equals want, field by field, naming the case. */
static void expect_same(size_t n, const struct t_opts *got, const struct t_opts *want)
{
    cr_expect_eq(got->flag, want->flag, "case %zu: flag", n);
    cr_expect_eq(got->check, want->check, "case %zu: check", n);
    cr_expect_eq(got->i, want->i, "case %zu: int %d", n, got->i);
    cr_expect_eq(got->i_given, want->i_given, "case %zu: int's given marker", n);
    cr_expect_eq(got->l, want->l, "case %zu: long %ld", n, got->l);
    cr_expect_eq(got->u32, want->u32, "case %zu: u32 %u", n, got->u32);
    cr_expect_eq(got->u64, want->u64, "case %zu: u64", n);
    cr_expect_eq(got->size, want->size, "case %zu: size %zu", n, got->size);
    cr_expect_eq(got->rate, want->rate, "case %zu: rate %g", n, got->rate);
    cr_expect(same_str(got->out, want->out), "case %zu: out '%s'", n, got->out);
    cr_expect_eq(got->out_given, want->out_given, "case %zu: out's given marker", n);
    cr_expect_eq(got->impl, want->impl, "case %zu: impl %u", n, got->impl);
    cr_expect_eq(got->cpu, want->cpu, "case %zu: cpu %d", n, got->cpu);
    cr_expect_eq(got->stack_kib, want->stack_kib, "case %zu: stack_kib", n);
    cr_expect(same_str(got->target, want->target), "case %zu: target", n);
}

struct ok_case {
    const char *args[8];
    unsigned cmd;
    struct t_opts want; /* beside check = true, which every case has */
};

#define ON .check = true

static const struct ok_case OK[] = {
    {{NULL}, 0, {ON}},                           /* nothing given: the defaults stay */
    {{"--flag", NULL}, 0, {ON, .flag = true}},   /* a flag sets its bool */
    {{"--no-check", NULL}, 0, {.check = false}}, /* an OPT_FLAG_OFF clears its bool */
    {{"--int", "-5", NULL}, 0, {ON, .i = -5, .i_given = true}}, /* an int at its low end */
    {{"--int=5", NULL}, 0, {ON, .i = 5, .i_given = true}},      /* at its high end, with '=' */
    {{"--int", "0", NULL}, 0, {ON, .i = 0, .i_given = true}},   /* a given 0 is marked given */
    {{"--int", "1", "--int", "2", NULL}, 0, {ON, .i = 2, .i_given = true}}, /* the last wins */
    {{"--int", "004", NULL}, 0, {ON, .i = 4, .i_given = true}},     /* leading zeros are decimal */
    {{"--long", "0", NULL}, 0, {ON, .l = 0}},                       /* a long at 0 */
    {{"--long=4000000000000", NULL}, 0, {ON, .l = 4000000000000L}}, /* beyond 32 bits */
    {{"--u32", "1", NULL}, 0, {ON, .u32 = 1}},                      /* uint32 low end */
    {{"--u32=1024", NULL}, 0, {ON, .u32 = 1024}},                   /* uint32 high end */
    {{"--u64", "0", NULL}, 0, {ON, .u64 = 0}},                      /* no range: the type's */
    {{"--u64", "9223372036854775807", NULL}, 0, {ON, .u64 = INT64_MAX}},      /* its top */
    {{"--size", "0", NULL}, 0, {ON, .size = 0}},                              /* size_t low end */
    {{"--size=1048576", NULL}, 0, {ON, .size = 1048576}},                     /* size_t high end */
    {{"--rate", "0.001", NULL}, 0, {ON, .rate = 0.001}},                      /* double low end */
    {{"--rate=1e9", NULL}, 0, {ON, .rate = 1e9}},                             /* exponent form */
    {{"--rate", ".5", NULL}, 0, {ON, .rate = 0.5}},                           /* no leading 0 */
    {{"--out", "x.json", NULL}, 0, {ON, .out = "x.json", .out_given = true}}, /* a string */
    {{"--out=--x", NULL}, 0, {ON, .out = "--x", .out_given = true}}, /* '=' takes a "--" value */
    {{"--out=", NULL}, 0, {ON, .out = "", .out_given = true}},       /* an empty value */
    {{"--out", "-", NULL}, 0, {ON, .out = "-", .out_given = true}},  /* "-" is a value */
    {{"--impl", "async", NULL}, 0, {ON, .impl = 0}},                 /* the first choice */
    {{"--impl=uring", NULL}, 0, {ON, .impl = 2}},                    /* the last, its index */
    {{"--cpu", "none", NULL}, 0, {ON, .cpu = -1}},                   /* custom: a word */
    {{"--cpu=4095", NULL}, 0, {ON, .cpu = 4095}},                    /* custom: a number */
    {{"--stack-kib", "64", NULL}, CMD_RUN, {ON, .stack_kib = 64}},   /* run's row in run */
    {{"--target", "h:1", NULL}, CMD_LOAD, {ON, .target = "h:1"}},    /* load's row in load */
    {{"--target", "h:1", NULL}, CMD_LOAD | CMD_RUN, {ON, .target = "h:1"}}, /* either bit */
    {{"--flag", "--", NULL}, 0, {ON, .flag = true}}, /* "--" with nothing after it */
};

Test(opts, every_type_both_forms_and_range_ends)
{
    for (size_t n = 0; n < sizeof OK / sizeof OK[0]; n++) {
        struct t_opts o;
        char err[256];
        cr_assert_eq(parse(&TABLE, OK[n].cmd, OK[n].args, &o, NULL, err, sizeof err), OPTS_OK,
                     "case %zu (%s): %s", n, OK[n].args[0], err);
        expect_same(n, &o, &OK[n].want);
    }
}

struct bad_case {
    const char *args[6];
    unsigned cmd;
    const char *says; /* the message contains this */
};

static const struct bad_case BAD[] = {
    /* past the ends of a range: the message names the flag, the value and the range */
    {{"--int", "-6", NULL}, 0, "--int '-6': expected an integer in -5..5"},
    {{"--int=6", NULL}, 0, "--int '6': expected an integer in -5..5"},
    {{"--long", "-1", NULL}, 0, "--long '-1': expected an integer in 0..4000000000000"},
    {{"--long", "4000000000001", NULL}, 0, "in 0..4000000000000"},
    {{"--u32", "0", NULL}, 0, "--u32 '0': expected an integer in 1..1024"},
    {{"--u32", "1025", NULL}, 0, "--u32 '1025'"},
    {{"--u64", "-1", NULL}, 0, "--u64 '-1': expected an integer in 0..9223372036854775807"},
    {{"--u64", "9223372036854775808", NULL}, 0, "--u64 '9223372036854775808'"}, /* overflow */
    {{"--size", "1048577", NULL}, 0, "--size '1048577': expected an integer in 0..1048576"},
    {{"--rate", "0.0009", NULL}, 0, "--rate '0.0009': expected a number in 0.001..1000000000"},
    {{"--rate", "1e10", NULL}, 0, "--rate '1e10'"},
    /* malformed numbers */
    {{"--int", "abc", NULL}, 0, "--int 'abc': expected an integer in -5..5"},
    {{"--int", "1x", NULL}, 0, "--int '1x'"},               /* trailing junk */
    {{"--int", "+1", NULL}, 0, "--int '+1'"},               /* no '+' */
    {{"--int", " 1", NULL}, 0, "--int ' 1'"},               /* no blanks */
    {{"--int", "1.5", NULL}, 0, "--int '1.5'"},             /* not an integer */
    {{"--int=", NULL}, 0, "--int '': expected an integer"}, /* empty */
    {{"--int", "-", NULL}, 0, "--int '-'"},                 /* a sign alone */
    {{"--rate", "abc", NULL}, 0, "--rate 'abc': expected a number"},
    {{"--rate", "nan", NULL}, 0, "--rate 'nan'"},
    {{"--rate", "inf", NULL}, 0, "--rate 'inf'"},
    {{"--rate", "1,5", NULL}, 0, "--rate '1,5'"},
    {{"--rate", "0x10", NULL}, 0, "--rate '0x10'"}, /* no hexadecimal */
    {{"--rate", "+1", NULL}, 0, "--rate '+1'"},
    /* choices and custom readers */
    {{"--impl", "x", NULL}, 0, "--impl 'x': expected async, thread or uring"},
    {{"--impl", "Async", NULL}, 0, "--impl 'Async'"}, /* names are exact */
    {{"--cpu", "4096", NULL}, 0, "--cpu '4096': expected none or a CPU in 0..4095"},
    {{"--cpu=fast", NULL}, 0, "--cpu 'fast': expected none or a CPU"},
    {{"--mute", "x", NULL}, 0, "--mute 'x': invalid value"}, /* a reader that gives no reason */
    /* the shape of the command line */
    {{"--nope", NULL}, 0, "unknown option '--nope'"},
    {{"--nope=3", NULL}, 0, "unknown option '--nope=3'"},
    {{"--in", "3", NULL}, 0, "unknown option '--in'"}, /* no abbreviations */
    {{"-x", NULL}, 0, "unknown option '-x'"},
    {{"--int", NULL}, 0, "--int needs a value (--int N)"},
    {{"--out", "--flag", NULL}, 0, "--out needs a value (--out FILE)"},
    {{"--flag=1", NULL}, 0, "--flag takes no value"},
    {{"stray", NULL}, 0, "unexpected argument 'stray'"},
    {{"--flag", "-", NULL}, 0, "unexpected argument '-'"},
    {{"--", "x", NULL}, 0, "unexpected argument 'x'"}, /* without rest, nothing may follow -- */
    {{"--int", "9", "--help", NULL}, 0, "--int '9'"},  /* an error before --help is an error */
    /* another command's rows */
    {{"--stack-kib", "64", NULL}, CMD_LOAD, "--stack-kib is a run flag (try --help)"},
    {{"--target", "h:1", NULL}, CMD_RUN, "--target is a load flag"},
    {{"--target", "h:1", NULL}, 0, "--target is a load flag"}, /* 0 takes only rows for all */
};

Test(opts, bad_command_lines_name_the_flag)
{
    for (size_t n = 0; n < sizeof BAD / sizeof BAD[0]; n++) {
        struct t_opts o;
        char err[256];
        cr_expect_eq(parse(&TABLE, BAD[n].cmd, BAD[n].args, &o, NULL, err, sizeof err), OPTS_ERROR,
                     "case %zu (%s) accepted", n, BAD[n].args[0]);
        cr_expect(strstr(err, BAD[n].says), "case %zu: '%s' does not say '%s'", n, err,
                  BAD[n].says);
    }
}

Test(opts, a_bad_value_leaves_the_field_and_its_marker)
{
    const char *args[] = {"--int", "9", NULL};
    struct t_opts o;
    char err[256];
    /* cut short: the message is truncated, never overflows */
    char tiny[8];

    cr_assert_eq(parse(&TABLE, 0, args, &o, NULL, err, sizeof err), OPTS_ERROR);
    cr_expect_eq(o.i, 0, "the field keeps its default");
    cr_expect_not(o.i_given, "a refused value is not given");
    cr_assert_eq(parse(&TABLE, 0, args, &o, NULL, tiny, sizeof tiny), OPTS_ERROR);
    cr_expect_eq(strlen(tiny), sizeof tiny - 1);
}

Test(opts, another_commands_flag_without_names)
{
    const char *args[] = {"--stack-kib", "64", NULL};
    struct t_opts o;
    char err[256];

    cr_assert_eq(parse(&NAMELESS, CMD_LOAD, args, &o, NULL, err, sizeof err), OPTS_ERROR);
    cr_expect(strstr(err, "--stack-kib is not a flag of this command"), "%s", err);
}

struct help_case {
    const char *args[4];
    enum opts_result want;
};

static const struct help_case HELP[] = {
    {{"-h", NULL}, OPTS_HELP},               /* short */
    {{"--help", NULL}, OPTS_HELP},           /* long */
    {{"--flag", "--help", NULL}, OPTS_HELP}, /* after an option */
    {{"--help", "--nope", NULL}, OPTS_HELP}, /* before an error: help wins */
    {{"--help=1", NULL}, OPTS_ERROR},        /* help takes no value */
    {{"--", "--help", NULL}, OPTS_ERROR},    /* after --, not an option (and no rest) */
    {{"--out", "--help", NULL}, OPTS_ERROR}, /* "--out" lacks its value */
};

Test(opts, help)
{
    for (size_t n = 0; n < sizeof HELP / sizeof HELP[0]; n++) {
        struct t_opts o;
        char err[256];
        cr_expect_eq(parse(&TABLE, 0, HELP[n].args, &o, NULL, err, sizeof err), HELP[n].want,
                     "case %zu: %s", n, err);
    }
}

struct rest_case {
    const struct opts_table *t;
    const char *args[6];
    enum opts_result want;
    int rest;  /* the index opts_parse gives back (argv[0] is the program) */
    bool flag; /* --flag was taken */
};

static const struct rest_case REST[] = {
    {&TABLE, {NULL}, OPTS_OK, 1, false},                              /* nothing: argc */
    {&TABLE, {"--flag", NULL}, OPTS_OK, 2, true},                     /* all taken: argc */
    {&TABLE, {"--flag", "--", "--int", "3", NULL}, OPTS_OK, 3, true}, /* after --, even flags */
    {&TABLE, {"--", "--flag", NULL}, OPTS_OK, 2, false},              /* -- first */
    {&TABLE, {"--flag", "--", NULL}, OPTS_OK, 3, true},               /* -- last: argc */
    {&TABLE, {"file", "--flag", NULL}, OPTS_ERROR, -1, false},        /* a stray argument, still */
    /* OPTS_POSITIONAL: the first argument that is not an option stops the parse */
    {&POSITIONAL, {"file", "--flag", NULL}, OPTS_OK, 1, false},
    {&POSITIONAL, {"--flag", "file", "--int", "3", NULL}, OPTS_OK, 2, true},
    {&POSITIONAL, {"--flag", "-", NULL}, OPTS_OK, 2, true}, /* "-" is an argument (stdin) */
    {&POSITIONAL, {"--flag", "--", "file", NULL}, OPTS_OK, 3, true},
};

Test(opts, rest_after_dashdash_or_a_positional)
{
    for (size_t n = 0; n < sizeof REST / sizeof REST[0]; n++) {
        struct t_opts o;
        char err[256];
        int rest = -1;
        cr_assert_eq(parse(REST[n].t, 0, REST[n].args, &o, &rest, err, sizeof err), REST[n].want,
                     "case %zu: %s", n, err);
        cr_expect_eq(rest, REST[n].rest, "case %zu: rest %d", n, rest);
        cr_expect_eq(o.flag, REST[n].flag, "case %zu", n);
        cr_expect_eq(o.i, 0, "case %zu: --int after the stop was parsed", n);
    }
}

Test(opts, positional_needs_rest)
{
    const char *args[] = {"file", NULL};
    struct t_opts o;
    char err[256];

    /* OPTS_POSITIONAL without rest: nowhere to give the argument back */
    cr_expect_eq(parse(&POSITIONAL, 0, args, &o, NULL, err, sizeof err), OPTS_ERROR);
    cr_expect(strstr(err, "unexpected argument 'file'"), "%s", err);
}

/* The usage text of cmd, with these defaults, in a static buffer. */
static const char *usage(const struct opts_table *t, unsigned cmd, const struct t_opts *d)
{
    static char text[8192];
    FILE *f = fmemopen(text, sizeof text, "w");
    cr_assert_not_null(f);
    opts_usage(f, t, cmd, d);
    fclose(f);
    return text;
}

/* The column where the help of the line that starts with head begins. */
static long help_col(const char *text, const char *head)
{
    const char *line = strstr(text, head);
    cr_assert_not_null(line, "no line %s in:\n%s", head, text);
    const char *p = line + strlen(head);
    while (*p == ' ')
        p++;
    return p - line;
}

Test(opts, usage_lists_each_flag_aligned)
{
    static const char *const heads[] = {
        "  --flag ",       "  --no-check ",
        "  --int N ",      "  --long M ",
        "  --u32 N ",      "  --u64 N ",
        "  --size N ",     "  --rate R ",
        "  --out FILE ",   "  --cpu N|none ",
        "  --mute VALUE ", "  --stack-kib N ",
        "  -h, --help ",   "  --impl async|thread|uring ",
    };
    struct t_opts d = {.i = 3, .impl = 1};
    const char *text = usage(&TABLE, CMD_RUN, &d);
    long col = help_col(text, "  --flag ");

    for (size_t n = 0; n < sizeof heads / sizeof heads[0]; n++)
        cr_expect(strstr(text, heads[n]), "usage lacks '%s':\n%s", heads[n], text);
    for (size_t n = 0; n < 13; n++)
        cr_expect_eq(help_col(text, heads[n]), col, "'%s' is not aligned:\n%s", heads[n], text);
    cr_expect(strstr(text, "  --a-very-long-option-name  too wide"), "a wide one: two spaces");
    cr_expect(strstr(text, "an int, -5..5 (default 3)"), "{range} and {default}:\n%s", text);
    cr_expect(strstr(text, "one of async, thread or uring (default thread)"), "%s", text);
    cr_expect(strstr(text, "default none"), "a NULL string's default:\n%s", text);
    cr_expect(strstr(text, "the whole range: 0..9223372036854775807"), "%s", text);
    cr_expect(strstr(text, "0.001..1000000000/s"), "%s", text);
    cr_expect(strstr(text, "\nrun only:\n"), "the run heading, unindented:\n%s", text);
    char cont[64];
    snprintf(cont, sizeof cont, "a long\n%*ssecond line\n%*sthird line\n", (int)col, "", (int)col,
             "");
    cr_expect(strstr(text, cont), "a help's further lines start at the column:\n%s", text);
    cr_expect_null(strstr(text, "--target"), "load's flag in run's usage:\n%s", text);
    cr_expect_null(strstr(text, "{"), "a placeholder left:\n%s", text);
}

Test(opts, usage_of_one_command)
{
    const char *text = usage(&TABLE, CMD_LOAD, NULL);

    cr_expect(strstr(text, "  --target HOST:PORT "), "%s", text);
    cr_expect_null(strstr(text, "--stack-kib"), "run's flag in load's usage:\n%s", text);
    cr_expect_null(strstr(text, "run only:"), "run's heading in load's usage:\n%s", text);
    cr_expect(strstr(text, "an int, -5..5 (default ?)"), "no defaults: ?\n%s", text);
    text = usage(&TABLE, CMD_LOAD | CMD_RUN, NULL);
    cr_expect(strstr(text, "--target") && strstr(text, "--stack-kib"), "both:\n%s", text);
}

Test(opts, choice_helper)
{
    char err[128] = "";

    cr_expect_eq(opts_choice(IMPLS, "thread", err, sizeof err), 1);
    cr_expect_eq(opts_choice(IMPLS, "fiber", err, sizeof err), -1);
    cr_expect_str_eq(err, "expected async, thread or uring");
    cr_expect_eq(opts_choice((const char *const[]){"only", NULL}, "x", err, sizeof err), -1);
    cr_expect_str_eq(err, "expected only");
}

static const char *const NO_CHOICES[] = {NULL};

struct table_case {
    struct opt rows[3];
    const char *says;
};

static const struct table_case TABLES[] = {
    /* two rows of one name */
    {{{"a", OPT_FLAG, .off = 0}, {"a", OPT_INT, .off = 0}}, "row 1 (--a): the name is taken"},
    {{{"c", OPT_CHOICE, .off = 0}}, "OPT_CHOICE needs .choices"},
    {{{"c", OPT_CHOICE, 0, .choices = NO_CHOICES}}, "OPT_CHOICE needs .choices"},
    {{{"p", OPT_CUSTOM, .off = 0}}, "OPT_CUSTOM needs .parse"},
    {{{"r", OPT_INT, 0, .min = 5, .max = 1}}, "min is above max"},
    {{{"r", OPT_UINT32, 0, .min = 0, .max = 5e9}}, "does not fit the type"},
    {{{"r", OPT_UINT32, 0, .min = -1, .max = 5}}, "does not fit the type"},
    {{{"r", OPT_INT, 0, .min = 0.5, .max = 5}}, "integer ends"},
    {{{"--r", OPT_INT, .off = 0}}, "a name without dashes"},
    {{{"r=1", OPT_INT, .off = 0}}, "a name without dashes"},
    {{{NULL, OPT_INT, .off = 0}}, "row 0 (--): a name"},
    {{{"help", OPT_FLAG, .off = 0}}, "--help is OPT_HELP's"},
    {{{.type = OPT_HEADING}}, "a heading needs its text"},
};

Test(opts, malformed_tables_are_refused)
{
    char err[256];

    cr_expect_eq(opts_check(&TABLE, err, sizeof err), 0, "%s", err);
    for (size_t n = 0; n < sizeof TABLES / sizeof TABLES[0]; n++) {
        struct opts_table t = {.rows = TABLES[n].rows};
        struct t_opts o;
        err[0] = '\0';
        cr_expect_eq(opts_check(&t, err, sizeof err), -1, "case %zu passed", n);
        cr_expect(strstr(err, TABLES[n].says), "case %zu: '%s'", n, err);
        /* opts_parse checks too, before it reads anything */
        const char *none[] = {NULL};
        cr_expect_eq(parse(&t, 0, none, &o, NULL, err, sizeof err), OPTS_ERROR, "case %zu", n);
        cr_expect(strstr(err, "option table"), "case %zu: '%s'", n, err);
    }
}
