/* SPDX-License-Identifier: MIT */
/*
 * The live view: `leaktrace -p PID` without --root, -o or --rules builds
 * no trees; it counts returns per thread and code object and prints, once
 * a second, per process its calls per second and its three most called
 * functions, then the same per thread (-j: one JSON object per process);
 * a second without any call prints one "idle" line. Functions are named
 * by their qualified name (--where: also file:line); a code object whose
 * name no CODE record brought (its frame started before attach, or the
 * record was lost) is read from the process (live_config.resolve).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/json.h"
#include "common/u64map.h"
#include "leaktrace.h"
#include "record/record.h"

struct live_name {
	const char *fn, *file;	/* interned */
	int line;
};

struct live_view {
	struct live_config cfg;
	struct hmap names;	/* (code | 1 << 63, tgid) -> struct live_name */
	struct u64map tgids;	/* tid + 1 -> tgid + 1 (from ENTRY records, /proc) */
	struct u64map threads;	/* tid + 1 -> struct live_count, this second */
};

struct live_count {
	uint32_t tid, tgid;
	uint64_t calls;
	struct u64map per_code;	/* code -> count (in the pointer); one process */
};

struct live_view *live_new(const struct live_config *cfg)
{
	struct live_view *v = calloc(1, sizeof(struct live_view));

	if (v && cfg)
		v->cfg = *cfg;
	return v;
}

static void counts_free(struct u64map *m)
{
	uint64_t k;
	void *t;

	for (size_t i = 0; u64map_next(m, &i, &k, &t);) {
		u64map_free(&((struct live_count *)t)->per_code);
		free(t);
	}
	u64map_free(m);
}

void live_free(struct live_view *v)
{
	uint64_t k;
	void *n;

	if (!v)
		return;
	counts_free(&v->threads);
	for (size_t i = 0; u64map_next(&v->names, &i, &k, &n);)
		free(n);
	u64map_free(&v->names);
	u64map_free(&v->tgids);
	free(v);
}

#define NAME_K(code)	((code) | 1ULL << 63)

void live_name(struct live_view *v, uint32_t tgid, uint64_t code, const char *name,
	       const char *file, int line)
{
	struct live_name *n = hmap_get(&v->names, NAME_K(code), tgid);

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return;
		hmap_put(&v->names, hmap_slot(&v->names, NAME_K(code), tgid), NAME_K(code), tgid, n);
	}
	n->fn = lt_intern(name);
	n->file = file ? lt_intern(file) : NULL;
	n->line = line;
}

void live_thread(struct live_view *v, uint32_t tid, uint32_t tgid)
{
	if (tgid && !u64map_get(&v->tgids, (uint64_t)tid + 1))
		u64map_put(&v->tgids, (uint64_t)tid + 1, (void *)(uintptr_t)(tgid + 1));
}

/* the process of tid: from its ENTRY records, else /proc (0: unknown) */
static uint32_t tgid_of(struct live_view *v, uint32_t tid)
{
	uintptr_t known = (uintptr_t)u64map_get(&v->tgids, (uint64_t)tid + 1);
	char path[64], line[128];
	uint32_t tgid = 0;
	FILE *f;

	if (known)
		return known - 1;
	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Tgid: %u", &tgid) == 1)
				break;
		fclose(f);
	}
	if (tgid)
		live_thread(v, tid, tgid);
	return tgid;
}

void live_count(struct live_view *v, uint32_t tid, uint64_t code)
{
	struct live_count *t = u64map_get(&v->threads, (uint64_t)tid + 1);

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || u64map_put(&v->threads, (uint64_t)tid + 1, t)) {
			free(t);
			return;
		}
		t->tid = tid;
		t->tgid = tgid_of(v, tid);
	}
	t->calls++;
	u64map_put(&t->per_code, code, (void *)((uintptr_t)u64map_get(&t->per_code, code) + 1));
}

/* the name of a counted code object; read from its process when no CODE
 * record named it (then remembered) */
static const struct live_name *name_of(struct live_view *v, uint64_t code, uint32_t tgid)
{
	const struct live_name *n = hmap_get(&v->names, NAME_K(code), tgid);
	char name[1024], file[1024];
	int line;

	if (n || !v->cfg.resolve || !tgid)
		return n;
	if (v->cfg.resolve(v->cfg.resolve_arg, tgid, code, name, sizeof(name), file,
			   sizeof(file), &line))
		snprintf(name, sizeof(name), "<unknown code 0x%llx>",
			 (unsigned long long)code), file[0] = 0, line = 0;
	live_name(v, tgid, code, name, file[0] ? file : NULL, line);
	return hmap_get(&v->names, NAME_K(code), tgid);
}

/* the three codes of a count map called most */
static void top3(const struct u64map *per_code, uint64_t top[3], uint64_t topn[3])
{
	uint64_t code;
	void *cnt;

	for (size_t j = 0; u64map_next(per_code, &j, &code, &cnt);) {
		uint64_t n = (uintptr_t)cnt;

		for (int s = 0; s < 3; s++) {
			if (n > topn[s]) {
				memmove(&top[s + 1], &top[s], (2 - s) * sizeof(top[0]));
				memmove(&topn[s + 1], &topn[s], (2 - s) * sizeof(topn[0]));
				top[s] = code;
				topn[s] = n;
				break;
			}
		}
	}
}

/* "calls/s  top: f 10/s, g 2/s" or its JSON members */
static void print_counts(struct live_view *v, FILE *out, struct jw *j, uint32_t tgid,
			 uint64_t calls, const struct u64map *per_code, double secs)
{
	uint64_t top[3] = { 0 }, topn[3] = { 0 };

	top3(per_code, top, topn);
	if (j) {
		jw_key(j, "calls_per_s");
		jw_uint(j, (uint64_t)(calls / secs + 0.5));
		jw_key(j, "top");
		jw_arr(j);
	} else {
		fprintf(out, "%10.0f calls/s", calls / secs);
	}
	for (int s = 0; s < 3 && topn[s]; s++) {
		const struct live_name *n = name_of(v, top[s], tgid);
		const char *fn = n ? n->fn : "<unknown>";

		if (j) {
			jw_obj(j);
			jw_key(j, "fn");
			jw_str(j, fn);
			if (n && n->file) {
				jw_key(j, "file");
				jw_str(j, n->file);
				jw_key(j, "line");
				jw_int(j, n->line);
			}
			jw_key(j, "per_s");
			jw_uint(j, (uint64_t)(topn[s] / secs + 0.5));
			jw_obj_end(j);
		} else if (v->cfg.where && n && n->file) {
			fprintf(out, "%s %s (%s:%d) %.0f/s", s ? "," : "  top:", fn, n->file, n->line,
				topn[s] / secs);
		} else {
			fprintf(out, "%s %s %.0f/s", s ? "," : "  top:", fn, topn[s] / secs);
		}
	}
	if (j)
		jw_arr_end(j);
	else
		fputc('\n', out);
}

/* a process's command line, short, for its line */
static void cmdline_of(uint32_t pid, char *buf, size_t n)
{
	char path[64];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	if ((f = fopen(path, "re"))) {
		len = fread(buf, 1, n - 1, f);
		fclose(f);
	}
	buf[len] = 0;
	while (len > 0 && !buf[len - 1])
		len--;
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
}

void live_print(struct live_view *v, double secs, bool json, int nprocs)
{
	struct u64map procs = { 0 };	/* tgid + 1 -> struct live_count (summed) */
	uint64_t k, k2;
	void *p, *c;

	if (secs <= 0)
		secs = 1;
	/* the processes: the sum of their threads */
	for (size_t i = 0; u64map_next(&v->threads, &i, &k, &p);) {
		struct live_count *t = p, *pr = u64map_get(&procs, (uint64_t)t->tgid + 1);

		if (!pr) {
			pr = calloc(1, sizeof(*pr));
			if (!pr || u64map_put(&procs, (uint64_t)t->tgid + 1, pr)) {
				free(pr);
				continue;
			}
			pr->tgid = t->tgid;
		}
		pr->calls += t->calls;
		for (size_t j = 0; u64map_next(&t->per_code, &j, &k2, &c);)
			u64map_put(&pr->per_code, k2, (void *)((uintptr_t)u64map_get(&pr->per_code, k2) +
							      (uintptr_t)c));
	}
	if (!v->threads.len) {
		/* nprocs < 0: system-wide */
		if (json && nprocs >= 0)
			printf("{\"type\":\"live\",\"idle\":true,\"processes\":%d}\n", nprocs);
		else if (json)
			printf("{\"type\":\"live\",\"idle\":true}\n");
		else if (nprocs >= 0)
			printf("idle: no Python call in the last %.1f s (%d process%s traced)\n", secs,
			       nprocs, nprocs == 1 ? "" : "es");
		else
			printf("idle: no Python call in the last %.1f s\n", secs);
	}
	for (size_t i = 0; u64map_next(&procs, &i, &k, &p);) {
		struct live_count *pr = p;
		char cmd[256];
		struct jw j;

		cmdline_of(pr->tgid, cmd, sizeof(cmd));
		if (json) {
			jw_init(&j);
			jw_obj(&j);
			jw_key(&j, "type");
			jw_str(&j, "live");
			jw_key(&j, "pid");
			jw_int(&j, pr->tgid);
			if (cmd[0]) {
				jw_key(&j, "cmdline");
				jw_str(&j, cmd);
			}
			print_counts(v, stdout, &j, pr->tgid, pr->calls, &pr->per_code, secs);
			jw_key(&j, "threads");
			jw_arr(&j);
		} else {
			printf("pid %-7u %-24.24s", pr->tgid, cmd[0] ? cmd : "?");
			print_counts(v, stdout, NULL, pr->tgid, pr->calls, &pr->per_code, secs);
		}
		for (size_t t = 0; u64map_next(&v->threads, &t, &k2, &c);) {
			struct live_count *th = c;

			if (th->tgid != pr->tgid)
				continue;
			if (json) {
				jw_obj(&j);
				jw_key(&j, "tid");
				jw_int(&j, th->tid);
				print_counts(v, stdout, &j, th->tgid, th->calls, &th->per_code, secs);
				jw_obj_end(&j);
			} else {
				printf("  tid %-7u %-22s", th->tid, "");
				print_counts(v, stdout, NULL, th->tgid, th->calls, &th->per_code, secs);
			}
		}
		if (json) {
			jw_arr_end(&j);
			jw_obj_end(&j);
			printf("%.*s\n", (int)j.len, j.buf);
			jw_free(&j);
		}
	}
	fflush(stdout);
	counts_free(&procs);
	counts_free(&v->threads);
}
