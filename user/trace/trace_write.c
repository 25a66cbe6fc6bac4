// SPDX-License-Identifier: MIT
/* Trace writer: JSON Lines per FORMAT.md §1 and §2, gzip when the name ends in ".gz". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "common/err.h"
#include "common/json.h"
#include "common/outfile.h"
#include "trace/incomplete.h"
#include "trace/trace.h"

/*
 * Lines are gathered in 256 KB blocks that a writer thread of our own
 * writes (and compresses, for .gz), so the caller (the recorder draining
 * its ring buffer) never waits for zlib or the disk unless WQ blocks are
 * already waiting. Write errors are found by the writer thread and
 * returned by the next call.
 *
 * lt_writer_exec_take hands over the execution itself: the writer thread
 * builds its line (in pieces of JW_SPILL bytes, so a line of a million
 * calls never sits whole in memory) and frees it. Building the line was
 * three quarters of the recorder's own CPU per record, and for one large
 * execution a pause of the ring buffer's draining long enough to lose
 * records (issue 20). Executions are gathered like lines, by the block
 * (WBLOCK bytes of their arenas), and what waits for the writer is held
 * to WQ items and WQ_BYTES bytes (one item of any size may always wait).
 *
 * Durability: lt_writer_tick (the recorder calls it from its poll loop)
 * hands over a partly filled block marked "sync" at most LT_SYNC_NS after
 * the first line that is not in the file yet; the writer thread writes it
 * and pushes it to the kernel (fflush; gzflush(Z_SYNC_FLUSH), which ends
 * the deflate data on a byte boundary so that a reader decompresses every
 * line up to there). A recorder killed with SIGKILL (OOM killer, systemd)
 * leaves a file whose lines up to about that long before are whole and
 * readable, and `tail -f` shows executions as they complete.
 */
#define WBLOCK	(256 * 1024)
#define WQ	16
#define WQ_BYTES	(64u << 20)

struct wblock {
	char *data;
	size_t len;
	bool sync;		/* push to the kernel once written */
	struct lt_exec *execs;	/* executions to write (linked by wnext) and
				 * free: they come before the lines in data
				 * (lt_writer_exec_take hands lines over first) */
	size_t bytes;		/* their memory (arenas) */
};

struct lt_writer {
	char *path;
	FILE *f;		/* plain output */
	gzFile gz;		/* gzip output */
	struct jw jw;		/* the line being built */
	int err;		/* first write error (negative errno) */
	/* the writer thread and the blocks between it and the caller */
	pthread_t th;
	bool threaded, stop;
	pthread_mutex_t mu;
	pthread_cond_t work, room;
	struct wblock q[WQ];	/* [head, tail) full, waiting to be written */
	size_t head, tail;
	bool busy;		/* the writer holds a block it took */
	struct wblock cur;	/* the executions gathered, then the block
				 * being filled */
	struct lt_exec *cur_last;	/* the last of cur.execs */
	size_t qbytes;		/* lines and execution memory in [head, tail) */
	struct jw tjw;		/* the writer thread's: lines of executions */
	int terr;		/* the writer thread's first error */
	struct wblock spare[WQ];	/* written blocks for reuse */
	size_t nspare;
	uint64_t unsynced_since;	/* first line not synced yet (lt_writer_tick's clock), 0: none */
};

/* fflush / gzflush(Z_SYNC_FLUSH); the first error is kept in *err */
static void sync_file(struct lt_writer *w, int *err)
{
	if (*err)
		return;
	if (w->gz) {
		int zerr;

		if (gzflush(w->gz, Z_SYNC_FLUSH) != Z_OK) {
			const char *m = gzerror(w->gz, &zerr);

			*err = zerr == Z_ERRNO ? -(errno ? errno : EIO) : -EIO;
			lt_err("%s: write failed: %s", w->path,
			       zerr == Z_ERRNO ? strerror(-*err) : m);
		}
	} else if (fflush(w->f)) {
		*err = -(errno ? errno : EIO);
		lt_err("%s: write failed: %s", w->path, strerror(-*err));
	}
}

/* write one block to the file (writer thread, or the caller when the
 * thread could not start); the first error is kept in w->err */
static void write_block(struct lt_writer *w, const char *data, size_t len, int *err)
{
	if (*err || !len)
		return;
	/* gzwrite takes an unsigned and returns an int: an execution of
	 * 2 GiB or more (one block) goes in pieces */
	for (size_t off = 0, n; w->gz && off < len; off += n) {
		n = len - off < (1u << 30) ? len - off : (1u << 30);
		if (gzwrite(w->gz, data + off, (unsigned)n) != (int)n) {
			int zerr;
			const char *m = gzerror(w->gz, &zerr);
			*err = zerr == Z_ERRNO ? -(errno ? errno : EIO) : -EIO;
			lt_err("%s: write failed: %s", w->path,
				zerr == Z_ERRNO ? strerror(-*err) : m);
			return;
		}
	}
	if (!w->gz && fwrite(data, 1, len, w->f) != len) {
		*err = -(errno ? errno : EIO);
		lt_err("%s: write failed: %s", w->path, strerror(-*err));
	}
}

static void exec_line(struct jw *j, const struct lt_exec *e);

/* the writer thread's spill hook: a piece of a line, to the file */
static void spill_out(void *arg, const char *buf, size_t len)
{
	struct lt_writer *w = arg;

	write_block(w, buf, len, &w->terr);
}

/* the lines of the executions handed over (writer thread), which it
 * frees; after an error they are only freed */
static void write_execs(struct lt_writer *w, struct lt_exec *e)
{
	struct jw *j = &w->tjw;

	for (struct lt_exec *next; e; e = next) {
		next = e->wnext;
		if (!w->terr) {
			exec_line(j, e);
			jw_raw(j, "\n", 1);
			jw_spill_check(j);
		}
		lt_exec_free(e);
	}
	write_block(w, j->buf, j->len, &w->terr);
	jw_reset(j);
}

static void *writer_main(void *arg)
{
	struct lt_writer *w = arg;
	sigset_t all;

	prctl(PR_SET_NAME, "lt-writer");	/* top -H, perf: the trace's writer */
	sigfillset(&all);	/* signals are the caller's business */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == w->tail && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->head == w->tail)
			break;
		struct wblock b = w->q[w->head % WQ];
		w->terr = w->err;
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		write_execs(w, b.execs);
		write_block(w, b.data, b.len, &w->terr);
		if (b.sync)
			sync_file(w, &w->terr);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		w->head++;
		w->qbytes -= b.len + b.bytes;
		if (w->terr && !w->err)
			__atomic_store_n(&w->err, w->terr, __ATOMIC_RELAXED);
		/* kept for reuse, but not a huge line's own buffer */
		if (b.len <= WBLOCK && w->nspare < WQ)
			w->spare[w->nspare++] = (struct wblock){ b.data, 0, false };
		else
			free(b.data);
		pthread_cond_broadcast(&w->room);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* hand the block being filled to the writer (sync: and have it pushed
 * to the kernel, even if empty); returns the error known */
static int hand_over_sync(struct lt_writer *w, bool sync)
{
	int err;

	if (!w->threaded) {
		write_block(w, w->cur.data, w->cur.len, &w->err);
		if (sync)
			sync_file(w, &w->err);
		w->cur.len = 0;
		return w->err;
	}
	pthread_mutex_lock(&w->mu);
	if (w->cur.len || w->cur.execs || sync) {
		size_t add = w->cur.len + w->cur.bytes;

		w->cur.sync = sync;
		while (w->tail - w->head == WQ ||
		       (w->tail != w->head && w->qbytes + add > WQ_BYTES))
			pthread_cond_wait(&w->room, &w->mu);
		w->q[w->tail++ % WQ] = w->cur;
		w->qbytes += add;
		w->cur = w->nspare ? w->spare[--w->nspare] : (struct wblock){ 0 };
		w->cur_last = NULL;
		pthread_cond_signal(&w->work);
	}
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err;
}

static int hand_over(struct lt_writer *w)
{
	return hand_over_sync(w, false);
}

/* wait until the writer has written every block handed over */
static int drain(struct lt_writer *w)
{
	int err = hand_over(w);

	if (!w->threaded)
		return err;
	pthread_mutex_lock(&w->mu);
	while (w->head != w->tail)
		pthread_cond_wait(&w->room, &w->mu);
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

struct lt_writer *lt_writer_open(const char *path)
{
	struct lt_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		lt_err("%s: out of memory", path);
		return NULL;
	}
	w->path = strdup(path);
	jw_init(&w->jw);
	int fd;
	if (!strcmp(path, "-")) {
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	} else {
		fd = lt_out_create(path, false);
	}
	if (fd < 0) {
		lt_err("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (strcmp(path, "-") && ends_with(path, ".gz")) {
		/* level 1: the recorder writes while tracing, speed matters more */
		w->gz = gzdopen(fd, "wb1");
		if (!w->gz) {
			close(fd);
			lt_err("%s: cannot start gzip stream", path);
			goto fail;
		}
		gzbuffer(w->gz, 256 * 1024);
	} else {
		w->f = fdopen(fd, "w");
		if (!w->f) {
			lt_err("%s: %s", path, strerror(errno));
			close(fd);
			goto fail;
		}
		setvbuf(w->f, NULL, _IOFBF, 256 * 1024);
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	jw_init(&w->tjw);
	w->tjw.spill = spill_out;
	w->tjw.spill_arg = w;
	/* without the thread, the caller writes the blocks itself */
	w->threaded = !pthread_create(&w->th, NULL, writer_main, w);
	return w;
fail:
	jw_free(&w->jw);
	free(w->path);
	free(w);
	return NULL;
}

/* add the built line plus '\n' to the block being filled */
static int emit(struct lt_writer *w)
{
	struct wblock *b = &w->cur;
	int err = 0;

	jw_raw(&w->jw, "\n", 1);
	/* (a line bigger than a block goes alone, after what was gathered) */
	if (b->len + w->jw.len > WBLOCK && (b->len || b->execs))
		err = hand_over(w);
	if (w->jw.len > WBLOCK && w->threaded) {
		/* a line bigger than a block (an execution of millions of
		 * calls, gigabytes): its own buffer goes to the writer as a
		 * block, not a copy of it (which the writer then frees) */
		struct wblock empty = w->cur;

		w->cur = (struct wblock){ w->jw.buf, w->jw.len };
		w->jw.buf = NULL;
		w->jw.cap = 0;
		jw_reset(&w->jw);
		if (!err)
			err = hand_over(w);
		if (w->cur.len) {	/* not handed over (an error): dropped */
			free(w->cur.data);
			w->cur = (struct wblock){ 0 };
		}
		if (w->cur.data)
			free(empty.data);
		else
			w->cur = empty;
		return err ? err : __atomic_load_n(&w->err, __ATOMIC_RELAXED);
	}
	if (!b->data || b->len + w->jw.len > WBLOCK) {
		size_t cap = w->jw.len > WBLOCK ? w->jw.len : WBLOCK;
		char *d = realloc(b->data, cap);

		if (!d) {
			lt_err("%s: out of memory", w->path);
			jw_reset(&w->jw);
			return -ENOMEM;
		}
		b->data = d;
	}
	memcpy(b->data + b->len, w->jw.buf, w->jw.len);
	b->len += w->jw.len;
	jw_reset(&w->jw);
	if (!w->unsynced_since)
		w->unsynced_since = 1;	/* lt_writer_tick puts its clock here */
	if (!err && b->len >= WBLOCK)
		err = hand_over(w);
	/* a failure the writer thread met is returned by a later line */
	return err ? err : __atomic_load_n(&w->err, __ATOMIC_RELAXED);
}

static void opt_str(struct jw *j, const char *k, const char *v)
{
	if (v) {
		jw_key(j, k);
		jw_str(j, v);
	}
}

int lt_writer_header(struct lt_writer *w, const struct lt_header *h)
{
	struct jw *j = &w->jw;
	jw_obj(j);
	jw_key(j, "type");
	jw_str(j, "header");
	jw_key(j, "format");
	jw_int(j, h->format ? h->format : 1);
	jw_key(j, "tool");
	jw_str(j, h->tool ? h->tool : "leaktrace");
	opt_str(j, "python", h->python);
	if (h->pid > 0) {
		jw_key(j, "pid");
		jw_int(j, h->pid);
	}
	opt_str(j, "root", h->root);
	if (h->argv) {
		jw_key(j, "argv");
		jw_arr(j);
		for (int i = 0; i < h->argc; i++)
			jw_str(j, h->argv[i] ? h->argv[i] : "");
		jw_arr_end(j);
	}
	opt_str(j, "start", h->start);
	opt_str(j, "mechanism", h->mechanism);
	/* how it was made, so that analyze can refuse traces made
	 * differently (FORMAT.md §1) */
	lt_capture_json(j, h);
	jw_obj_end(j);
	return emit(w);
}

/* an interned string (never NULL: "?") as a JSON value: its JSON form
 * is made once (lt_intern_json), not at every call */
static inline void put_interned(struct jw *j, const char *s)
{
	size_t len;
	const char *q;

	if (!s) {
		jw_str(j, "?");
		return;
	}
	q = lt_intern_json(s, &len);
	jw_value_raw(j, q, len);
}

/* RET / args element (FORMAT.md §2) */
void lt_json_value(struct jw *j, const struct lt_value *v)
{
	jw_obj(j);
	JW_KEY(j, "type");
	put_interned(j, v->type);
	switch (v->kind) {
	case LT_V_INT:
		JW_KEY(j, "value");
		jw_int(j, v->u.i);
		break;
	case LT_V_BIGINT:
	case LT_V_HASH:
		JW_KEY(j, "value");
		jw_str(j, v->s ? v->s : "");
		if (v->truncated) {	/* an int too long to send (a marker) */
			JW_KEY(j, "truncated");
			jw_bool(j, true);
		}
		break;
	case LT_V_FLOAT:
		JW_KEY(j, "value");
		jw_double(j, v->u.f);
		break;
	case LT_V_BOOL:
		JW_KEY(j, "value");
		jw_bool(j, v->u.b);
		break;
	case LT_V_STR:
		JW_KEY(j, "value");
		jw_strn(j, v->s ? v->s : "", v->s ? v->slen : 0);
		if (v->truncated) {
			JW_KEY(j, "truncated");
			jw_bool(j, true);
		}
		break;
	default:
		break;
	}
	if (v->yield) {
		JW_KEY(j, "yield");
		jw_bool(j, true);
	}
	jw_obj_end(j);
}

/* the fields of a node up to (not including) "calls" */
static void node_fields(struct jw *j, const struct lt_node *n)
{
	bool syn = lt_node_synthetic_root(n);
	JW_KEY(j, "fn");
	put_interned(j, n->fn);
	if (syn) {
		JW_KEY(j, "synthetic");
		jw_bool(j, true);
	}
	if (n->file) {
		JW_KEY(j, "file");
		put_interned(j, n->file);
	}
	if (n->line >= 0) {
		JW_KEY(j, "line");
		jw_int(j, n->line);
	}
	if (n->interp) {
		JW_KEY(j, "interp");
		jw_uint(j, n->interp);
	}
	if (n->has_ret && !syn) {
		JW_KEY(j, "ret");
		lt_json_value(j, &n->ret);
	}
	if (n->dur_ns >= 0 && !syn) {
		JW_KEY(j, "dur_ns");
		jw_int(j, n->dur_ns);
	}
	if (n->run_ns >= 0 && !syn) {
		JW_KEY(j, "run_ns");
		jw_int(j, n->run_ns);
	}
	if (n->args) {
		JW_KEY(j, "args");
		jw_arr(j);
		for (uint32_t i = 0; i < n->nargs; i++)
			lt_json_value(j, &n->args[i]);
		jw_arr_end(j);
	}
	if (n->truncated_calls) {
		JW_KEY(j, "truncated_calls");
		jw_uint(j, n->truncated_calls);
	}
}

/* NODE with its subtree, without recursion (trees may be very deep).
 * A node without children has no "calls" key. */
void lt_json_node(struct jw *j, const struct lt_node *root)
{
	const struct lt_node *n = root;
	for (;;) {
		jw_spill_check(j);
		jw_obj(j);
		node_fields(j, n);
		if (n->first) {
			jw_key(j, "calls");
			jw_arr(j);
			n = n->first;
			continue;
		}
		jw_obj_end(j);
		while (n != root && !n->next) {
			n = n->parent;
			jw_arr_end(j);
			jw_obj_end(j);
		}
		if (n == root)
			break;
		n = n->next;
	}
}

static void exec_line(struct jw *j, const struct lt_exec *e)
{
	jw_obj(j);
	JW_KEY(j, "type");
	jw_str(j, "exec");
	JW_KEY(j, "id");
	jw_int(j, e->id);
	JW_KEY(j, "pid");
	jw_int(j, e->pid);
	JW_KEY(j, "tid");
	jw_int(j, e->tid);
	if (e->nspid) {
		JW_KEY(j, "nspid");
		jw_int(j, e->nspid);
	}
	if (e->nstid) {
		JW_KEY(j, "nstid");
		jw_int(j, e->nstid);
	}
	if (e->cmdline) {
		JW_KEY(j, "cmdline");
		jw_str(j, e->cmdline);
	}
	if (e->container) {
		JW_KEY(j, "cgroup");
		jw_str(j, e->container);
	}
	JW_KEY(j, "start_ns");
	jw_uint(j, e->start_ns);
	if (e->dur_ns >= 0) {
		JW_KEY(j, "dur_ns");
		jw_int(j, e->dur_ns);
	}
	if (e->run_ns >= 0) {
		JW_KEY(j, "run_ns");
		jw_int(j, e->run_ns);
	}
	JW_KEY(j, "complete");
	jw_bool(j, e->complete);
	if (!e->complete) {
		/* why (FORMAT.md §1); never none: "unknown" says a reason is
		 * missing */
		uint32_t m = e->incomplete ? e->incomplete : LT_INC_UNKNOWN;

		JW_KEY(j, "incomplete");
		jw_arr(j);
		for (int i = 0; i < LT_INC_NREASONS; i++)
			if (m & (1u << i))
				jw_str(j, lt_incomplete_name(i));
		jw_arr_end(j);
	}
	JW_KEY(j, "root");
	if (e->root) {
		lt_json_node(j, e->root);
	} else {
		jw_obj(j);
		JW_KEY(j, "fn");
		jw_str(j, "<thread>");
		JW_KEY(j, "synthetic");
		jw_bool(j, true);
		jw_obj_end(j);
	}
	jw_obj_end(j);
}

int lt_writer_exec(struct lt_writer *w, const struct lt_exec *e)
{
	exec_line(&w->jw, e);
	return emit(w);
}

int lt_writer_exec_take(struct lt_writer *w, struct lt_exec *e)
{
	int err = 0;

	if (!w->threaded) {
		err = lt_writer_exec(w, e);
		lt_exec_free(e);
		return err;
	}
	if (w->cur.len)	/* in order: the lines before go first */
		err = hand_over(w);
	e->wnext = NULL;
	if (w->cur_last)
		w->cur_last->wnext = e;
	else
		w->cur.execs = e;
	w->cur_last = e;
	w->cur.bytes += sizeof(*e) + e->arena.used_total;
	if (!w->unsynced_since)
		w->unsynced_since = 1;	/* lt_writer_tick puts its clock here */
	if (!err && w->cur.bytes >= WBLOCK)
		err = hand_over(w);
	return err ? err : __atomic_load_n(&w->err, __ATOMIC_RELAXED);
}

int lt_writer_stats(struct lt_writer *w, const struct lt_stats *s)
{
	struct jw *j = &w->jw;
	jw_obj(j);
	jw_key(j, "type");
	jw_str(j, "stats");
	jw_key(j, "execs");
	jw_uint(j, s->execs);
	jw_key(j, "calls");
	jw_uint(j, s->calls);
	jw_key(j, "lost_events");
	jw_uint(j, s->lost_events);
	jw_key(j, "incomplete_execs");
	jw_uint(j, s->incomplete_execs);
	jw_key(j, "truncated_strings");
	jw_uint(j, s->truncated_strings);
	if (s->excluded_calls) {
		jw_key(j, "excluded_calls");
		jw_uint(j, s->excluded_calls);
	}
	if (s->read_failures) {
		jw_key(j, "read_failures");
		jw_uint(j, s->read_failures);
	}
	if (s->stale_frames) {
		jw_key(j, "stale_frames");
		jw_uint(j, s->stale_frames);
	}
	if (s->name_evictions) {
		jw_key(j, "name_evictions");
		jw_uint(j, s->name_evictions);
	}
	if (s->unprobed_returns) {
		jw_key(j, "unprobed_returns");
		jw_uint(j, s->unprobed_returns);
	}
	jw_obj_end(j);
	return emit(w);
}

int lt_writer_tick(struct lt_writer *w, uint64_t now_ns)
{
	if (!w->unsynced_since)
		return __atomic_load_n(&w->err, __ATOMIC_RELAXED);
	if (w->unsynced_since == 1)
		w->unsynced_since = now_ns ? now_ns : 2;
	if (now_ns - w->unsynced_since < LT_SYNC_NS)
		return __atomic_load_n(&w->err, __ATOMIC_RELAXED);
	w->unsynced_since = 0;
	return hand_over_sync(w, true);
}

int lt_writer_flush(struct lt_writer *w)
{
	w->unsynced_since = 0;
	if (drain(w))
		return w->err;
	if (w->gz) {
		if (gzflush(w->gz, Z_SYNC_FLUSH) != Z_OK)
			w->err = -EIO;
	} else if (fflush(w->f)) {
		w->err = -(errno ? errno : EIO);
	}
	return w->err;
}

/*
 * After a failed write (disk full) to a plain file: cut the file after its
 * last whole line and try to end it with a marker trailer, so that readers
 * see why it ends where it does instead of a line cut in the middle.
 */
static void mark_failed(int fd, const char *path, int err)
{
	char buf[65536], line[256];
	off_t end = lseek(fd, 0, SEEK_END), pos = end, cut = 0;
	struct stat st;
	int n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || end < 0)
		return;
	while (pos > 0 && !cut) {
		size_t len = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t got = pread(fd, buf, len, pos - len);

		if (got != (ssize_t)len)
			return;
		for (ssize_t i = got - 1; i >= 0; i--)
			if (buf[i] == '\n') {
				cut = pos - len + i + 1;
				break;
			}
		pos -= len;
	}
	n = snprintf(line, sizeof(line), "{\"type\":\"stats\",\"error\":\"write failed: %s\"}\n",
		     strerror(-err));
	/* a full disk may have no room for the marker: give up whole lines
	 * from the end (at most 16) until it fits, keeping the header */
	for (int tries = 0; tries < 16; tries++) {
		off_t prev = cut > 1 ? cut - 1 : 0;

		if (ftruncate(fd, cut))
			return;
		if (pwrite(fd, line, n, cut) == n) {
			lt_err("%s: cut after its last whole line and marked as failed%s", path,
			       tries ? " (last executions dropped for room)" : "");
			return;
		}
		/* a short write leaves part of the marker: take it away */
		if (ftruncate(fd, cut))
			break;
		/* the start of the line before cut */
		while (prev > 0) {
			char c;

			if (pread(fd, &c, 1, prev - 1) != 1)
				return;
			if (c == '\n')
				break;
			prev--;
		}
		if (prev == 0)	/* only the header line is left */
			break;
		cut = prev;
	}
	lt_err("%s: cut after its last whole line (no room for a marker)", path);
}

int lt_writer_close(struct lt_writer *w)
{
	if (!w)
		return 0;
	drain(w);
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	free(w->cur.data);
	while (w->nspare)
		free(w->spare[--w->nspare].data);
	int err = w->err, fd = -1;
	bool plain = w->f != NULL;
	if (w->gz) {
		int rc = gzclose(w->gz);
		if (!err && rc != Z_OK)
			err = rc == Z_ERRNO ? -(errno ? errno : EIO) : -EIO;
	} else if (w->f) {
		fd = fcntl(fileno(w->f), F_DUPFD_CLOEXEC, 0);
		if (fclose(w->f) && !err)
			err = -(errno ? errno : EIO);
	}
	if (err && !w->err)
		lt_err("%s: write failed: %s", w->path, strerror(-err));
	if (fd >= 0)
		close(fd);
	if (err && plain && strcmp(w->path, "-")) {
		/* our descriptor was write-only: reopen to read the tail back */
		fd = open(w->path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			mark_failed(fd, w->path, err);
			close(fd);
		}
	}
	jw_free(&w->jw);
	jw_free(&w->tjw);
	free(w->path);
	free(w);
	return err;
}
