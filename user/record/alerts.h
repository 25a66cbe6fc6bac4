/* SPDX-License-Identifier: MIT */
/*
 * Where `record --rules` alerts go besides the ALERT line (consume.c):
 *
 *   --alert-json FILE   one JSON object per alert and line (FILE appended
 *                       to, opened anew on SIGHUP; - = stdout, then in
 *                       place of the ALERT lines), for log pipelines:
 *                       FORMAT.md §5
 *   --alert-exec CMD    sh -c CMD per alert with the line in
 *                       $LEAKTRACE_ALERT and the object in
 *                       $LEAKTRACE_ALERT_JSON, run by a thread of its own
 *                       one at a time from a queue of ALERTQ_LEN alerts:
 *                       the consumer never forks or waits; an alert that
 *                       finds the queue full is dropped and counted
 *                       (metrics, the summary at the end)
 *
 * Called from the consumer thread only; alerts_close from the main thread
 * at the end (the queue is worked off for up to ALERTQ_DRAIN_S seconds).
 */
#ifndef LT_ALERTS_H
#define LT_ALERTS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ALERTQ_LEN	64
#define ALERTQ_DRAIN_S	10

struct lt_exec;
struct lt_rule;

/* before anything runs: the JSON file opened, the exec thread started;
 * an exit status */
int alerts_open(const char *json_path, const char *exec_cmd);
/* one alert: rule r matched e at time ts; line is the ALERT line */
void alerts_emit(const struct lt_exec *e, const struct lt_rule *r, const char *line,
		 const struct timespec *ts);
/* work off the queue, stop the thread, close the file; one warning line
 * with the commands dropped, if any. 0, or -1 if writing the file failed */
int alerts_close(void);
/* SIGHUP (log rotation): --alert-json FILE is opened anew, by its name */
void alerts_reopen(void);
/* --alert-json - : the JSON objects take the place of the ALERT lines */
bool alerts_json_on_stdout(void);

#endif
