/*
 * util.c: aborting allocators, clocks and formatting helpers. Thread-safe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "fabmon: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xaligned(size_t align, size_t n)
{
	/* aligned_alloc wants a size that is a multiple of align */
	void *p =
	    aligned_alloc(align, n ? (n + align - 1) / align * align : align);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xalloc_big(size_t align, size_t *n)
{
	void *p;

	if (*n < HUGE_MIN)
		return xaligned(align, *n);
	*n = (*n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	p = xaligned(align > HUGE_PAGE ? align : HUGE_PAGE, *n);
	(void)madvise(p, *n, MADV_HUGEPAGE);
	return p;
}

void *
xmalloc_huge(size_t n)
{
	void *p = xmalloc(n);
	uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) &
	    ~(uintptr_t)(HUGE_PAGE - 1),
	          b = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);

	if (n >= HUGE_MIN && b > a)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom(strlen(s) + 1);
	return p;
}

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
thread_role(const char *name, int nice_inc)
{
	char buf[16];
	id_t tid = (id_t)gettid();
	int cur;

	snprintf(buf, sizeof(buf), "%s", name);
	(void)pthread_setname_np(pthread_self(), buf);
	if (nice_inc == 0)
		return;
	errno = 0;
	cur = getpriority(PRIO_PROCESS, tid);
	if (cur == -1 && errno != 0)
		return;
	(void)setpriority(PRIO_PROCESS, tid, cur + nice_inc);
}

uint64_t
now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t
now_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

uint64_t
now_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

char *
addr_fmt(char *buf, size_t len, int family, const uint8_t *addr)
{
	if (family == 4) {
		if (inet_ntop(AF_INET, addr, buf, len) == NULL)
			snprintf(buf, len, "?");
	} else if (family == 6) {
		if (inet_ntop(AF_INET6, addr, buf, len) == NULL)
			snprintf(buf, len, "?");
	} else {
		snprintf(buf, len, "unknown");
	}
	return buf;
}

char *
str_escape(char *dst, size_t dstlen, const uint8_t *src, size_t srclen)
{
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < srclen; i++) {
		uint8_t c = src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			snprintf(dst + o, dstlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	dst[o] = '\0';
	return dst;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
size_t
utf8_seq_len(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

const char *
str_snippet(char *buf, size_t buflen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < 40 && o + 5 < buflen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(
			    buf + o, buflen - o, "\\x%02x", ch);
	}
	if (n > 40 && o + 4 <= buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

/*
 * SipHash-1-3 with a secret key: keys come from packets, and a hash an
 * attacker can predict would let him build long chains.
 */
uint64_t
siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		/* host order: only this process compares the hashes */
		memcpy(&m, p + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
mumhash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	return mumhash_s(k0, k1, mumhash_seed(k0, k1), data, len);
}
