/* version: the build's commit, compiled in here alone (Makefile: VERSION_STAMP). */
#include "version.h"

const char *tvt_version(void)
{
    return TVT_VERSION;
}
