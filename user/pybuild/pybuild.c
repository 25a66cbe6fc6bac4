/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include "pybuild/pybuild.h"
#include "py_offsets_gen.h"	/* generated: PY_BUILDS_GENERATED */
#include "pybuild/py_builds_known.h"	/* checked in: PY_BUILDS_KNOWN */

static const struct py_build builds[] = {
	PY_BUILDS_GENERATED
	PY_BUILDS_KNOWN
};

const struct py_build *py_build_find(const char *build_id)
{
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++)
		if (!strcmp(builds[i].build_id, build_id))
			return &builds[i];
	return NULL;
}

const struct py_build *py_build_at(int i)
{
	return i >= 0 && (size_t)i < sizeof(builds) / sizeof(builds[0]) ? &builds[i] : NULL;
}

int py_minor(const char *version)
{
	int minor;
	char end;

	return sscanf(version, "3.%d%c", &minor, &end) == 1 ? minor : -1;
}

int py_op_yield_value(const char *version)
{
	return py_minor(version) == 11 ? 86 : -1;
}
