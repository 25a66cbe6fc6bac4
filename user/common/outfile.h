/* SPDX-License-Identifier: MIT */
/*
 * Outputs that hold values (rules, exports, the report) are handled like a
 * trace (FORMAT.md §7): a file is created with mode 0600, close-on-exec;
 * every write error names the file and its cause ("PATH: write failed: No
 * space left on device"), also for stdout ("-"); a file that we created
 * and could not finish is removed (never an existing one such as
 * /dev/full). The FILE of lt_out_open writes through a cookie that keeps
 * the first errno, which stdio's ferror() does not.
 */
#ifndef LT_OUTFILE_H
#define LT_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lt_out;
/* path created for writing with mode 0600, close-on-exec, emptied (append:
 * kept, written at its end): the descriptor, or -1 with errno set. Every
 * output that holds values is created through it */
int lt_out_create(const char *path, bool append);
/* "-" = stdout; NULL after "PATH: cannot create: reason" */
struct lt_out *lt_out_open(const char *path);
FILE *lt_out_file(struct lt_out *o);
/* flush and close. failed: the caller already failed (message printed):
 * only remove what we created. 0, or -1 after the message. */
int lt_out_close(struct lt_out *o, bool failed);
/* open, write len bytes, close: 0 or -1 after the message */
int lt_out_write_all(const char *path, const void *buf, size_t len);
/* write all of buf to fd: 0, or -1 with errno set (never 0: a write that
 * makes no progress is ENOSPC) */
int lt_write_full(int fd, const void *buf, size_t len);
/* stdout through such a FILE (line-buffered on a terminal), so that a
 * command's results on a full disk fail with the cause; lt_stdout_end
 * flushes it and returns rc, or LT_EXIT_FAIL after "<stdout>: write
 * failed: reason" when rc was 0 */
void lt_stdout_begin(void);
int lt_stdout_end(int rc);

#endif
