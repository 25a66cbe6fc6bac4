// SPDX-License-Identifier: MIT
/* Outputs that hold values: created 0600, write errors with their cause. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/err.h"
#include "common/outfile.h"

struct lt_out {
	FILE *f;
	char *path;
	int fd;
	int err;		/* first errno of a write or close */
	bool created;		/* a regular file that did not exist: removed on failure */
};

int lt_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static ssize_t ck_write(void *c, const char *buf, size_t len)
{
	struct lt_out *o = c;

	if (o->err)
		return -1;
	if (lt_write_full(o->fd, buf, len)) {
		o->err = errno;
		return -1;
	}
	return len;
}

static int ck_close(void *c)
{
	struct lt_out *o = c;

	if (o->fd != STDOUT_FILENO && close(o->fd) && !o->err)
		o->err = errno;
	return o->err ? -1 : 0;
}

int lt_out_create(const char *path, bool append)
{
	return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
}

static int open_fd(const char *path, bool *created)
{
	struct stat st;
	bool existed = !stat(path, &st);
	int fd = lt_out_create(path, false);

	*created = fd >= 0 && !existed && !fstat(fd, &st) && S_ISREG(st.st_mode);
	return fd;
}

struct lt_out *lt_out_open(const char *path)
{
	cookie_io_functions_t io = { .write = ck_write, .close = ck_close };
	struct lt_out *o = calloc(1, sizeof(*o));

	if (!o) {
		lt_err("%s: out of memory", path);
		return NULL;
	}
	o->path = strdup(strcmp(path, "-") ? path : "<stdout>");
	if (!strcmp(path, "-")) {
		fflush(stdout);
		o->fd = STDOUT_FILENO;
	} else {
		o->fd = open_fd(path, &o->created);
	}
	if (o->fd < 0 || !o->path) {
		lt_err("%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	o->f = fopencookie(o, "w", io);
	if (!o->f) {
		lt_err("%s: %s", path, strerror(errno));
		if (o->fd != STDOUT_FILENO)
			close(o->fd);
		goto fail;
	}
	setvbuf(o->f, NULL, _IOFBF, 256 * 1024);
	return o;
fail:
	free(o->path);
	free(o);
	return NULL;
}

FILE *lt_out_file(struct lt_out *o)
{
	return o->f;
}

int lt_out_close(struct lt_out *o, bool failed)
{
	int rc = 0;

	if (fclose(o->f) || o->err) {
		if (!failed)
			lt_err("%s: write failed: %s", o->path, strerror(o->err ? o->err : EIO));
		rc = -1;
	}
	if ((rc || failed) && o->created)
		unlink(o->path);	/* no half-written output */
	free(o->path);
	free(o);
	return failed ? -1 : rc;
}

int lt_out_write_all(const char *path, const void *buf, size_t len)
{
	struct lt_out *o = lt_out_open(path);

	if (!o)
		return -1;
	fwrite(buf, 1, len, o->f);
	return lt_out_close(o, false);
}

/* static: stdout lives until exit (argp's --help exits from inside a
 * command), and nothing of it is allocated */
static struct lt_out std_out = { .fd = STDOUT_FILENO, .path = "<stdout>" };
static bool std_out_on;

void lt_stdout_begin(void)
{
	cookie_io_functions_t io = { .write = ck_write, .close = ck_close };
	FILE *f;

	fflush(stdout);
	f = fopencookie(&std_out, "w", io);
	if (!f)
		return;	/* stdio's own stdout, unchecked */
	std_out.f = f;
	if (isatty(STDOUT_FILENO))
		setvbuf(f, NULL, _IOLBF, 0);
	else
		setvbuf(f, NULL, _IOFBF, 256 * 1024);
	stdout = f;
	std_out_on = true;
}

int lt_stdout_end(int rc)
{
	if (!std_out_on)
		return rc;
	if (fflush(std_out.f) || std_out.err) {
		lt_err("<stdout>: write failed: %s", strerror(std_out.err ? std_out.err : EIO));
		if (!rc)
			rc = LT_EXIT_FAIL;
	}
	/* stdout stays usable for exit handlers: not closed */
	return rc;
}
