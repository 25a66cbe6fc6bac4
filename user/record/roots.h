/* SPDX-License-Identifier: MIT */
/*
 * --root's forms (NAME, MODULE:QUALNAME, NAME@FILE; roots.c) and the
 * report of a root that never matched.
 */
#ifndef LT_ROOTS_H
#define LT_ROOTS_H

#include <stdbool.h>

/* the argument is a valid --root; -1 after a line */
int root_check(const char *arg);
/* its qualified-name part (what the BPF side compares with --no-durations) */
const char *root_name_part(const char *arg);
/* a code object (qualname, file, first line) is a root of --root arg
 * (NULL: no root); every name passed is remembered for root_report */
bool root_matches(const char *arg, const char *qualname, const char *file, int line);
/* at exit: if arg never matched, one line on stderr with the nearest
 * names seen */
void root_report(const char *arg);

#endif
