// SPDX-License-Identifier: MIT
/*
 * record --metrics: the counters and their HTTP server (contract in
 * metrics.h). One thread serves; it polls its sockets with a timeout and
 * never takes a lock the consumer takes: the consumer adds with relaxed
 * atomics, publishes a new process's labels before its slot (release on
 * nprocs), and the server reads with acquire/relaxed loads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "analysis/observe.h"
#include "analysis/rules.h"
#include "common/err.h"
#include "common/http_req.h"
#include "record/metrics.h"
#include "record/record.h"

#define ADD(x, n)	__atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)
#define GET(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)

struct mproc {
	int pid;		/* 0: the "other" slot */
	char comm[16];
	char cgroup[256];
	char container[65];	/* a 64-hex container id in the cgroup path */
	uint64_t execs, incomplete, calls, alerts;
};

struct mrule {
	char obs[16], key[256];
	uint64_t alerts;
};

struct conn {
	int fd;			/* -1: free */
	uint64_t deadline;	/* CLOCK_MONOTONIC ns */
	char req[LT_HTTP_REQ_MAX];
	size_t len;
	char *out;		/* the answer, once known */
	size_t outlen, outoff;
	bool draining;		/* answer sent: reading what the client still
				 * sends until it closes (closing with unread
				 * data would reset the connection, and the
				 * client could lose the answer) */
};

static struct {
	bool on;
	int lfd, wake[2];
	pthread_t thr;
	bool thr_started;
	bool conns_ready;	/* conns[].fd set to -1 */
	uint64_t execs, incomplete, calls, lost, alert_exec_runs, alert_exec_drops;
	uint64_t requests, bad_requests;	/* server thread only */
	struct mrule *rules;
	int nrules;
	struct mproc procs[METRICS_MAX_PROCS + 1];	/* the last: "other" */
	uint32_t nprocs;	/* published slots (release) */
	int last;		/* consumer: the slot looked up last */
	struct conn conns[METRICS_MAX_CONN];
} M = { .lfd = -1, .wake = { -1, -1 } };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ------------------------------------------------------- the counters */

/* a 64-hex run in a cgroup path: docker-<id>.scope, libpod-<id>, .../<id> */
static void container_id(const char *cg, char out[65])
{
	size_t run = 0;

	out[0] = 0;
	for (const char *p = cg;; p++) {
		bool hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');

		if (hex) {
			run++;
			continue;
		}
		if (run == 64) {
			memcpy(out, p - 64, 64);
			out[64] = 0;
		}
		run = 0;
		if (!*p)
			return;
	}
}

/* the slot of pid; a new one is filled, then published */
static struct mproc *proc_slot(const struct lt_exec *e)
{
	uint32_t n = M.nprocs;
	struct mproc *p;
	const char *cmdline = NULL, *cgroup = e->container;
	char path[64];
	FILE *f;

	if (M.last < (int)n && M.procs[M.last].pid == e->pid)
		return &M.procs[M.last];
	for (uint32_t i = 0; i < n; i++)
		if (M.procs[i].pid == e->pid)
			return &M.procs[M.last = i];
	if (n == METRICS_MAX_PROCS)
		return &M.procs[METRICS_MAX_PROCS];
	p = &M.procs[n];
	p->pid = e->pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", e->pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(p->comm, sizeof(p->comm), f))
			p->comm[strcspn(p->comm, "\n")] = 0;
		fclose(f);
	}
	if (!cgroup)	/* -a tags executions with it; -p and -- CMD do not */
		proc_describe(NULL, e->pid, &cmdline, &cgroup);
	if (cgroup) {
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
		container_id(cgroup, p->container);
	}
	__atomic_store_n(&M.nprocs, n + 1, __ATOMIC_RELEASE);
	M.last = n;
	return p;
}

void metrics_exec(const struct lt_exec *e)
{
	uint64_t calls = 0;
	struct mproc *p;

	if (!M.on)
		return;
	for (const struct lt_node *n = e->root; n; n = lt_node_preorder_next(e->root, n))
		calls++;
	if (calls && lt_node_synthetic_root(e->root))
		calls--;	/* "<thread>" is no call */
	p = proc_slot(e);
	ADD(M.execs, 1);
	ADD(M.calls, calls);
	ADD(p->execs, 1);
	ADD(p->calls, calls);
	if (!e->complete) {
		ADD(M.incomplete, 1);
		ADD(p->incomplete, 1);
	}
}

void metrics_live_call(void)
{
	if (M.on)
		ADD(M.calls, 1);
}

void metrics_lost(uint64_t total)
{
	if (M.on)
		__atomic_store_n(&M.lost, total, __ATOMIC_RELAXED);
}

void metrics_alert(const struct lt_exec *e, int rule_index)
{
	if (!M.on)
		return;
	if (rule_index >= 0 && rule_index < M.nrules)
		ADD(M.rules[rule_index].alerts, 1);
	ADD(proc_slot(e)->alerts, 1);
}

void metrics_alert_exec(bool dropped)
{
	if (!M.on)
		return;
	if (dropped)
		ADD(M.alert_exec_drops, 1);
	else
		ADD(M.alert_exec_runs, 1);
}

/* ------------------------------------------------ the exposition text */

/* a label value: backslash, quote and newline escaped (and control
 * characters left out) */
static void label(FILE *f, const char *name, const char *v, bool comma)
{
	fprintf(f, "%s%s=\"", comma ? "," : "", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*v >= 0x20)
			fputc(*v, f);
	}
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* per process: one series per published slot */
static void per_proc(FILE *f, const char *name, const char *help, size_t off)
{
	uint32_t n = __atomic_load_n(&M.nprocs, __ATOMIC_ACQUIRE);
	char pid[16];

	head(f, name, "counter", help);
	for (uint32_t i = 0; i <= n; i++) {
		struct mproc *p = &M.procs[i == n ? METRICS_MAX_PROCS : i];
		uint64_t v = __atomic_load_n((uint64_t *)((char *)p + off), __ATOMIC_RELAXED);

		if (i == n && !v)
			continue;	/* "other" only once used */
		snprintf(pid, sizeof(pid), "%d", p->pid);
		fprintf(f, "%s{", name);
		label(f, "pid", i == n ? "other" : pid, false);
		label(f, "comm", p->comm, true);
		label(f, "cgroup", p->cgroup, true);
		label(f, "container", p->container, true);
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

/* the body of GET /metrics (malloc'ed), or NULL */
static char *render(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	counter(f, "leaktrace_executions_total", "Executions finished (written to the trace).",
		GET(M.execs));
	counter(f, "leaktrace_incomplete_executions_total",
		"Executions finished incomplete (events lost, began before attach, cut short).",
		GET(M.incomplete));
	counter(f, "leaktrace_calls_total", "Python calls in the executions finished (in the live view: calls returned).", GET(M.calls));
	counter(f, "leaktrace_lost_events_total", "Probe events lost (ring buffer full).",
		GET(M.lost));
	head(f, "leaktrace_alerts_total", "counter", "Alerts per --rules rule (index, "
	     "observation kind, key).");
	for (int i = 0; i < M.nrules; i++) {
		char idx[16];

		snprintf(idx, sizeof(idx), "%d", i);
		fputs("leaktrace_alerts_total{", f);
		label(f, "rule", idx, false);
		label(f, "observation", M.rules[i].obs, true);
		label(f, "key", M.rules[i].key, true);
		fprintf(f, "} %llu\n", (unsigned long long)GET(M.rules[i].alerts));
	}
	counter(f, "leaktrace_alert_exec_runs_total", "--alert-exec commands started.",
		GET(M.alert_exec_runs));
	counter(f, "leaktrace_alert_exec_dropped_total",
		"--alert-exec commands dropped (queue full, or not run by the end).",
		GET(M.alert_exec_drops));
	per_proc(f, "leaktrace_process_executions_total", "Executions finished, per process.",
		 offsetof(struct mproc, execs));
	per_proc(f, "leaktrace_process_incomplete_executions_total",
		 "Executions finished incomplete, per process.", offsetof(struct mproc, incomplete));
	per_proc(f, "leaktrace_process_calls_total", "Python calls, per process.",
		 offsetof(struct mproc, calls));
	per_proc(f, "leaktrace_process_alerts_total", "Alerts, per process.",
		 offsetof(struct mproc, alerts));
	counter(f, "leaktrace_metrics_bad_requests_total",
		"Requests to this server answered with an error or timed out.", M.bad_requests);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---------------------------------------------------------- the server */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->len = c->outlen = c->outoff = 0;
	c->draining = false;
}

/* the whole answer for status into c->out; the connection is closed
 * once it is sent */
static void conn_answer(struct conn *c, int status)
{
	char *body = NULL, *out = NULL, *tmp = NULL;
	size_t blen = 0;
	int n;

	M.requests++;
	if (status == 200 && !(body = render(&blen)))
		status = 500;
	if (status != 200) {
		M.bad_requests++;
		n = asprintf(&body, "%s\n", lt_http_reason(status));
		blen = n < 0 ? 0 : (size_t)n;
		if (n < 0)
			body = NULL;
	}
	n = body ? asprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; "
			    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			    status, lt_http_reason(status), blen,
			    status == 405 ? "Allow: GET\r\n" : "") : -1;
	if (n >= 0 && !(tmp = realloc(out, n + blen)))
		free(out);
	out = tmp;
	if (n < 0 || !out) {
		free(body);
		conn_close(c);
		return;
	}
	memcpy(out + n, body, blen);
	free(body);
	c->out = out;
	c->outlen = n + blen;
	c->outoff = 0;
}

static void conn_read(struct conn *c)
{
	ssize_t n;
	int st;

	if (c->draining) {
		char junk[4096];

		n = recv(c->fd, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	n = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (n < 0)
		return;
	c->len += n;
	st = lt_http_parse(c->req, c->len);
	if (st)
		conn_answer(c, st);
}

static void conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->outoff += n;
	if (c->outoff == c->outlen) {
		uint64_t soon = now_ns() + METRICS_DRAIN_MS * 1000000ull;

		free(c->out);
		c->out = NULL;
		c->draining = true;
		shutdown(c->fd, SHUT_WR);
		if (soon < c->deadline)
			c->deadline = soon;
	}
}

static void conn_accept(void)
{
	struct conn *c = NULL, *oldest = NULL;
	int fd = accept4(M.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < METRICS_MAX_CONN && !c; i++) {
		if (M.conns[i].fd < 0)
			c = &M.conns[i];
		else if (!oldest || M.conns[i].deadline < oldest->deadline)
			oldest = &M.conns[i];
	}
	if (!c) {	/* all taken: the oldest goes, a slow client cannot hold them */
		if (!oldest->draining)
			M.bad_requests++;
		conn_close(oldest);
		c = oldest;
	}
	c->fd = fd;
	c->deadline = now_ns() + METRICS_CONN_TIMEOUT_MS * 1000000ull;
}

static void *serve(void *arg)
{
	prctl(PR_SET_NAME, "lt-metrics");
	for (;;) {
		struct pollfd pfd[METRICS_MAX_CONN + 2];
		int idx[METRICS_MAX_CONN], n = 0;
		uint64_t now;

		pfd[n++] = (struct pollfd){ .fd = M.wake[0], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = M.lfd, .events = POLLIN };
		for (int i = 0; i < METRICS_MAX_CONN; i++) {
			if (M.conns[i].fd < 0)
				continue;
			idx[n - 2] = i;
			pfd[n++] = (struct pollfd){ .fd = M.conns[i].fd,
						    .events = M.conns[i].out ? POLLOUT : POLLIN };
		}
		if (poll(pfd, n, 250) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;	/* metrics_close */
		for (int k = 2; k < n; k++) {
			struct conn *c = &M.conns[idx[k - 2]];

			if (!pfd[k].revents || c->fd != pfd[k].fd)
				continue;
			if (c->out)
				conn_write(c);
			else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(c);
		}
		now = now_ns();
		for (int i = 0; i < METRICS_MAX_CONN; i++) {
			if (M.conns[i].fd >= 0 && now > M.conns[i].deadline) {
				/* a slow or stuck client: no answer, just closed */
				if (!M.conns[i].draining)
					M.bad_requests++;
				conn_close(&M.conns[i]);
			}
		}
		if (pfd[1].revents & POLLIN)
			conn_accept();
	}
	return NULL;
}

/* -------------------------------------------------- open and close */

int metrics_parse_addr(const char *s, struct sockaddr_storage *ss, unsigned *salen)
{
	char host[64];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s) {
		lt_err("--metrics takes ADDR:PORT (e.g. 127.0.0.1:9100 or [::1]:9100), not '%s': "
		       "it binds only the address given", s);
		return -1;
	}
	hlen = colon - s;
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']') {
			lt_err("--metrics: bad IPv6 address in '%s' (write [ADDR]:PORT)", s);
			return -1;
		}
		h = s + 1;
		hlen -= 2;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 0 || port > 65535) {
		lt_err("--metrics: the port in '%s' must be a number from 0 to 65535", s);
		return -1;
	}
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*salen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*salen = sizeof(*a);
	}
	return 0;
bad:
	lt_err("--metrics: '%.*s' is no numeric IP address (names are not looked up)", (int)hlen, h);
	return -1;
}

int metrics_open(const char *addr, const struct lt_rules *rules)
{
	struct sockaddr_storage ss;
	unsigned salen;
	char shown[INET6_ADDRSTRLEN];
	sigset_t all, old;
	int one = 1, err = LT_EXIT_FAIL;

	if (metrics_parse_addr(addr, &ss, &salen))
		return LT_EXIT_USAGE;
	for (int i = 0; i < METRICS_MAX_CONN; i++)
		M.conns[i].fd = -1;
	M.conns_ready = true;
	if (rules && rules->n) {
		M.rules = calloc(rules->n, sizeof(*M.rules));
		if (!M.rules) {
			lt_err("out of memory");
			goto cleanup;
		}
		/* copies: the rules are freed on their own schedule */
		for (size_t i = 0; i < rules->n; i++) {
			snprintf(M.rules[i].obs, sizeof(M.rules[i].obs), "%s",
				 rules->v[i].obs >= 0 && rules->v[i].obs < LT_OBS_N ?
				 lt_obs_names[rules->v[i].obs] : "");
			snprintf(M.rules[i].key, sizeof(M.rules[i].key), "%s",
				 rules->v[i].key ? rules->v[i].key : "");
		}
		M.nrules = rules->n;
	}
	M.procs[METRICS_MAX_PROCS].pid = 0;
	M.lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (M.lfd < 0) {
		lt_err("--metrics %s: %s", addr, strerror(errno));
		goto cleanup;
	}
	setsockopt(M.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)	/* [::]:P is IPv6 only: exactly what was asked */
		setsockopt(M.lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(M.lfd, (struct sockaddr *)&ss, salen) || listen(M.lfd, 16)) {
		lt_err("--metrics %s: cannot listen there: %s", addr, strerror(errno));
		err = LT_EXIT_USAGE;
		goto cleanup;
	}
	if (getsockname(M.lfd, (struct sockaddr *)&ss, &(socklen_t){ sizeof(ss) }) == 0) {
		bool v6 = ss.ss_family == AF_INET6;
		void *a = v6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr :
			       (void *)&((struct sockaddr_in *)&ss)->sin_addr;
		unsigned port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				     ((struct sockaddr_in *)&ss)->sin_port);

		inet_ntop(ss.ss_family, a, shown, sizeof(shown));
		lt_err("metrics at http://%s%s%s:%u/metrics", v6 ? "[" : "", shown, v6 ? "]" : "",
		       port);
	}
	if (pipe2(M.wake, O_CLOEXEC)) {
		lt_err("--metrics: %s", strerror(errno));
		goto cleanup;
	}
	/* signals stay with the main thread (SIGINT ends the recording there) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&M.thr, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		lt_err("--metrics: cannot start its thread: %s", strerror(err));
		err = LT_EXIT_FAIL;
		goto cleanup;
	}
	M.thr_started = true;
	M.on = true;
	return 0;
cleanup:
	metrics_close();
	return err;
}

void metrics_close(void)
{
	if (M.thr_started) {
		if (write(M.wake[1], "x", 1) != 1)
			lt_warn("cannot stop the metrics thread");
		pthread_join(M.thr, NULL);
		M.thr_started = false;
	}
	M.on = false;
	for (int i = 0; M.conns_ready && i < METRICS_MAX_CONN; i++)
		conn_close(&M.conns[i]);
	for (int i = 0; i < 2; i++) {
		if (M.wake[i] >= 0)
			close(M.wake[i]);
		M.wake[i] = -1;
	}
	if (M.lfd >= 0)
		close(M.lfd);
	M.lfd = -1;
	free(M.rules);
	M.rules = NULL;
	M.nrules = 0;
}
