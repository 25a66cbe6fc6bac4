// SPDX-License-Identifier: MIT
/* The request parser of `record --metrics` (contract in http_req.h). */
#include <string.h>
#include "common/http_req.h"

/* the end of the line starting at p (its '\n'), or NULL if not there yet */
static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', end - p);
}

/* a line's length without its CR LF (or LF) */
static size_t line_len(const char *p, const char *nl)
{
	return nl > p && nl[-1] == '\r' ? (size_t)(nl - 1 - p) : (size_t)(nl - p);
}

static int is_tchar(unsigned char c)
{
	/* RFC 9110 token characters */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value": a token, a colon, visible characters, spaces and tabs */
static int header_ok(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (!i || i == n || p[i] != ':')
		return 0;
	for (i++; i < n; i++) {
		unsigned char c = p[i];

		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return 0;
	}
	return 1;
}

/* the request line: 200, 404, 405 or 400 */
static int request_line(const char *p, size_t n)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *tgt;
	size_t mlen, tlen, vlen;

	if (!sp1)
		return 400;
	mlen = sp1 - p;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)p[i]))
			return 400;
	tgt = sp1 + 1;
	sp2 = memchr(tgt, ' ', p + n - tgt);
	if (!mlen || !sp2)
		return 400;
	tlen = sp2 - tgt;
	vlen = p + n - (sp2 + 1);
	if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return 400;
	if (!tlen)
		return 400;
	for (size_t i = 0; i < tlen; i++) {
		unsigned char c = tgt[i];

		if (c <= 0x20 || c >= 0x7f)
			return 400;
	}
	if (tgt[0] != '/' && !(tlen == 1 && tgt[0] == '*'))
		return 400;
	if (mlen != 3 || memcmp(p, "GET", 3))
		return 405;
	if (tlen != 8 || memcmp(tgt, "/metrics", 8))
		return 404;
	return 200;
}

int lt_http_parse(const char *buf, size_t len)
{
	const char *end = buf + (len > LT_HTTP_REQ_MAX ? LT_HTTP_REQ_MAX : len);
	const char *p = buf, *nl;
	int status;

	/* a NUL or a stray CR anywhere is malformed: no need to wait */
	for (const char *q = buf; q < end; q++)
		if (!*q || (*q == '\r' && q + 1 < end && q[1] != '\n'))
			return 400;
	nl = line_end(p, end);
	if (!nl)
		return len >= LT_HTTP_REQ_MAX ? 431 : 0;
	status = request_line(p, line_len(p, nl));
	if (status == 400)
		return 400;
	for (p = nl + 1; (nl = line_end(p, end)); p = nl + 1) {
		size_t n = line_len(p, nl);

		if (!n)
			return status;	/* the empty line: headers complete */
		if (!header_ok(p, n))
			return 400;
	}
	return len >= LT_HTTP_REQ_MAX ? 431 : 0;
}

const char *lt_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default: return "Bad Request";
	}
}
