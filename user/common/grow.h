/* SPDX-License-Identifier: MIT */
/*
 * A growable array's push: the one idiom of the recorder's stacks and
 * lists (an array pointer, a count and a capacity, doubled when full).
 */
#ifndef LT_GROW_H
#define LT_GROW_H

#include <stdlib.h>
#include <string.h>

/*
 * One more element at the end of the array whose pointer is at arrp (a
 * T **, passed as void *), n of *cap elements of elem bytes used: the
 * array is doubled (first elements at first) when full. Returns the new
 * element, zeroed and counted in *n; NULL if out of memory, nothing
 * changed. The pointer is read and written with memcpy: any T * works.
 */
static inline void *lt_push(void *arrp, size_t *n, size_t *cap, size_t elem, size_t first)
{
	char *v;

	memcpy(&v, arrp, sizeof(v));
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : first;
		char *nv = realloc(v, c * elem);

		if (!nv)
			return NULL;
		v = nv;
		memcpy(arrp, &v, sizeof(v));
		*cap = c;
	}
	return memset(v + elem * (*n)++, 0, elem);
}

#endif
