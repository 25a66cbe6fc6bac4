/* SPDX-License-Identifier: MIT */
/*
 * The processes around a recording: the command we start (`-- CMD`),
 * what /proc tells about a target (command line, cgroup, pid namespace,
 * perf trampoline), whether it still runs, and -a's processes that call
 * execve. No state of the traced program is kept here (rebuild.c keeps
 * it); only the queue of execs still to look at.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/err.h"
#include "record/record.h"

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

bool process_alive(int pid, bool is_child, int *status)
{
	/* a reaped child is gone; a zombie child is gone too (and reaped
	 * here: its wait status goes to *status, the only chance to see it) */
	if (is_child) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid && status)
			*status = st;
		return r == 0;
	}
	return kill(pid, 0) == 0 || errno == EPERM;
}

int32_t ns_id(int pid, int tid)
{
	char path[64], line[256];
	int32_t inner = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');
			int32_t outer = atoi(line + 6);

			inner = last ? atoi(last + 1) : 0;
			if (inner == outer)
				inner = 0;
			break;
		}
	}
	fclose(f);
	return inner;
}

/* a /proc/PID/<what> file of NUL-separated strings into buf (NUL-ended);
 * returns its length, 0 if it cannot be read */
static size_t read_proc_strings(int pid, const char *what, char *buf, size_t n)
{
	char path[64];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	f = fopen(path, "re");
	if (!f)
		return 0;
	len = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[len] = 0;
	return len;
}

bool env_flag_on(int pid, const char *name)
{
	size_t l = strlen(name), n;
	char buf[65536];
	const char *v;

	if (!pid)
		return (v = getenv(name)) && *v && strcmp(v, "0");
	n = read_proc_strings(pid, "environ", buf, sizeof(buf));
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (!strncmp(buf + i, name, l) && buf[i + l] == '=' && buf[i + l + 1] &&
		    strcmp(buf + i + l + 1, "0"))
			return true;
	return false;
}

bool has_perf_trampoline(int pid)
{
	char buf[65536];
	size_t n;
	bool yes = env_flag_on(pid, "PYTHONPERFSUPPORT");

	n = read_proc_strings(pid, "cmdline", buf, sizeof(buf));
	for (size_t i = 0; i + 1 < n; i += strlen(buf + i) + 1)
		if (!strcmp(buf + i, "-X") && !strcmp(buf + i + strlen(buf + i) + 1, "perf"))
			yes = true;
	return yes;
}

int read_cmdline(int pid, char *buf, size_t n, const char **argv, int maxargs)
{
	size_t len = read_proc_strings(pid, "cmdline", buf, n);
	int argc = 0;

	for (size_t i = 0; i < len && argc < maxargs; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	return argc;
}

void proc_describe(void *arg, uint32_t pid, const char **cmdline, const char **cgroup)
{
	char path[64], buf[4096];
	size_t n;
	FILE *f;

	n = read_proc_strings(pid, "cmdline", buf, sizeof(buf));
	for (size_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	if (n)
		*cmdline = lt_intern(buf);
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if ((f = fopen(path, "re"))) {
		/* cgroup v2: "0::/path"; the root cgroup is not worth a field */
		while (fgets(buf, sizeof(buf), f)) {
			char *p = strstr(buf, "::");

			if (p && strcmp(p + 2, "/\n")) {
				p[2 + strcspn(p + 2, "\n")] = 0;
				*cgroup = lt_intern(p + 2);
			}
		}
		fclose(f);
	}
}

pid_t spawn_waiting(char **cmd, bool perf_trampoline, int *release_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;
		const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		/* run the command as the user who invoked sudo, as perf does */
		if (gid && setgid(atoi(gid)))
			_exit(126);
		if (uid && setuid(atoi(uid)))
			_exit(126);
		/* 3.12+ inline Python-to-Python calls unless an eval-frame
		 * hook is set; CPython's perf trampoline is one */
		if (perf_trampoline)
			setenv("PYTHONPERFSUPPORT", "1", 1);
		execvp(cmd[0], cmd);
		lt_err("cannot run %s: %s", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}

/* -a: a process that called execve, looked at when due */
struct pending_exec {
	int pid, tries;
	uint64_t due;
};

static struct pending_exec queue[64];
static int nqueued;

void follow_exec_queue(int pid)
{
	/* a full queue drops the exec: -a then misses a build started in
	 * the same instant as 64 others, not a call of a traced one */
	if (nqueued < (int)(sizeof(queue) / sizeof(queue[0])))
		queue[nqueued++] = (struct pending_exec){ pid, 0, mono_ns() + 20000000ull };
}

void follow_exec_poll(int (*try)(void *arg, int pid), void *arg)
{
	uint64_t now = mono_ns();

	for (int i = 0; i < nqueued; i++) {
		struct pending_exec *p = &queue[i];

		if (p->due > now)
			continue;
		/* not a python (yet): the loader may map libpython soon */
		if (try(arg, p->pid) < 0 && ++p->tries < 3) {
			p->due = now + 50000000ull;
			continue;
		}
		queue[i--] = queue[--nqueued];
	}
}
