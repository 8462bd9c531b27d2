/* files: the files and folders of a test: a scratch folder made and removed whole, a file
   read whole or only its end (a log, for a failure message), a script written. */
#ifndef TVT_FILES_H
#define TVT_FILES_H

#include <stddef.h>

/* mkdtemp(tmpl), asserting it worked: tmpl ("/tmp/tvt-NAME-XXXXXX") becomes the path. */
void tfile_mkdtemp(char *tmpl);

/* A test's scratch folder. tfile_scratch_make, as a suite's .init (or called from it), makes
   /tmp/tvt-PROGRAM-XXXXXX (PROGRAM: the test binary's name) and puts its path in
   tfile_scratch; tfile_scratch_remove, as its .fini, removes it with everything in it.
     TestSuite(harness_faults, .init = tfile_scratch_make, .fini = tfile_scratch_remove); */
extern char tfile_scratch[128];
void tfile_scratch_make(void);
void tfile_scratch_remove(void);

/* Removes path and everything below it (symlinks not followed); nothing if it is absent. */
void tfile_rm_tree(const char *path);

/* Opens path (created if need be) and takes an exclusive flock on it, waiting for it;
   asserts. Closing the fd (or the process's end) releases it. For runs that must not load
   the CPUs at the same time as another job of the same binary. */
int tfile_lock(const char *path);

/* Criterion runs no .fini after a skip: removes the scratch folder, then skips the test with
   the message. */
#define TFILE_SKIP(...)                                                                            \
    do {                                                                                           \
        tfile_scratch_remove();                                                                    \
        cr_skip_test(__VA_ARGS__);                                                                 \
    } while (0)

/* The whole file, NUL-terminated, its length in *len (may be NULL); caller frees. NULL if
   it cannot be read. */
char *tfile_slurp(const char *path, size_t *len);

/* The last 3 KiB of the file ("" if it cannot be read), for a failure message. Static
   storage, overwritten by the next call. */
const char *tfile_tail(const char *path);

/* Writes text to path as an executable script (mode 0755); asserts. */
void tfile_write_script(const char *path, const char *text);

#endif
