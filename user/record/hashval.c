/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "common/err.h"
#include "record/hashval.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t siphash24(const void *data, size_t len, const uint8_t key[16])
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void lt_hash_value(struct lt_value *v, const uint8_t key[16], struct lt_arena *a)
{
	char buf[64], *text = buf;
	size_t n, tl = strlen(v->type);

	switch (v->kind) {
	case LT_V_INT:
		n = snprintf(buf, sizeof(buf), "%lld", (long long)v->u.i);
		break;
	case LT_V_FLOAT:
		n = snprintf(buf, sizeof(buf), "%.17g", v->u.f);
		break;
	case LT_V_BOOL:
		n = snprintf(buf, sizeof(buf), "%d", v->u.b);
		break;
	case LT_V_BIGINT:
	case LT_V_STR:
		text = (char *)v->s;
		n = v->slen;
		break;
	default:
		return;
	}
	/* "type\0text": the type is part of what is compared */
	{
		char tmp[4096 + 256];
		uint64_t h;

		if (tl + 1 + n > sizeof(tmp))
			n = sizeof(tmp) - tl - 1;
		memcpy(tmp, v->type, tl);
		tmp[tl] = 0;
		memcpy(tmp + tl + 1, text, n);
		h = siphash24(tmp, tl + 1 + n, key);
		snprintf(buf, sizeof(buf), "h:%016llx", (unsigned long long)h);
	}
	v->kind = LT_V_HASH;
	v->slen = strlen(buf);
	v->s = lt_arena_strndup(a, buf, v->slen);
}

int lt_hash_key_load(const char *path, uint8_t key[16])
{
	int fd;

	if (!path) {
		if (getrandom(key, 16, 0) != 16) {
			lt_err("no random key: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, key, 16);

		close(fd);
		if (n != 16) {
			lt_err("%s: a hash key file holds 16 bytes", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT || getrandom(key, 16, 0) != 16) {
		lt_err("%s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, 16) != 16) {
		lt_err("cannot create the key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	lt_err("created hash key %s (keep it to compare later recordings)", path);
	return 0;
}

void lt_hash_key_fingerprint(const uint8_t key[16], char out[17])
{
	static const char text[] = "leaktrace hash-key fingerprint";

	snprintf(out, 17, "%016llx", (unsigned long long)siphash24(text, sizeof(text) - 1, key));
}
