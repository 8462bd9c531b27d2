/* jsonfile: result files written atomically, so a reader never sees half a run. */
#ifndef TVT_JSONFILE_H
#define TVT_JSONFILE_H

#include <jansson.h>
#include <stddef.h>

/* Writes doc (indented) to path atomically: temp file in the same folder, fsync, rename,
   fsync of the folder. 0 ok; -1 with a message naming path and cause in err. Never leaves
   a partial file at path. Thread-safe for distinct paths. */
int jsonfile_write(const char *path, const json_t *doc, char *err, size_t errlen);

#endif
