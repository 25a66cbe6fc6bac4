/* SPDX-License-Identifier: MIT */
/* CPython str storage (PEP 393 code units) to UTF-8. */
#include <string.h>
#include "pybuild/pystr.h"

static int put_utf8(uint32_t c, char *o)
{
	if (c >= 0xd800 && c <= 0xdfff)	/* lone surrogate: not encodable */
		c = 0xfffd;
	if (c < 0x80) {
		o[0] = c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = 0xc0 | (c >> 6);
		o[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		o[0] = 0xe0 | (c >> 12);
		o[1] = 0x80 | ((c >> 6) & 0x3f);
		o[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	if (c > 0x10ffff)
		return put_utf8(0xfffd, o);
	o[0] = 0xf0 | (c >> 18);
	o[1] = 0x80 | ((c >> 12) & 0x3f);
	o[2] = 0x80 | ((c >> 6) & 0x3f);
	o[3] = 0x80 | (c & 0x3f);
	return 4;
}

size_t lt_units_to_utf8(const void *units, size_t nbytes, int kind, char *out, size_t cap,
			size_t max_bytes, int *cut)
{
	const unsigned char *u = units;
	size_t n = 0, i = 0;

	*cut = 0;
	if (max_bytes > cap - 1)
		max_bytes = cap - 1;
	while (i < nbytes) {
		char buf[4];
		uint32_t c;
		int len, step;

		if (kind == 0) {	/* UTF-8: copy whole sequences */
			c = u[i];
			step = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
			if (i + step > nbytes)
				break;
			memcpy(buf, u + i, step);
			len = step;
		} else {
			step = kind;
			if (i + step > nbytes)
				break;
			c = kind == 1 ? u[i] : kind == 2 ? (uint32_t)(u[i] | u[i + 1] << 8) :
				(uint32_t)(u[i] | u[i + 1] << 8 | u[i + 2] << 16 | (uint32_t)u[i + 3] << 24);
			len = put_utf8(c, buf);
		}
		if (n + len > max_bytes) {
			*cut = 1;
			break;
		}
		memcpy(out + n, buf, len);
		n += len;
		i += step;
	}
	out[n] = 0;
	return n;
}


/* one UTF-8 character at *p (advanced); -1 if it is not one */
static long utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	int n = s[0] < 0x80 ? 0 : (s[0] & 0xe0) == 0xc0 ? 1 : (s[0] & 0xf0) == 0xe0 ? 2 :
		(s[0] & 0xf8) == 0xf0 ? 3 : -1;
	long c;

	if (n < 0)
		return -1;
	c = n ? s[0] & (0x3f >> n) : s[0];
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

size_t lt_utf8_to_units(const char *utf8, int kind, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t n = 0;

	while (*p) {
		long c = utf8_next(&p);

		if (c < 0 || (kind == 1 && c > 0xff) || (kind == 2 && c > 0xffff) ||
		    n + kind > cap)
			return 0;
		for (int i = 0; i < kind; i++)
			out[n++] = (char)(c >> (8 * i));
	}
	return n;
}
