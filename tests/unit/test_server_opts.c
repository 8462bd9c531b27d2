/* test_server_opts.c: the flags both servers share, and their errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "server_opts.h"

static enum opts_result parse(struct server_opts *o, unsigned with_stack, char *err, size_t errlen,
                              const char *const *args)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = "server";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return server_opts_parse(o, argc, argv, "server", with_stack, err, errlen);
}

Test(server_opts, defaults)
{
    struct server_opts o;
    char err[2048];
    const char *args[] = {NULL};

    cr_assert_eq(parse(&o, 0, err, sizeof(err), args), OPTS_OK);
    cr_assert_str_eq(o.host, "127.0.0.1", "binds loopback unless told otherwise");
    cr_assert_eq(o.port, 0);
    cr_assert_eq(o.workers, 1);
    cr_assert_eq(o.stack_kib, 0, "0 = the system default stack");
    cr_assert_eq(o.backlog, SERVER_BACKLOG_DEFAULT);
    cr_assert_eq(o.defaults.io, IO_TIMER, "requests wait on a timer unless told otherwise");
    cr_assert_eq(o.defaults.file_kib, 4);
    cr_assert_null(o.upstream);
    cr_assert_null(o.data_file);
    cr_assert_eq(o.upstream_timeout_ms, 5000);
    cr_assert_eq(o.allow_remote, 0);
    cr_assert_eq(o.file_io, FILE_IO_POOL);
    cr_assert_eq(o.file_threads, 4);
    cr_assert_eq(o.defaults.state, STATE_NONE, "no shared state unless asked");
    cr_assert_eq(o.defaults.share_us, 2);
    cr_assert_str_eq(o.defaults.key, "-");
    cr_assert_eq(o.lock, LOCK_MUTEX, "threads that share a table lock it");
    cr_assert_eq(o.grace_ms, 5000);
}

Test(server_opts, shared_state_and_stop_flags)
{
    struct server_opts o;
    char err[2048];
    const char *args[] = {"--state", "shared",     "--share-us", "1000000", "--lock",
                          "none",    "--grace-ms", "600000",     NULL};

    cr_assert_eq(parse(&o, SERVER_OPTS_LOCK, err, sizeof(err), args), OPTS_OK, "%s", err);
    cr_assert_eq(o.defaults.state, STATE_SHARED);
    cr_assert_eq(o.defaults.share_us, 1000000);
    cr_assert_eq(o.lock, LOCK_NONE);
    cr_assert_eq(o.grace_ms, 600000);
    cr_assert_str_eq(server_opts_lock_name(o.lock), "none");
    const char *zero[] = {"--share-us", "0", "--grace-ms", "0", "--state", "none", NULL};
    cr_assert_eq(parse(&o, 0, err, sizeof(err), zero), OPTS_OK, "%s", err);
    cr_assert(o.defaults.share_us == 0 && o.grace_ms == 0 && o.defaults.state == STATE_NONE);
}

Test(server_opts, io_flags)
{
    struct server_opts o;
    char err[2048];
    const char *args[] = {"--io",
                          "file",
                          "--file-kib",
                          "1024",
                          "--data-file",
                          "/x/data",
                          "--upstream",
                          "127.0.0.1:9",
                          "--allow-remote",
                          "--file-io",
                          "uring",
                          "--file-threads",
                          "16",
                          "--upstream-timeout-ms",
                          "250",
                          NULL};

    cr_assert_eq(parse(&o, SERVER_OPTS_FILE_IO, err, sizeof(err), args), OPTS_OK, "%s", err);
    cr_assert_eq(o.defaults.io, IO_FILE);
    cr_assert_eq(o.defaults.file_kib, 1024);
    cr_assert_str_eq(o.data_file, "/x/data");
    cr_assert_str_eq(o.upstream, "127.0.0.1:9");
    cr_assert_eq(o.allow_remote, 1);
    cr_assert_eq(o.file_io, FILE_IO_URING);
    cr_assert_eq(o.file_threads, 16);
    cr_assert_eq(o.upstream_timeout_ms, 250);
    cr_assert_null(server_opts_io_refusal(&o, IO_NET), "it has an upstream");
    cr_assert_null(server_opts_io_refusal(&o, IO_FILE), "it has a data file");
}

Test(server_opts, io_refusal_names_the_flag)
{
    struct server_opts o;
    char err[2048];
    const char *args[] = {NULL};

    cr_assert_eq(parse(&o, 0, err, sizeof(err), args), OPTS_OK);
    cr_assert_null(server_opts_io_refusal(&o, IO_TIMER), "a timer needs nothing");
    cr_assert(strstr(server_opts_io_refusal(&o, IO_NET), "--upstream"));
    cr_assert(strstr(server_opts_io_refusal(&o, IO_FILE), "--data-file"));
}

Test(server_opts, every_flag)
{
    struct server_opts o;
    char err[2048];
    const char *args[] = {
        "--host",    "::1", "--port",    "8080", "--wait-us",         "1000", "--work-us",   "5",
        "--bytes",   "100", "--backlog", "128",  "--idle-timeout-ms", "300",  "--stack-kib", "64",
        "--workers", "4",   NULL};

    cr_assert_eq(parse(&o, 1, err, sizeof(err), args), OPTS_OK, "%s", err);
    cr_assert_str_eq(o.host, "::1");
    cr_assert_eq(o.port, 8080);
    cr_assert_eq(o.defaults.wait_us, 1000);
    cr_assert_eq(o.defaults.work_us, 5);
    cr_assert_eq(o.defaults.bytes, 100);
    cr_assert_eq(o.backlog, 128);
    cr_assert_eq(o.idle_timeout_ms, 300);
    cr_assert_eq(o.stack_kib, 64);
    cr_assert_eq(o.workers, 4);
}

struct bad_case {
    const char *args[4];
    unsigned with_stack; /* features */
    const char *must_mention;
};

static const struct bad_case BAD[] = {
    {{"--port", "70000", NULL}, 0, "--port"},        /* out of range */
    {{"--bytes", "2000000", NULL}, 0, "--bytes"},    /* over BYTES_MAX */
    {{"--wait-us", "-5", NULL}, 0, "--wait-us"},     /* negative */
    {{"--stack-kib", "64", NULL}, 0, "--stack-kib"}, /* async server has no stacks */
    {{"--workers", "0", NULL}, 0, "--workers"},
    {{"--nope", NULL}, 0, "--nope"}, /* unknown flag is named */
    {{"--port", NULL}, 0, "--port"}, /* missing value */
    {{"stray", NULL}, 0, "stray"},   /* positional argument */
    /* the message names the flag, the value and what is accepted */
    {{"--port", "65536", NULL}, 0, "--port '65536': expected an integer in 0..65535"},
    {{"--port=-1", NULL}, 0, "--port '-1': expected an integer in 0..65535"},
    {{"--wait-us", "60000001", NULL}, 0, "--wait-us '60000001': expected an integer in 0.."},
    {{"--work-us", "1e3", NULL}, 0, "--work-us '1e3'"}, /* decimal digits only */
    {{"--backlog", "1048577", NULL}, 0, "--backlog '1048577'"},
    {{"--idle-timeout-ms", "86400001", NULL}, 0, "in 0..86400000"},
    {{"--workers", "1025", NULL}, 0, "--workers '1025': expected an integer in 1..1024"},
    {{"--upstream-timeout-ms", "0", NULL}, 0, "--upstream-timeout-ms '0'"},
    {{"--io", "disk", NULL}, 0, "--io 'disk': expected timer, net or file"},
    {{"--file-kib", "6", NULL}, 0, "--file-kib '6': expected a multiple of 4"},
    {{"--file-kib=1028", NULL}, 0, "--file-kib '1028'"},
    {{"--file-io", "aio", NULL}, SERVER_OPTS_FILE_IO, "'aio': expected loop, pool or uring"},
    {{"--file-threads", "0", NULL}, SERVER_OPTS_FILE_IO, "--file-threads '0'"},
    {{"--file-io", "loop", NULL}, SERVER_OPTS_STACK_KIB, "--file-io is an async server flag"},
    {{"--recv", "ring", NULL}, SERVER_OPTS_FILE_IO, "--recv is an io_uring server flag"},
    {{"--recv", "both", NULL}, SERVER_OPTS_RECV, "--recv 'both': expected ring or conn"},
    {{"--allow-remote=1", NULL}, 0, "--allow-remote takes no value"},
    {{"--upstream", "--allow-remote", NULL}, 0, "--upstream needs a value"},
    {{"--io", "net", NULL}, 0, "--io net: io=net needs a server started with --upstream"},
    {{"--io=file", NULL}, 0, "--io file: io=file needs a server started with --data-file"},
    {{"--state", "SHARED", NULL}, 0, "--state 'SHARED': expected none or shared"},
    {{"--share-us", "1000001", NULL}, 0, "--share-us '1000001': expected an integer in 0.."},
    {{"--grace-ms", "600001", NULL}, 0, "--grace-ms '600001': expected an integer in 0..600000"},
    {{"--grace-ms", "-1", NULL}, 0, "--grace-ms '-1'"},
    {{"--lock", "spin", NULL}, SERVER_OPTS_LOCK, "--lock 'spin': expected mutex or none"},
    {{"--lock", "none", NULL}, SERVER_OPTS_FILE_IO, "--lock is a thread server flag"},
};

Test(server_opts, bad_flags_are_named)
{
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct server_opts o;
        char err[2048] = "";
        cr_assert_eq(parse(&o, BAD[i].with_stack, err, sizeof(err), BAD[i].args), OPTS_ERROR,
                     "case %zu accepted", i);
        cr_assert(strstr(err, BAD[i].must_mention) != NULL, "case %zu: '%s' does not name %s", i,
                  err, BAD[i].must_mention);
    }
}

Test(server_opts, help)
{
    struct server_opts o;
    char err[SERVER_HELP_MAX] = "";
    const char *args[] = {"--help", NULL};

    cr_assert_eq(parse(&o, 1, err, sizeof(err), args), OPTS_HELP);
    cr_assert(strstr(err, "--stack-kib") != NULL, "thread server help lists --stack-kib");
    cr_assert_eq(parse(&o, 0, err, sizeof(err), args), OPTS_HELP);
    cr_assert(strstr(err, "--stack-kib") == NULL, "async server help does not");
}

Test(server_opts, help_lists_every_io_flag)
{
    static char text[SERVER_HELP_MAX];
    struct server_opts o;
    const char *args[] = {"--help", NULL};
    static const char *const common[] = {"--io",        "--upstream", "--upstream-timeout-ms",
                                         "--data-file", "--file-kib", "--allow-remote"};

    cr_assert_eq(parse(&o, SERVER_OPTS_FILE_IO, text, sizeof(text), args), OPTS_HELP);
    cr_assert_lt(strlen(text), sizeof(text) - 1, "the help text was cut short");
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        cr_assert(strstr(text, common[i]), "help lacks %s", common[i]);
    cr_assert(strstr(text, "--file-io") && strstr(text, "--file-threads"));
    cr_assert(strstr(text, "Prints `listening on"), "the end of the text is there");
    cr_assert_eq(parse(&o, SERVER_OPTS_STACK_KIB, text, sizeof(text), args), OPTS_HELP);
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        cr_assert(strstr(text, common[i]), "thread server help lacks %s", common[i]);
    cr_assert_null(strstr(text, "--file-io"), "only the async server reads files three ways");
}

Test(server_opts, buffers)
{
    static char text[SERVER_HELP_MAX];
    struct server_opts o;
    char err[2048] = "";
    const char *none[] = {NULL};
    const char *lean[] = {"--buffers", "lean", NULL};
    const char *conn[] = {"--buffers", "conn", NULL};
    const char *bad[] = {"--buffers", "tiny", NULL};
    const char *help[] = {"--help", NULL};

    cr_assert_eq(parse(&o, SERVER_OPTS_BUFFERS, err, sizeof(err), none), OPTS_OK, "%s", err);
    cr_assert_eq(o.buffers, BUFFERS_CONN, "today's per-connection buffers unless told otherwise");
    cr_assert_eq(parse(&o, SERVER_OPTS_BUFFERS, err, sizeof(err), lean), OPTS_OK, "%s", err);
    cr_assert_eq(o.buffers, BUFFERS_LEAN);
    cr_assert_str_eq(server_opts_buffers_name(o.buffers), "lean");
    cr_assert_eq(parse(&o, SERVER_OPTS_BUFFERS, err, sizeof(err), conn), OPTS_OK, "%s", err);
    cr_assert_eq(o.buffers, BUFFERS_CONN);
    cr_assert_str_eq(server_opts_buffers_name(o.buffers), "conn");
    cr_assert_eq(parse(&o, SERVER_OPTS_BUFFERS, err, sizeof(err), bad), OPTS_ERROR);
    cr_assert(strstr(err, "--buffers") && strstr(err, "tiny") && strstr(err, "conn or lean"),
              "the error names the flag, the value and the choices: %s", err);
    cr_assert_eq(parse(&o, SERVER_OPTS_STACK_KIB, err, sizeof(err), lean), OPTS_ERROR,
                 "a thread's buffers are on its stack: no --buffers");
    cr_assert(strstr(err, "--buffers is an async server flag"), "%s", err);

    cr_assert_eq(parse(&o, SERVER_OPTS_FILE_IO | SERVER_OPTS_BUFFERS, text, sizeof(text), help),
                 OPTS_HELP);
    cr_assert_lt(strlen(text), sizeof(text) - 1, "the help text was cut short");
    cr_assert(strstr(text, "--buffers conn|lean") && strstr(text, "(default conn)"),
              "help documents both modes and the default");
    cr_assert_eq(parse(&o, SERVER_OPTS_STACK_KIB, text, sizeof(text), help), OPTS_HELP);
    cr_assert_null(strstr(text, "--buffers"), "the thread server's help has no --buffers");
}

/* Each flag at both ends of its range, and in the --name=value form. */
Test(server_opts, range_ends_and_equals_form)
{
    struct server_opts o;
    char err[2048];
    const char *low[] = {"--port=0",
                         "--wait-us=0",
                         "--bytes",
                         "0",
                         "--workers",
                         "1",
                         "--upstream-timeout-ms=1",
                         "--file-kib=4",
                         "--file-threads=1",
                         "--backlog=0",
                         "--idle-timeout-ms=0",
                         NULL};
    const char *high[] = {"--port=65535",       "--wait-us=60000000",
                          "--work-us=10000000", "--bytes=1048576",
                          "--workers=1024",     "--upstream-timeout-ms=3600000",
                          "--file-kib=1024",    "--file-threads=1024",
                          "--backlog=1048576",  "--idle-timeout-ms=86400000",
                          "--host=::1",         "--file-io=loop",
                          "--pin-workers",      NULL};

    cr_assert_eq(parse(&o, SERVER_OPTS_FILE_IO, err, sizeof(err), low), OPTS_OK, "%s", err);
    cr_expect_eq(o.port, 0);
    cr_expect_eq(o.defaults.wait_us, 0);
    cr_expect_eq(o.defaults.bytes, 0);
    cr_expect_eq(o.workers, 1);
    cr_expect_eq(o.upstream_timeout_ms, 1);
    cr_expect_eq(o.defaults.file_kib, 4);
    cr_expect_eq(o.file_threads, 1);
    cr_expect_eq(o.backlog, 0);
    cr_expect_eq(o.idle_timeout_ms, 0, "0: never time out");
    cr_assert_eq(parse(&o, SERVER_OPTS_FILE_IO, err, sizeof(err), high), OPTS_OK, "%s", err);
    cr_expect_eq(o.port, 65535);
    cr_expect_eq(o.defaults.wait_us, WAIT_US_MAX);
    cr_expect_eq(o.defaults.work_us, WORK_US_MAX);
    cr_expect_eq(o.defaults.bytes, BYTES_MAX);
    cr_expect_eq(o.workers, 1024);
    cr_expect_eq(o.upstream_timeout_ms, 3600000);
    cr_expect_eq(o.defaults.file_kib, 1024);
    cr_expect_eq(o.file_threads, 1024);
    cr_expect_eq(o.backlog, 1 << 20);
    cr_expect_eq(o.idle_timeout_ms, 24u * 3600 * 1000);
    cr_expect_str_eq(o.host, "::1");
    cr_expect_eq(o.file_io, FILE_IO_LOOP);
    cr_expect(o.pin_workers);
}

/* The io_uring server's --recv: ring unless told otherwise. */
Test(server_opts, recv)
{
    struct server_opts o;
    char err[2048];
    const char *none[] = {NULL};
    const char *conn[] = {"--recv", "conn", NULL};
    const char *ring[] = {"--recv=ring", NULL};

    cr_assert_eq(parse(&o, SERVER_OPTS_RECV, err, sizeof(err), none), OPTS_OK, "%s", err);
    cr_expect_eq(o.recv, RECV_RING);
    cr_assert_eq(parse(&o, SERVER_OPTS_RECV, err, sizeof(err), conn), OPTS_OK, "%s", err);
    cr_expect_eq(o.recv, RECV_CONN);
    cr_assert_eq(parse(&o, SERVER_OPTS_RECV, err, sizeof(err), ring), OPTS_OK, "%s", err);
    cr_expect_eq(o.recv, RECV_RING);
}

/* Every server's help lists each of its flags, with its range where it has one, and no flag
   of another kind of server. */
Test(server_opts, help_of_each_kind_of_server)
{
    static char text[SERVER_HELP_MAX];
    static const char *const common[] = {
        "--host ADDR",          "--port N",
        "--wait-us N ",         "--work-us N ",
        "--bytes N ",           "--backlog N ",
        "--idle-timeout-ms MS", "--workers N ",
        "--pin-workers",        "--io timer|net|file",
        "--upstream HOST:PORT", "--upstream-timeout-ms MS",
        "--allow-remote",       "--data-file PATH",
        "--file-kib K",         "-h, --help",
        "0..60000000",          "0..10000000",
        "0..1048576",           "1..3600000",
        "(default 127.0.0.1)",  "(default 4096;",
        "(default 60000)",      "(default 5000)",
    };
    static const struct {
        unsigned features;
        const char *has, *lacks[3];
    } kinds[] = {
        {SERVER_OPTS_STACK_KIB, "--stack-kib K", {"--file-io", "--buffers", "--recv"}},
        {SERVER_OPTS_FILE_IO | SERVER_OPTS_BUFFERS,
         "--file-threads K",
         {"--stack-kib", "--recv", NULL}},
        {SERVER_OPTS_RECV, "--recv ring|conn", {"--stack-kib", "--file-io", "--buffers"}},
    };
    struct server_opts o;
    const char *help[] = {"--help", NULL};

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        cr_assert_eq(parse(&o, kinds[k].features, text, sizeof(text), help), OPTS_HELP);
        cr_assert_lt(strlen(text), sizeof(text) - 1, "the help text was cut short");
        for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
            cr_expect(strstr(text, common[i]), "kind %zu: help lacks '%s':\n%s", k, common[i],
                      text);
        cr_expect(strstr(text, kinds[k].has), "kind %zu lacks %s", k, kinds[k].has);
        for (size_t i = 0; i < 3 && kinds[k].lacks[i]; i++)
            cr_expect_null(strstr(text, kinds[k].lacks[i]), "kind %zu has %s", k,
                           kinds[k].lacks[i]);
        cr_expect_null(strstr(text, "{"), "a placeholder left in:\n%s", text);
    }
}
