/* SPDX-License-Identifier: MIT */
/*
 * The processes around a recording: the command we start (`-- CMD`),
 * what /proc tells about a target (command line, cgroup, pid namespace,
 * perf trampoline), whether it still runs, and -a's processes that call
 * execve. No state of the traced program is kept here (rebuild.c keeps
 * it); only the queue of execs still to look at.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common/err.h"
#include "common/u64map.h"
#include "leaktrace.h"
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

const char *env_value(int pid, const char *name, char *buf, size_t size)
{
	size_t l = strlen(name), n;

	if (!pid)
		return getenv(name);
	n = read_proc_strings(pid, "environ", buf, size);
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (!strncmp(buf + i, name, l) && buf[i + l] == '=')
			return buf + i + l + 1;
	return NULL;
}

bool env_flag_on(int pid, const char *name)
{
	char buf[65536];
	const char *v = env_value(pid, name, buf, sizeof(buf));

	return v && *v && strcmp(v, "0");
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

/* command lines read when a process exec'ed or forked (pid + 1 ->
 * interned string), until it exits */
static struct u64map cmdlines;

/* NUL-separated arguments -> one interned line; NULL if empty */
static const char *join_args(char *buf, size_t n)
{
	while (n && !buf[n - 1])
		n--;
	if (!n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	return lt_intern(buf);
}

void proc_cmdline(int pid, const char *buf, size_t n)
{
	char line[LT_CMDLINE_MAX + 1];
	const char *s;

	memcpy(line, buf, n);
	if ((s = join_args(line, n)))
		u64map_put(&cmdlines, (uint64_t)pid + 1, (void *)s);
}

void proc_forked(int child, int parent)
{
	const char *s = u64map_get(&cmdlines, (uint64_t)parent + 1);
	char buf[4096];
	size_t n;

	/* the child's own /proc first (it may have exec'ed already: the
	 * CMDLINE record then follows and replaces it), else the parent's */
	if (!s && ((n = read_proc_strings(child, "cmdline", buf, sizeof(buf))) ||
		   (n = read_proc_strings(parent, "cmdline", buf, sizeof(buf)))))
		s = join_args(buf, n);
	if (s)
		u64map_put(&cmdlines, (uint64_t)child + 1, (void *)s);
}

void proc_forget(int pid)
{
	u64map_del(&cmdlines, (uint64_t)pid + 1);
}

void proc_describe(void *arg, uint32_t pid, const char **cmdline, const char **cgroup)
{
	const char *known = u64map_get(&cmdlines, (uint64_t)pid + 1);
	char path[64], buf[4096];
	size_t n;
	FILE *f;

	n = read_proc_strings(pid, "cmdline", buf, sizeof(buf));
	if (n)
		*cmdline = join_args(buf, n);
	else if (known)		/* gone already */
		*cmdline = known;
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

/*
 * What the command we start gets is what leaktrace itself got from its
 * caller, not what leaktrace changed since: the dispositions it ignored
 * (SIGPIPE, SIGCHLD for --alert-exec) and the mask are saved here first
 * thing, and every descriptor leaktrace opened is closed. The command
 * then behaves as it would have untraced (FORMAT.md "target untouched").
 */
#define SPAWN_MAX_FD	1024
static sigset_t start_mask;
static uint64_t start_ign;	/* bit sig - 1: ignored at start */

/* the kernel's rt_sigaction, not glibc's: glibc refuses its own signals
 * (32, 33: thread cancellation, setxid), which a caller may still have
 * ignored and the command must get ignored too. Async-signal-safe. */
struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static int k_sigaction(int sig, const struct k_sigaction *act, struct k_sigaction *old)
{
	return (int)syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}
static unsigned char start_fd_open[SPAWN_MAX_FD / 8];	/* inheritable at start */
static int start_fd_max = 2;

void spawn_save_start(void)
{
	struct k_sigaction ka;

	sigprocmask(SIG_SETMASK, NULL, &start_mask);
	start_ign = 0;
	for (int sig = 1; sig <= 64; sig++)
		if (!k_sigaction(sig, NULL, &ka) && ka.handler == SIG_IGN)
			start_ign |= 1ULL << (sig - 1);
	/* descriptors our caller passed down (beyond 0-2) stay open for the
	 * command, as they would without us; close-on-exec ones never reach it */
	for (int fd = 3; fd < SPAWN_MAX_FD; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC)) {
			start_fd_open[fd / 8] |= 1 << (fd % 8);
			start_fd_max = fd;
		}
	}
}

/* the child after fork: only async-signal-safe calls (the writer thread
 * may hold any lock); close what leaktrace opened since the start */
static void child_close_fds(void)
{
	int lo = 3;

	for (int fd = 3; fd <= start_fd_max; fd++) {
		if (!(start_fd_open[fd / 8] & (1 << (fd % 8))))
			continue;
		if (fd > lo)
			close_range(lo, fd - 1, 0);
		lo = fd + 1;
	}
	close_range(lo, ~0U, 0);
}

static void child_restore_signals(void)
{
	struct k_sigaction ka;

	memset(&ka, 0, sizeof(ka));
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ka.handler = start_ign & (1ULL << (sig - 1)) ? SIG_IGN : SIG_DFL;
		k_sigaction(sig, &ka, NULL);
	}
	sigprocmask(SIG_SETMASK, &start_mask, NULL);
}

pid_t spawn_waiting(char **cmd, bool perf_trampoline, int *release_fd)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	gid_t groups[256];
	int ngroups = -1;	/* < 0: keep ours (not dropping to a user) */
	int p[2];
	pid_t pid;

	/* the invoking user's supplementary groups, looked up here: NSS is
	 * not for a forked child of a threaded process */
	if (uid && gid) {
		const char *name = getenv("SUDO_USER");
		struct passwd *pw = name ? NULL : getpwuid(atoi(uid));

		if (!name && pw)
			name = pw->pw_name;
		ngroups = sizeof(groups) / sizeof(groups[0]);
		if (!name || getgrouplist(name, atoi(gid), groups, &ngroups) < 0) {
			/* unknown user or too many groups: only its own group,
			 * never root's */
			groups[0] = atoi(gid);
			ngroups = 1;
		}
	}
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		child_restore_signals();
		/* run the command as the user who invoked sudo, as perf does:
		 * groups, then gid, then uid (after setuid we could not) */
		if (ngroups >= 0 && setgroups(ngroups, groups))
			_exit(126);
		if (gid && setgid(atoi(gid)))
			_exit(126);
		if (uid && setuid(atoi(uid)))
			_exit(126);
		/* 3.12+ inline Python-to-Python calls unless an eval-frame
		 * hook is set; CPython's perf trampoline is one */
		if (perf_trampoline)
			setenv("PYTHONPERFSUPPORT", "1", 1);
		child_close_fds();
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

static struct pending_exec queue[512];
static int nqueued;

void follow_exec_queue(int pid)
{
	/* a full queue drops the exec: -a then misses a build started in
	 * the same instant as 512 others, not a call of a traced one */
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
		/* not a python (yet): the loader may map libpython soon, and
		 * on a loaded machine soon may be a while (up to a second) */
		if (try(arg, p->pid) < 0 && ++p->tries < 20) {
			p->due = now + 50000000ull;
			continue;
		}
		queue[i--] = queue[--nqueued];
	}
}

/* following a process tree: the processes of it alive (pid + 1 -> 1) */
static struct u64map tree;
static int ntree;

void tree_add(int pid)
{
	if (!u64map_get(&tree, (uint64_t)pid + 1) && !u64map_put(&tree, (uint64_t)pid + 1, (void *)1))
		ntree++;
}

void tree_gone(int pid)
{
	if (u64map_del(&tree, (uint64_t)pid + 1))
		ntree--;
}

int tree_count(void)
{
	return ntree;
}

void tree_each(void (*fn)(void *arg, int pid), void *arg)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&tree, &i, &k, &v);)
		fn(arg, (int)(k - 1));
}

int tree_check(void)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&tree, &i, &k, &v);) {
		if (kill((int)(k - 1), 0) && errno == ESRCH) {
			tree_gone((int)(k - 1));
			i = 0;	/* the map changed under the walk: start over */
		}
	}
	return ntree;
}

char *proc_stat(int pid, char *buf, size_t n)
{
	char path[64], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (fgets(buf, n, f))
		p = strrchr(buf, ')');
	fclose(f);
	return p ? p + 1 : NULL;
}

/* the parent of pid; -1 if gone */
static int parent_of(int pid)
{
	char buf[512], *p = proc_stat(pid, buf, sizeof(buf));
	int ppid;

	return p && sscanf(p, " %*c %d", &ppid) == 1 ? ppid : -1;
}

long proc_age_ms(int pid)
{
	char buf[1024], *p = proc_stat(pid, buf, sizeof(buf));
	unsigned long long start;
	struct timespec now;
	long ms;

	/* field 22, starttime: the boot clock's ticks at its start */
	if (!p || sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			 "%*d %*d %llu", &start) != 1 || clock_gettime(CLOCK_BOOTTIME, &now))
		return -1;
	ms = (long)(now.tv_sec * 1000LL + now.tv_nsec / 1000000 -
		    (long long)(start * 1000 / sysconf(_SC_CLK_TCK)));
	return ms < 0 ? 0 : ms;	/* (ticks round down) */
}

int descendants(int root, bool (*want)(int pid), int *out, int max)
{
	struct u64map parent = { 0 }, in = { 0 };
	struct dirent *d;
	int n = 0, grew;
	uint64_t k;
	void *v;
	DIR *dir = opendir("/proc");

	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		int pid = atoi(d->d_name), ppid;

		if (pid > 0 && (ppid = parent_of(pid)) > 0)
			u64map_put(&parent, (uint64_t)pid + 1, (void *)(uintptr_t)(ppid + 1));
	}
	closedir(dir);
	u64map_put(&in, (uint64_t)root + 1, (void *)1);
	do {
		grew = 0;
		for (size_t i = 0; u64map_next(&parent, &i, &k, &v);) {
			if (u64map_get(&in, k) || !u64map_get(&in, (uint64_t)(uintptr_t)v))
				continue;
			u64map_put(&in, k, (void *)1);
			grew = 1;
			if (n < max && want((int)(k - 1)))
				out[n++] = (int)(k - 1);
		}
	} while (grew);
	u64map_free(&parent);
	u64map_free(&in);
	return n;
}

int tree_scan(int root, int map_fd, void (*added)(void *arg, int pid), void *arg)
{
	struct u64map parent = { 0 };
	struct dirent *d;
	int nadded = 0, grew;
	uint32_t one = 2;	/* FOLLOWED_RUNNING (leaktrace.bpf.c) */
	uint64_t k;
	void *v;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -1;
	/* each process's parent, then the tree grown from root until it
	 * stops growing (a pid may be listed before its parent) */
	while ((d = readdir(dir))) {
		int pid = atoi(d->d_name), ppid;

		if (pid > 0 && (ppid = parent_of(pid)) > 0)
			u64map_put(&parent, (uint64_t)pid + 1, (void *)(uintptr_t)(ppid + 1));
	}
	closedir(dir);
	tree_add(root);
	do {
		grew = 0;
		for (size_t i = 0; u64map_next(&parent, &i, &k, &v);) {
			int pid = (int)(k - 1), ppid = (int)((uintptr_t)v - 1);
			uint32_t key = pid;

			if (u64map_get(&tree, k) || !u64map_get(&tree, (uint64_t)ppid + 1))
				continue;
			tree_add(pid);
			if (map_fd >= 0)
				bpf_map_update_elem(map_fd, &key, &one, BPF_ANY);
			if (added)
				added(arg, pid);
			nadded++;
			grew = 1;
		}
	} while (grew);
	u64map_free(&parent);
	return nadded;
}
