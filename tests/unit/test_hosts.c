/* Unit tests for harness/hosts: the hosts file (NAME ADDRESS COMMAND...: comments, blank
 * lines, an empty command for this machine, ssh detected by its program's name, each mistake
 * refused naming its line) and the hello a remote program opens with (its build checked
 * against this one, both named). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../harness/hosts/hello.h"
#include "../../harness/hosts/hosts.h"
#include "version.h"

static struct hosts hs; /* 60 KiB: not on the stack */

Test(hosts, parses_names_addresses_and_commands)
{
    char err[256] = "";
    const char *text = "# a lab\n"
                       "\n"
                       "srv 10.0.0.1 ssh -o BatchMode=yes root@10.0.0.1   # the server\n"
                       "c1\t10.0.0.2\tip netns exec lab-c1\n"
                       "here 127.0.0.1\n";
    cr_assert_eq(hosts_parse(text, &hs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(hs.n, 3);
    const struct host *srv = hosts_find(&hs, "srv");
    cr_assert_not_null(srv);
    cr_assert_str_eq(srv->addr, "10.0.0.1");
    cr_assert(srv->ssh);
    cr_assert_eq(srv->ncmd, 4);
    cr_assert_str_eq(srv->cmd[0], "ssh");
    cr_assert_str_eq(srv->cmd[3], "root@10.0.0.1");
    cr_assert_null(srv->cmd[4]);
    const struct host *c1 = hosts_find(&hs, "c1");
    cr_assert_not(c1->ssh);
    cr_assert_eq(c1->ncmd, 4);
    cr_assert_str_eq(c1->cmd[3], "lab-c1");
    const struct host *here = hosts_find(&hs, "here");
    cr_assert_eq(here->ncmd, 0);
    cr_assert_null(here->cmd[0]);
    cr_assert(hosts_has_addr(&hs, "10.0.0.2"));
    cr_assert_not(hosts_has_addr(&hs, "10.0.0.9"));
    cr_assert_null(hosts_find(&hs, "c9"));
}

Test(hosts, ssh_is_known_by_its_program_even_with_a_path)
{
    char err[256];
    cr_assert_eq(hosts_parse("a 10.0.0.1 /usr/bin/ssh lab\nb 10.0.0.2 sshpass ssh lab\n", &hs, err,
                             sizeof err),
                 0);
    cr_assert(hosts_find(&hs, "a")->ssh);
    cr_assert_not(hosts_find(&hs, "b")->ssh); /* another program that runs ssh itself */
}

/* Each mistake is refused, naming the line. */
Test(hosts, refuses_mistakes_naming_the_line)
{
    static const struct {
        const char *text, *msg;
    } BAD[] = {
        {"srv\n", "line 1: expected NAME ADDRESS"},
        {"a 10.0.0.1\n# x\na 10.0.0.2\n", "line 3: host a named twice"},
        {"# nothing\n\n", "names no host"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char err[256] = "";
        cr_assert_eq(hosts_parse(BAD[i].text, &hs, err, sizeof err), -1, "case %zu", i);
        cr_assert(strstr(err, BAD[i].msg), "case %zu: '%s' lacks '%s'", i, err, BAD[i].msg);
    }
    char many[8192] = "";
    for (int i = 0; i <= HOSTS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "h%d 10.0.0.%d\n", i, i + 1);
    char err[256] = "";
    cr_assert_eq(hosts_parse(many, &hs, err, sizeof err), -1);
    cr_assert(strstr(err, "more than"), "%s", err);
}

Test(hosts, load_names_a_missing_file)
{
    char err[256] = "";
    cr_assert_eq(hosts_load("/nonexistent/hosts", &hs, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/hosts") && strstr(err, "No such file"), "%s", err);
}

Test(hello, the_same_build_passes_its_environment_on)
{
    char payload[256], env[128], err[256] = "";
    int n = snprintf(payload, sizeof payload, "%s%c{\"cores\":2}", tvt_version(), '\0');
    cr_assert_eq(hello_check(payload, (size_t)n + 1, "c1", env, sizeof env, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(env, "{\"cores\":2}");
}

Test(hello, another_build_is_refused_naming_both)
{
    char payload[256], env[128], err[512] = "";
    int n = snprintf(payload, sizeof payload, "0000000-old%c{}", '\0');
    cr_assert_eq(hello_check(payload, (size_t)n + 1, "c1", env, sizeof env, err, sizeof err), -1);
    cr_assert(strstr(err, "host c1") && strstr(err, "0000000-old") && strstr(err, tvt_version()),
              "%s", err);
    /* a hello without its NUL is not one */
    cr_assert_eq(hello_check("abc", 3, "c1", env, sizeof env, err, sizeof err), -1);
}
