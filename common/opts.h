/* opts.h: command-line options parsed from one table of rows (name, type, range, field, help). */
#ifndef TVT_OPTS_H
#define TVT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One row per option; the parser writes each value into the caller's options struct at the
 * row's offset, checks it against the row's range, and can mark it given. The usage printer
 * lists the same rows, so a flag's name, range and help live in one place.
 *
 *     enum { CMD_LOAD = 1, CMD_RUN = 2 };
 *     struct bench_opts { int conns; double rate; bool rate_set; int cpu; char **args; };
 *
 *     // "none" or a CPU in o->min..o->max into an int (an OPT_CUSTOM reader, see below)
 *     static int parse_cpu(const struct opt *o, const char *arg, void *field, char *err,
 *                          size_t errlen);
 *
 *     static const struct opt ROWS[] = {
 *         {"conns", OPT_INT, offsetof(struct bench_opts, conns), .min = 1, .max = 100000,
 *          .help = "connections, {range} (default {default})"},
 *         {"rate", OPT_DOUBLE, offsetof(struct bench_opts, rate), .min = 0.001, .max = 1e9,
 *          .given = OPT_GIVEN(struct bench_opts, rate_set), .meta = "R",
 *          .help = "open loop: R requests/s in total\n(default: closed loop)"},
 *         {"server-cpu", OPT_CUSTOM, offsetof(struct bench_opts, cpu), .parse = parse_cpu,
 *          .min = 0, .max = 4095, .meta = "N|none", .help = "pin the server", .cmds = CMD_RUN},
 *         {"help", OPT_HELP, .help = "this text"},
 *         {0},
 *     };
 *     static const char *const CMD_NAMES[] = {"a load", "a run"}; // bit 0, bit 1
 *     static const struct opts_table TABLE = {.rows = ROWS, .cmd_names = CMD_NAMES};
 *
 *     struct bench_opts o = {.conns = 50, .cpu = -1}; // defaults first: what is not given stays
 *     char err[256];
 *     int rest; // run [options] -- SERVER ARGS
 *     switch (opts_parse(&TABLE, CMD_RUN, argc, argv, &o, &rest, err, sizeof err)) {
 *     case OPTS_HELP: opts_usage(stdout, &TABLE, CMD_RUN, &o); return 0;
 *     case OPTS_ERROR: fprintf(stderr, "bench: %s\n", err); return 2;
 *     case OPTS_OK: o.args = argv + rest; break;
 *     }
 *
 * `bench load --server-cpu 1` fails with "--server-cpu is a run flag (try --help)";
 * `bench run --server-cpu 9999` with "--server-cpu '9999': " and what parse_cpu said.
 *
 * Commands: .cmds is a bitmask of the commands (or kinds of program) that take a row, 0 for
 * all of them; opts_parse and opts_usage are given the bits of the one at hand. A row of
 * another command is an error that says whose flag it is (opts_table.cmd_names).
 */

/* What a row's field is, and so how its value is read. Numbers are decimal; a value is one
 * argument (`--name VALUE`) or follows '=' (`--name=VALUE`, the only way to give a value that
 * begins with "--"). */
enum opt_type {
    OPT_END,      /* ends a table: {0} */
    OPT_FLAG,     /* no value: sets a bool to true */
    OPT_FLAG_OFF, /* no value: sets a bool to false (--no-body-check) */
    OPT_INT,      /* int */
    OPT_LONG,     /* long */
    OPT_UINT32,   /* uint32_t */
    OPT_UINT64,   /* uint64_t, at most INT64_MAX */
    OPT_SIZE,     /* size_t, at most INT64_MAX */
    OPT_DOUBLE,   /* double, finite */
    OPT_STRING,   /* const char *, pointing into argv (no copy) */
    OPT_CHOICE,   /* one of .choices; its index is stored as a uint32_t */
    OPT_CUSTOM,   /* .parse reads the value into the field, whatever its type */
    OPT_HEADING,  /* not an option: a line of text (.help) between rows of the usage */
    OPT_HELP,     /* where the usage lists -h, --help (they are taken without this row too) */
};

struct opt;

/* An OPT_CUSTOM row's reader: parses arg into field (the caller's struct at o->off). 0 ok;
 * -1 with what was expected in err ("expected none or a CPU in 0..4095"), which opts_parse
 * puts after "--name 'arg': ". o->min, o->max and o->choices are the parser's to use. */
typedef int opt_parse_fn(const struct opt *o, const char *arg, void *field, char *err,
                         size_t errlen);

/* The offset of a bool member for opt.given (0 there means "no marker"). */
#define OPT_GIVEN(type, member) (offsetof(type, member) + 1)

struct opt {
    const char *name;   /* without the dashes: "conns" for --conns */
    enum opt_type type; /* what the field is */
    size_t off;         /* offsetof(struct yours, field): where the value goes */
    size_t given;       /* OPT_GIVEN(struct yours, bool_field): set true when given; 0: none */
    double min, max;    /* numbers (and custom rows that want one): inclusive range; both 0:
                           the whole range of the type */
    const char *const *choices; /* OPT_CHOICE: the names, NULL-terminated */
    opt_parse_fn *parse;        /* OPT_CUSTOM */
    const char *meta;           /* the value in the usage: "N", "MS"; NULL: N, VALUE or a|b|c */
    const char *help;           /* may span lines ('\n'); {range} and {default} are expanded */
    unsigned cmds;              /* the commands that take it (bits); 0: every one */
};

#define OPTS_POSITIONAL 1u /* opts_table.flags: an argument that is not an option ends them */

struct opts_table {
    const struct opt *rows; /* ended by an OPT_END row */
    /* cmd_names[i] says whose flag a row of bit i is, as it reads in "--buffers is an async
       server flag": "an async server". NULL (or a NULL entry): "not a flag of this command". */
    const char *const *cmd_names;
    unsigned flags; /* OPTS_POSITIONAL, or 0 */
};

enum opts_result { OPTS_OK, OPTS_HELP, OPTS_ERROR };

/* Parses argv[1..argc-1] by t's rows that command bits cmd take (rows with .cmds 0 always),
 * writing into dest; fields of options not given keep what dest held. -h or --help anywhere
 * before an error gives OPTS_HELP. OPTS_ERROR: err names the flag, the bad value and what is
 * accepted ("--conns 'abc': expected an integer in 1..10000000"); also an unknown flag, a
 * missing value, another command's flag, a stray argument, or a malformed table (opts_check).
 * rest NULL: every argument must be an option ("--" alone at the end is allowed). rest
 * non-NULL: parsing stops after "--" and, if t has OPTS_POSITIONAL, at the first argument that
 * is not an option; *rest is the index of what follows (argc when nothing does). Never prints,
 * never exits; thread-safe if dest is not shared. */
enum opts_result opts_parse(const struct opts_table *t, unsigned cmd, int argc, char **argv,
                            void *dest, int *rest, char *err, size_t errlen);

/* Writes the rows that cmd takes (headings too) to f, one "  --name META   help" line each,
 * help aligned in one column, its further lines indented to it. In help, {range} becomes the
 * accepted values ("1..1024", "loop, pool or uring") and {default} the field's value in
 * defaults (a struct as the caller fills it before parsing; NULL: "?"). */
void opts_usage(FILE *f, const struct opts_table *t, unsigned cmd, const void *defaults);

/* 0 when every row of t is well formed (unique names, ranges ordered and within the type,
 * choices and parsers present, headings with text); -1 naming the first bad row in err. */
int opts_check(const struct opts_table *t, char *err, size_t errlen);

/* For custom readers that take aliases: the index of arg in names (NULL-terminated), or -1
 * with "expected a, b or c" in err. */
int opts_choice(const char *const *names, const char *arg, char *err, size_t errlen);

/* The name of index i in names (NULL-terminated), or "?" past its end: an OPT_CHOICE value
 * printed. */
const char *opts_choice_name(const char *const *names, uint32_t i);

#endif
