/* Unit tests for harness/observe/limits: the tasks of /proc/loadavg, and a reading of this
 * machine that has every machine-wide figure. */
#include <criterion/criterion.h>

#include "../../harness/observe/limits.h"

/* the fourth field is running/total */
Test(limits, loadavg_tasks)
{
    cr_assert_eq(limits_parse_loadavg_tasks("0.52 0.58 0.59 3/531 1234\n"), 531);
    cr_assert_eq(limits_parse_loadavg_tasks("0.00 0.00 0.00 1/32700 9"), 32700);
    cr_assert_eq(limits_parse_loadavg_tasks(""), -1, "empty");
    cr_assert_eq(limits_parse_loadavg_tasks("0.1 0.2 0.3 4 5"), -1, "no slash");
    cr_assert_eq(limits_parse_loadavg_tasks("0.1 0.2 0.3 4/x 5"), -1, "not a number");
}

/* no server: the machine's figures, none of the server's */
Test(limits, this_machine)
{
    struct limits l;
    limits_read(&l, 0, "ramp end");
    cr_assert(l.on);
    cr_assert_gt(l.tasks, 0);
    cr_assert_gt(l.pid_max, 0);
    cr_assert_gt(l.file_max, 0);
    cr_assert_geq(l.files_open, 0);
    cr_assert_gt(l.mem_available_kib, 0);
    cr_assert_eq(l.server_threads, -1);
    json_t *j = limits_json(&l);
    cr_assert_str_eq(json_string_value(json_object_get(j, "at")), "ramp end");
    cr_assert(json_is_null(json_object_get(j, "server_maps")));
    json_decref(j);
}
