/* SPDX-License-Identifier: MIT */
/*
 * record --metrics ADDR:PORT: counters in Prometheus' text format at
 * http://ADDR:PORT/metrics, served from a thread of its own.
 *
 * The consumer (the main thread) only adds to counters with atomic
 * operations and never waits on the server; the server thread reads them
 * atomically when a scrape comes. Everything the server sends is counts
 * and names: rule indices, observation kinds, rule keys (function names),
 * pid, comm and cgroup; never a traced value or a command line.
 *
 * The network surface is kept minimal because the recorder runs as root
 * and reads process memory: it binds exactly the numeric address it is
 * given (no default address, no name lookup), answers GET /metrics and
 * nothing else (404, 405, 400, 431; common/http_req.h), reads at most
 * LT_HTTP_REQ_MAX bytes per request, gives each connection
 * METRICS_CONN_TIMEOUT_MS for the request and the answer together, and
 * holds at most METRICS_MAX_CONN connections (a new one closes the oldest).
 *
 * Every hook is a no-op while no server is open.
 */
#ifndef LT_METRICS_H
#define LT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#define METRICS_MAX_CONN	8
#define METRICS_CONN_TIMEOUT_MS	5000
/* after the answer, what the client still sends is read and dropped for
 * this long at most, until it closes */
#define METRICS_DRAIN_MS	1000
/* processes with their own series; later ones are counted under pid="other" */
#define METRICS_MAX_PROCS	256

struct lt_exec;
struct lt_rules;

/* "127.0.0.1:9100" or "[::1]:9100" (port 0: any free port) into a socket
 * address; 0, or -1 after one line saying why */
struct sockaddr_storage;
int metrics_parse_addr(const char *s, struct sockaddr_storage *sa, unsigned *salen);
/* bind and listen on addr (before anything is attached), then serve from
 * a new thread; rules (may be NULL) name the alert series. Prints the
 * address served on stderr. An exit status: LT_EXIT_USAGE when the
 * address cannot be bound (taken, not ours). */
int metrics_open(const char *addr, const struct lt_rules *rules);
/* stop serving and free everything (idempotent) */
void metrics_close(void);

/* an execution finished (before it is freed) */
void metrics_exec(const struct lt_exec *e);
/* the live view (no executions are built): one call returned */
void metrics_live_call(void);
/* the events lost so far (the consumer's running total) */
void metrics_lost(uint64_t total);
/* rule rule_index matched e */
void metrics_alert(const struct lt_exec *e, int rule_index);
/* an --alert-exec command was started, or dropped (queue full, or left
 * at the end) */
void metrics_alert_exec(bool dropped);

#endif
