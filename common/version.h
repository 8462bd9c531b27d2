/* version: the build's commit (`git describe --always --dirty`), from the one object that is
 * rebuilt whenever it changes, so that no result and no hello says an older one. */
#ifndef TVT_VERSION_H
#define TVT_VERSION_H

const char *tvt_version(void);

#endif
