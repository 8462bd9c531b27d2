/* summary: the short wrk-like text view of a run, for people; the JSON is the record. */
#ifndef TVT_SUMMARY_H
#define TVT_SUMMARY_H

#include <stdio.h>

#include "record/result.h"

/* Writes a few lines: latency percentiles, requests/s, errors, generator CPU, server figures. */
void summary_print(FILE *f, const struct run_record *r);

#endif
