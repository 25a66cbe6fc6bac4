/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "pybuild/debug_offsets.h"
#include "pybuild/elf_util.h"
#include "pybuild/py_tables.h"
#include "pybuild/pybuild.h"
#include "pybuild/sites.h"

int py_minor(const char *version)
{
	int minor, n;
	char end;

	n = sscanf(version, "3.%d%c", &minor, &end);
	return n == 1 || (n == 2 && end == '.') ? minor : -1;
}

int py_version_of_file(const char *path, char *out, size_t n)
{
	char prefix[8];
	uint32_t v;	/* Py_Version (3.11+): PY_VERSION_HEX, low word first */

	if (!elf_symbol_bytes(path, "Py_Version", &v, sizeof(v)) && (v >> 24) == 3) {
		snprintf(out, n, "3.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff);
		return 0;
	}
	/* before 3.11 there is no Py_Version: the version string of
	 * Py_GetVersion ("3.10.13") stands alone in .rodata; the newest minor
	 * that has one wins (older numbers appear in messages, never
	 * NUL-delimited). 2.7 and 3.0-3.7 are found to be refused by name. */
	for (int minor = 10; minor >= 0; minor--) {
		snprintf(prefix, sizeof(prefix), "3.%d", minor);
		if (!elf_python_version(path, prefix, out, n))
			return 0;
	}
	return elf_python_version(path, "2.7", out, n);
}

int py_build_derive(const char *path, const char *version, struct py_build *b,
		    struct py_dbgoff_info *dbg, char *why, size_t n)
{
	int minor = py_minor(version), r;
	const struct py_offsets *table = py_table(minor);

	memset(b, 0, sizeof(*b));
	memset(dbg, 0, sizeof(*dbg));
	if (!table) {
		snprintf(why, n, "CPython %s is not supported (3.8 to 3.15 are)", version);
		return -1;
	}
	snprintf(b->version, sizeof(b->version), "3.%d", minor);
	if (minor >= 13) {
		r = py_debug_offsets_read(path, dbg, &b->off, why, n);
		if (r) {
			if (r == PY_DBGOFF_ABSENT)
				snprintf(why, n, "Py_Version says %s but _PyRuntime does not start "
					 "with _Py_DebugOffsets", version);
			return -1;
		}
		if (dbg->minor != minor) {
			snprintf(why, n, "_Py_DebugOffsets says 3.%d, Py_Version %s", dbg->minor,
				 version);
			return -1;
		}
		b->source = "its _Py_DebugOffsets and its minor version's table";
	} else {
		b->off = *table;
		b->source = "its minor version's table";
	}
	if (py_sites_find(path, minor, b, why, n))
		return -1;
	return 0;
}
