/* SPDX-License-Identifier: MIT */
/*
 * The one way leaktrace talks to the user on stderr (bpftool's p_err):
 * every message starts with "leaktrace: " and ends with a newline, so
 * callers write only what went wrong and what to do about it.
 */
#ifndef LT_ERR_H
#define LT_ERR_H

/* process exit status (FORMAT.md §7): 0 ok, 1 runtime failure, 2 usage or
 * bad input */
#define LT_EXIT_OK 0
#define LT_EXIT_FAIL 1
#define LT_EXIT_USAGE 2

/* "leaktrace: <message>\n" on stderr */
void lt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "leaktrace: warning: <message>\n" on stderr */
void lt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
