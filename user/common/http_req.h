/* SPDX-License-Identifier: MIT */
/*
 * The one HTTP request `record --metrics` understands: a pure parser over
 * the bytes received so far, no I/O, no allocation (fuzzed by
 * tests/fuzz/fuzz_http.c).
 *
 *   int st = lt_http_parse(buf, len);
 *     0    the request is not complete yet: read more (up to LT_HTTP_REQ_MAX)
 *     200  "GET /metrics HTTP/1.x" with well-formed header lines
 *     404  a well-formed GET for any other target
 *     405  a well-formed request with another method
 *     400  anything malformed (answered at once; the rest is not read)
 *     431  LT_HTTP_REQ_MAX bytes without the end of the headers
 *
 * The request line is "METHOD SP TARGET SP HTTP/1.0|1.1", lines end in
 * CRLF or LF, the headers end with an empty line. A body is never read:
 * the server answers and closes.
 */
#ifndef LT_HTTP_REQ_H
#define LT_HTTP_REQ_H

#include <stddef.h>

/* request line and headers together, at most */
#define LT_HTTP_REQ_MAX 4096

int lt_http_parse(const char *buf, size_t len);
/* the reason phrase of a status lt_http_parse returns ("OK", ...) */
const char *lt_http_reason(int status);

#endif
