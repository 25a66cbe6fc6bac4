/*
 * py_sites_find (user/pybuild/sites.h) against DWARF: for every CPython
 * build on this machine with debug info, the sites found in the binary
 * alone must equal those gen_offsets.py finds with gdb and DWARF labels
 * (tests/unit/sites_expected.py prints them), in the original file and in
 * a copy stripped of every symbol table but .dynsym and of its build-id.
 *
 * Expected values are computed at test time by sites_expected.py; for
 * Debian sid/trixie roots (tools/mkroots.sh, /var/tmp/leaktrace-roots),
 * whose LTO DWARF takes gdb a minute per build, they are checked in below
 * with the build-id they were computed for, and recomputed when the root
 * holds another build and its -dbg files are there. A build absent from
 * the machine is a SKIP line.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "pybuild/sites.h"

#define ROOTS "/var/tmp/leaktrace-roots"
#define PYENV "/root/.pyenv/versions"

struct build {
	const char *name, *path;
	int minor;
	const char *debugdir;	/* gdb's debug-file-directory, or NULL */
	/* checked-in expectation, with the build-id it holds for */
	const char *build_id, *expected;
	FILE *helper;		/* sites_expected.py running */
	char want[1024];
	int helper_rc;
};

#define SID_313 \
	"resume 0x4403fe frame 5 instr 254\n" \
	"resume 0x4403cc frame 5 instr 254\n" \
	"resume 0x44dd6b frame 5 instr 254\n" \
	"ret 0x5d4d44 frame 13 kind clear aux 14\n" \
	"ret 0x43da47 frame 5 kind yield_sp aux 2\n" \
	"ret 0x44d3a9 frame 5 kind yield_sp aux 2\n" \
	"code_free 0x5ee2e4 obj 14\n" \
	"type_free 0x69b3b0 obj 14\n" \
	"type_rename 0x7b7900 obj 14\n"
#define SID_314 \
	"resume 0x443db5 frame 5 instr 7\n" \
	"resume 0x443ca7 frame 5 instr 7\n" \
	"resume 0x44e36b frame 5 instr 7\n" \
	"ret 0x5afc24 frame 13 kind clear aux 14\n" \
	"ret 0x43fefe frame 5 kind yield_sp aux 6 prev 11\n" \
	"ret 0x44e43d frame 5 kind yield_sp aux 6\n" \
	"clear_ra 0x44635b return_value\n" \
	"code_free 0x5c9494 obj 14\n" \
	"type_free 0x6827a0 obj 14\n" \
	"type_rename 0x7e9000 obj 14\n"
#define SID_315 \
	"resume 0x445203 frame 5 instr 7\n" \
	"resume 0x4457e9 frame 5 instr 7\n" \
	"resume 0x44d123 frame 5 instr 7\n" \
	"ret 0x5e25d4 frame 13 kind clear aux 14\n" \
	"ret 0x442ca2 frame 5 kind yield_sp aux 6\n" \
	"ret 0x44f66f frame 5 kind yield_sp aux 6\n" \
	"clear_ra 0x445744 return_value\n" \
	"code_free 0x602854 obj 14\n" \
	"type_free 0x6cbf14 obj 14\n" \
	"type_rename 0x83c334 obj 14\n"
#define TRIXIE_313 \
	"resume 0x56504b frame 5 instr 254\n" \
	"resume 0x5613f6 frame 5 instr 254\n" \
	"resume 0x5687fe frame 5 instr 4\n" \
	"ret 0x580cb4 frame 13 kind clear aux 14\n" \
	"ret 0x56407d frame 5 kind yield_sp aux 0\n" \
	"ret 0x56822d frame 5 kind yield_sp aux 0\n" \
	"code_free 0x595944 obj 14\n" \
	"type_free 0x612c34 obj 14\n" \
	"type_rename 0x6f9b44 obj 14\n"

/*
 * Produced by (ROOT, MINOR per entry):
 *   tests/unit/sites_expected.py $ROOT/usr/bin/python3.MINOR MINOR \
 *     $ROOT-dbg/usr/lib/debug
 */
static struct build builds[] = {
	{ "debian-3.11", "/usr/bin/python3.11", 11 },
	{ "pyenv-3.8", PYENV "/3.8.18/lib/libpython3.8.so.1.0", 8 },
	{ "pyenv-3.9", PYENV "/3.9.18/lib/libpython3.9.so.1.0", 9 },
	{ "pyenv-3.10", PYENV "/3.10.13/lib/libpython3.10.so.1.0", 10 },
	{ "pyenv-3.11", PYENV "/3.11.7/lib/libpython3.11.so.1.0", 11 },
	{ "pyenv-3.12", PYENV "/3.12.1/lib/libpython3.12.so.1.0", 12 },
	{ "pyenv-3.13", PYENV "/3.13.0/lib/libpython3.13.so.1.0", 13 },
	{ "sid-3.13", ROOTS "/sid/usr/bin/python3.13", 13, ROOTS "/sid-dbg/usr/lib/debug",
	  "f9de766c3a031e0782095d175ff04e394a2744d2", SID_313 },
	{ "sid-3.14", ROOTS "/sid/usr/bin/python3.14", 14, ROOTS "/sid-dbg/usr/lib/debug",
	  "cccda113240f3ba4c016991793a62dc0cfe01613", SID_314 },
	{ "sid-3.15", ROOTS "/sid/usr/bin/python3.15", 15, ROOTS "/sid-dbg/usr/lib/debug",
	  "d41ac9e28ff414f10df5da23fb051683a7b4adcf", SID_315 },
	{ "trixie-3.13", ROOTS "/trixie/usr/bin/python3.13", 13, ROOTS "/trixie-dbg/usr/lib/debug",
	  "7e8d5f6d0cd6cd1e9bff2a775c11d398cecca758", TRIXIE_313 },
};
#define NBUILDS (int)(sizeof(builds) / sizeof(builds[0]))

/* in the build tree: other jobs clean /tmp (tests/run.sh) */
static char tmpdir[] = ".output/test_sites.XXXXXX";

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* the ELF build-id note as hex, "" when there is none */
static void build_id(const char *path, char *hex, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e = NULL;
	size_t nph;

	hex[0] = '\0';
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_getphdrnum(e, &nph))
		goto cleanup;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)d->d_buf + noff, "GNU", 4))
				continue;
			for (size_t k = 0; k < nh.n_descsz && 2 * k + 3 <= len; k++)
				sprintf(hex + 2 * k, "%02x", ((unsigned char *)d->d_buf)[doff + k]);
			goto cleanup;
		}
	}
cleanup:
	if (e)
		elf_end(e);
	close(fd);
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* start gen_offsets.py's side for every build present, all at once (the
 * gdb runs are most of this test's time) */
static void start_helpers(void)
{
	char cmd[1024], id[128];

	for (int i = 0; i < NBUILDS; i++) {
		struct build *b = &builds[i];

		if (access(b->path, R_OK))
			continue;
		if (b->expected) {
			build_id(b->path, id, sizeof(id));
			if (!strcmp(id, b->build_id)) {
				snprintf(b->want, sizeof(b->want), "%s", b->expected);
				continue;
			}
			if (access(b->debugdir, R_OK))
				continue;	/* another build, no DWARF: SKIP */
		}
		snprintf(cmd, sizeof(cmd), "tests/unit/sites_expected.py '%s' %d %s%s%s", b->path,
			 b->minor, b->debugdir ? "'" : "", b->debugdir ? b->debugdir : "",
			 b->debugdir ? "'" : "");
		b->helper = popen(cmd, "r");
	}
}

static bool wait_helper(struct build *b)
{
	size_t n;

	if (!b->helper)
		return b->want[0] != '\0';
	n = fread(b->want, 1, sizeof(b->want) - 1, b->helper);
	b->want[n] = '\0';
	b->helper_rc = pclose(b->helper);
	b->helper = NULL;
	return WIFEXITED(b->helper_rc) && WEXITSTATUS(b->helper_rc) == 0 && n;
}

/* py_sites_find on path, as text; false with the reason in got */
static bool found(const char *path, int minor, char *got, size_t len, double *ms)
{
	struct py_build pb = { 0 };
	char why[256];
	double t0 = now_ms();
	int rc = py_sites_find(path, minor, &pb, why, sizeof(why));

	*ms = now_ms() - t0;
	if (rc) {
		snprintf(got, len, "py_sites_find failed: %s\n", why);
		return false;
	}
	py_sites_describe(&pb, got, len);
	return true;
}

static void compare(const char *what, const char *path, const struct build *b)
{
	char got[1024];
	double ms;
	bool ok = found(path, b->minor, got, sizeof(got), &ms);

	printf("  %s (%s): %.1f ms\n", what, path, ms);
	if (!ok || strcmp(got, b->want)) {
		printf("  %s: expected (DWARF):\n%s  found:\n%s", what, b->want, got);
		CHECK(!"sites differ from DWARF's");
	}
}

static void sites_equal_dwarf_in_every_build(void)
{
	char copy[512], cmd[2048], id[128];
	int tested = 0;

	start_helpers();
	for (int i = 0; i < NBUILDS; i++) {
		struct build *b = &builds[i];

		if (access(b->path, R_OK)) {
			printf("SKIP %s: %s is not on this machine\n", b->name, b->path);
			continue;
		}
		if (!wait_helper(b)) {
			if (b->expected)
				printf("SKIP %s: not the build-id the expectation was made for, and "
				       "no debug info in %s\n", b->name, b->debugdir);
			else
				printf("SKIP %s: gen_offsets.py found no debug info (status %d)\n",
				       b->name, b->helper_rc);
			continue;
		}
		compare(b->name, b->path, b);
		/* the same file without symbol tables but .dynsym, nor build-id */
		snprintf(copy, sizeof(copy), "%s/%s", tmpdir, b->name);
		snprintf(cmd, sizeof(cmd), "strip --strip-all -R .note.gnu.build-id -o '%s' '%s'",
			 copy, b->path);
		CHECK(run(cmd) == 0);
		build_id(copy, id, sizeof(id));
		CHECK(id[0] == '\0');
		compare("  stripped copy", copy, b);
		tested++;
	}
	CHECK(tested > 0);
}

/* what a user can give that is not a CPython of that version: one line,
 * never a site */
static void refuses_what_it_cannot_read(void)
{
	struct py_build pb = { 0 };
	char why[256];

	CHECK(py_sites_find("/nonexistent/python3.12", 12, &pb, why, sizeof(why)) == -1);
	CHECK(strstr(why, "cannot open") != NULL);
	CHECK(py_sites_find("/etc/hostname", 12, &pb, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not an ELF file") != NULL);
	CHECK(py_sites_find("/bin/true", 12, &pb, why, sizeof(why)) == -1);
	CHECK(strstr(why, "_PyEval_EvalFrameDefault") != NULL);
	CHECK(py_sites_find("/bin/true", 7, &pb, why, sizeof(why)) == -1);
	CHECK(strstr(why, "3.7") != NULL);
	CHECK(!strchr(why, '\n'));
	CHECK(pb.nresume == 0 && pb.nret == 0 && pb.evalframe.vaddr == 0);
}

/* the wrong minor version's opcode map: a refusal, not sites in other
 * handlers */
static void refuses_another_versions_opcodes(void)
{
	static const struct { const char *path; int real, claimed; } cases[] = {
		{ PYENV "/3.12.1/lib/libpython3.12.so.1.0", 12, 13 },
		{ PYENV "/3.12.1/lib/libpython3.12.so.1.0", 12, 11 },
		{ PYENV "/3.13.0/lib/libpython3.13.so.1.0", 13, 12 },
		{ PYENV "/3.13.0/lib/libpython3.13.so.1.0", 13, 14 },
		{ "/usr/bin/python3.11", 11, 12 },
		{ ROOTS "/sid/usr/bin/python3.14", 14, 15 },
		{ ROOTS "/sid/usr/bin/python3.15", 15, 14 },
	};
	int tested = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct py_build pb = { 0 };
		char why[256];

		if (access(cases[i].path, R_OK))
			continue;
		if (py_sites_find(cases[i].path, cases[i].claimed, &pb, why, sizeof(why)) != -1) {
			printf("  %s as 3.%d: sites found\n", cases[i].path, cases[i].claimed);
			CHECK(!"another version's opcode map gave sites");
		} else {
			printf("  %s as 3.%d: %s\n", cases[i].path, cases[i].claimed, why);
		}
		tested++;
	}
	if (!tested)
		printf("SKIP refuses_another_versions_opcodes: no build here\n");
}

static void jit_compiled_in_only_where_it_is(void)
{
	static const struct { const char *path; int jit; } cases[] = {
		{ "/usr/bin/python3.11", 0 },
		{ PYENV "/3.13.0/lib/libpython3.13.so.1.0", 0 },
		{ ROOTS "/trixie/usr/bin/python3.13", 0 },
		/* Debian sid: --enable-experimental-jit=yes-off */
		{ ROOTS "/sid/usr/bin/python3.14", 1 },
		{ ROOTS "/sid/usr/bin/python3.15", 1 },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (access(cases[i].path, R_OK)) {
			printf("SKIP jit %s: not on this machine\n", cases[i].path);
			continue;
		}
		CHECK(py_jit_compiled(cases[i].path, why, sizeof(why)) == cases[i].jit);
	}
	CHECK(py_jit_compiled("/nonexistent", why, sizeof(why)) == -1);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("FAIL test_sites: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	RUN(sites_equal_dwarf_in_every_build);
	RUN(refuses_what_it_cannot_read);
	RUN(refuses_another_versions_opcodes);
	RUN(jit_compiled_in_only_where_it_is);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		run(cmd);
	}
	UNIT_EXIT();
}
