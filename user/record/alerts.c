// SPDX-License-Identifier: MIT
/*
 * JSON alerts and the --alert-exec queue (contract in alerts.h). The
 * queue is a ring of fixed slots under one mutex that either side holds
 * only to copy a slot: the consumer's push never waits for a command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analysis/observe.h"
#include "analysis/rules.h"
#include "common/err.h"
#include "common/json.h"
#include "common/outfile.h"
#include "record/alerts.h"
#include "record/metrics.h"
#include "record/record.h"

extern char **environ;

#define LINE_MAX_ 1024
#define JSON_MAX  2048

struct slot {
	char line[LINE_MAX_ + 32];	/* "LEAKTRACE_ALERT=" + the line */
	char json[JSON_MAX + 32];
};

static struct {
	FILE *json;
	bool json_stdout, json_failed;
	const char *path;
	struct jw j;
	/* --alert-exec */
	const char *cmd;
	char **envbase;		/* our environment without LEAKTRACE_ALERT* */
	size_t nenv;
	pthread_t thr;
	bool thr_started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot q[ALERTQ_LEN];
	unsigned head, count;	/* under mu */
	uint64_t runs, dropped, failed;	/* under mu */
} A = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* "2026-12-05T07:01:02.123Z" */
static void rfc3339(const struct timespec *ts, char *buf, size_t n)
{
	struct tm tm;
	size_t k;

	gmtime_r(&ts->tv_sec, &tm);
	k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03ldZ", ts->tv_nsec / 1000000);
}

/* the cgroup of pid when not the root one, or NULL: -a tags executions
 * with it, -p and -- CMD do not; asked once per process (a small cache,
 * the oldest entry replaced) */
static const char *cgroup_of(int pid)
{
	static struct { int pid; const char *cg; } cache[64];
	static unsigned next;
	const char *cmdline = NULL, *cg = NULL;

	for (unsigned i = 0; i < 64; i++)
		if (cache[i].pid == pid)
			return cache[i].cg;
	proc_describe(NULL, pid, &cmdline, &cg);
	cache[next % 64].pid = pid;
	cache[next++ % 64].cg = cg;
	return cg;
}

/* the alert as one JSON object in A.j */
static void alert_json(const struct lt_exec *e, const struct lt_rule *r, const struct timespec *ts)
{
	char when[40], buf[256];
	const char *cg;

	jw_reset(&A.j);
	jw_obj(&A.j);
	jw_key(&A.j, "type");
	jw_str(&A.j, "alert");
	jw_key(&A.j, "time");
	rfc3339(ts, when, sizeof(when));
	jw_str(&A.j, when);
	jw_key(&A.j, "rule");
	jw_int(&A.j, r->index);
	jw_key(&A.j, "observation");
	jw_str(&A.j, r->obs >= 0 && r->obs < LT_OBS_N ? lt_obs_names[r->obs] : "?");
	jw_key(&A.j, "key");
	jw_str(&A.j, r->key ? r->key : "");
	jw_key(&A.j, "match");
	lt_rule_describe(r, buf, sizeof(buf));
	jw_str(&A.j, buf);
	jw_key(&A.j, "value");
	lt_rule_observed(r, buf, sizeof(buf));
	jw_str(&A.j, buf);
	if (r->site) {
		jw_key(&A.j, "site");
		jw_str(&A.j, r->site);
	}
	jw_key(&A.j, "pid");
	jw_int(&A.j, e->pid);
	jw_key(&A.j, "tid");
	jw_int(&A.j, e->tid);
	if (e->nspid) {
		jw_key(&A.j, "nspid");
		jw_int(&A.j, e->nspid);
	}
	jw_key(&A.j, "container");	/* the cgroup path; null: the root cgroup */
	cg = e->container ? e->container : cgroup_of(e->pid);
	if (cg)
		jw_str(&A.j, cg);
	else
		jw_null(&A.j);
	jw_key(&A.j, "exec");
	jw_int(&A.j, e->id);
	jw_key(&A.j, "complete");
	jw_bool(&A.j, e->complete);
	jw_obj_end(&A.j);
}

static void *exec_worker(void *arg)
{
	static struct slot s;	/* this thread's copy */
	char *argv[] = { "sh", "-c", (char *)A.cmd, NULL };
	char **envp = calloc(A.nenv + 3, sizeof(*envp));

	prctl(PR_SET_NAME, "lt-alerts");
	if (!envp)
		return NULL;
	memcpy(envp, A.envbase, A.nenv * sizeof(*envp));
	envp[A.nenv] = s.line;
	envp[A.nenv + 1] = s.json;
	for (;;) {
		pid_t pid;
		int st, err;

		pthread_mutex_lock(&A.mu);
		while (!A.count && !A.stop)
			pthread_cond_wait(&A.cv, &A.mu);
		if (!A.count) {
			pthread_mutex_unlock(&A.mu);
			break;
		}
		s = A.q[A.head];
		A.head = (A.head + 1) % ALERTQ_LEN;
		A.count--;
		pthread_mutex_unlock(&A.mu);
		/* posix_spawn (vfork) from this thread: no copy of the
		 * recorder's memory, the consumer keeps running */
		err = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp);
		pthread_mutex_lock(&A.mu);
		if (err)
			A.failed++;
		else
			A.runs++;
		pthread_mutex_unlock(&A.mu);
		if (err)
			continue;
		metrics_alert_exec(false);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(envp);
	return NULL;
}

/* alerts hold traced values: a file we create is 0600, like a trace */
static FILE *open_append(const char *path)
{
	int fd = lt_out_create(path, true);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "a");

	if (fd >= 0 && !f)
		close(fd);
	return f;
}

int alerts_open(const char *json_path, const char *exec_cmd)
{
	jw_init(&A.j);
	if (json_path) {
		A.path = json_path;
		A.json_stdout = !strcmp(json_path, "-");
		A.json = A.json_stdout ? stdout : open_append(json_path);
		if (!A.json) {
			lt_err("--alert-json %s: %s", json_path, strerror(errno));
			return LT_EXIT_USAGE;
		}
	}
	if (exec_cmd) {
		sigset_t all, old;
		size_t n = 0;
		int err;

		A.cmd = exec_cmd;
		while (environ[n])
			n++;
		A.envbase = calloc(n + 1, sizeof(*A.envbase));
		if (!A.envbase) {
			lt_err("out of memory");
			return LT_EXIT_FAIL;
		}
		for (size_t i = 0; i < n; i++)
			if (strncmp(environ[i], "LEAKTRACE_ALERT=", 16) &&
			    strncmp(environ[i], "LEAKTRACE_ALERT_JSON=", 21))
				A.envbase[A.nenv++] = environ[i];
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		err = pthread_create(&A.thr, NULL, exec_worker, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err) {
			lt_err("--alert-exec: cannot start its thread: %s", strerror(err));
			return LT_EXIT_FAIL;
		}
		A.thr_started = true;
	}
	return 0;
}

void alerts_reopen(void)
{
	FILE *f;

	if (!A.json || A.json_stdout)
		return;
	f = open_append(A.path);
	if (!f) {
		/* keep writing to the old file rather than lose alerts */
		lt_err("--alert-json %s: cannot reopen after SIGHUP: %s; still writing to the "
		       "file opened before", A.path, strerror(errno));
		return;
	}
	if (fclose(A.json))
		lt_err("--alert-json %s: %s", A.path, strerror(errno));
	A.json = f;
	A.json_failed = false;
}

bool alerts_json_on_stdout(void)
{
	return A.json_stdout;
}

void alerts_emit(const struct lt_exec *e, const struct lt_rule *r, const char *line,
		 const struct timespec *ts)
{
	if (!A.json && !A.cmd)
		return;
	alert_json(e, r, ts);
	if (A.json && !A.json_failed) {
		/* one whole line per alert, pushed at once for a log shipper */
		if (fprintf(A.json, "%.*s\n", (int)A.j.len, A.j.buf) < 0 || fflush(A.json)) {
			lt_err("--alert-json %s: %s; no more JSON alerts", A.path, strerror(errno));
			A.json_failed = true;
		}
	}
	if (!A.cmd)
		return;
	pthread_mutex_lock(&A.mu);
	if (A.count == ALERTQ_LEN) {
		A.dropped++;
		pthread_mutex_unlock(&A.mu);
		metrics_alert_exec(true);
		return;
	}
	struct slot *s = &A.q[(A.head + A.count) % ALERTQ_LEN];

	snprintf(s->line, sizeof(s->line), "LEAKTRACE_ALERT=%.*s", LINE_MAX_, line);
	if (A.j.len <= JSON_MAX)
		snprintf(s->json, sizeof(s->json), "LEAKTRACE_ALERT_JSON=%.*s", (int)A.j.len, A.j.buf);
	else	/* too long for the environment slot: say so rather than cut JSON */
		snprintf(s->json, sizeof(s->json), "LEAKTRACE_ALERT_JSON=");
	A.count++;
	pthread_cond_signal(&A.cv);
	pthread_mutex_unlock(&A.mu);
}

int alerts_close(void)
{
	int ret = 0;

	if (A.thr_started) {
		struct timespec until;
		uint64_t left = 0;

		pthread_mutex_lock(&A.mu);
		A.stop = true;
		pthread_cond_signal(&A.cv);
		pthread_mutex_unlock(&A.mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ALERTQ_DRAIN_S;
		if (pthread_timedjoin_np(A.thr, NULL, &until)) {
			/* a command that does not end: what is still queued is
			 * not run; the thread ends with the process */
			pthread_mutex_lock(&A.mu);
			left = A.count;
			A.dropped += left;
			A.count = 0;
			pthread_mutex_unlock(&A.mu);
			for (uint64_t i = 0; i < left; i++)
				metrics_alert_exec(true);
			lt_warn("--alert-exec: a command still runs after %d s; %llu queued alerts "
				"not run", ALERTQ_DRAIN_S, (unsigned long long)left);
		}
		A.thr_started = false;
		pthread_mutex_lock(&A.mu);
		if (A.dropped)
			lt_warn("--alert-exec: %llu of %llu alerts dropped (queue of %d full: the "
				"command is slower than the alerts come)",
				(unsigned long long)A.dropped,
				(unsigned long long)(A.dropped + A.runs + A.failed), ALERTQ_LEN);
		if (A.failed)
			lt_warn("--alert-exec: /bin/sh could not be started %llu times",
				(unsigned long long)A.failed);
		pthread_mutex_unlock(&A.mu);
	}
	if (A.json && !A.json_stdout && fclose(A.json)) {
		lt_err("--alert-json %s: %s", A.path, strerror(errno));
		ret = -1;
	}
	if (A.json_failed)
		ret = -1;
	A.json = NULL;
	free(A.envbase);
	A.envbase = NULL;
	jw_free(&A.j);
	return ret;
}
