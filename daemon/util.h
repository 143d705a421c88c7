/*
 * util.h: allocation that aborts on out-of-memory, and small helpers
 * shared by every module. Any thread may call these.
 */
#ifndef FABMON_UTIL_H
#define FABMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* The x* allocators never return NULL: out of memory aborts (STYLE). */
void *xmalloc(size_t);
/* align: a power of two, at least sizeof(void *); free() frees it */
void *xaligned(size_t align, size_t n);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
/*
 * A big array read at random (the flow tables' entries and index slots).
 * From HUGE_MIN bytes on, *n is rounded up to whole transparent huge
 * pages, aligned to one and marked MADV_HUGEPAGE, so that its random reads
 * need fewer TLB entries and shorter page walks (engine_bench, 10 flows:
 * +6 % against only the whole huge pages inside). The caller may use the
 * rounding: *n is the size allocated. Smaller: xaligned(align, *n). The kernel
 * may still say no (THP "never"): a hint. free() frees it.
 */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN  (HUGE_PAGE / 2)
void *xalloc_big(size_t align, size_t *n);
/*
 * xmalloc(n), and from HUGE_MIN bytes on the whole huge pages inside it
 * marked MADV_HUGEPAGE: for blocks made afresh at every push period (the
 * snapshots), a page fault for each 2 MiB of the middle instead of each
 * 4 KiB, with no rounding (two generations of them are alive at once).
 */
void *xmalloc_huge(size_t n);
char *xstrdup(const char *);

/*
 * The nice increment of the threads that do bulk work (the store, the
 * history, the JSON flow log, the topology): on a busy CPU they yield to
 * the ingest thread, which loses datagrams when it stops for longer than
 * its receive buffer lasts (tens of milliseconds at full rate), and to
 * the service thread (the API and the push). They still get about a
 * tenth of a CPU they contend for (CFS weights 110 against 1024).
 */
#define THREAD_NICE_BULK 10

/*
 * Name the calling thread (what top -H, ps -L and perf show; at most 15
 * bytes are kept) and raise its nice value by nice_inc (0: unchanged).
 * Linux gives each thread a nice value of its own. Failures are ignored:
 * a name and a priority are hints.
 */
void thread_role(const char *name, int nice_inc);

/* Monotonic and wall-clock time in milliseconds; monotonic in microseconds
 * (to time work: a push, the ingest thread's pauses). */
uint64_t now_mono_ms(void);
uint64_t now_wall_ms(void);
uint64_t now_mono_us(void);

/*
 * Format an address of family 4 or 6 (16 bytes, IPv4 in the first 4) into
 * buf, which must hold at least 46 bytes. Returns buf.
 */
char *addr_fmt(char *buf, size_t len, int family, const uint8_t *addr);

/*
 * Escape a string that came from the network so that it can be logged:
 * non-printable bytes become \xNN. Returns dst, always NUL-terminated.
 */
char *str_escape(char *dst, size_t dstlen, const uint8_t *src, size_t srclen);

/*
 * A token quoted in an error message: its first 40 bytes, those outside
 * printable ASCII as \xNN, "..." if cut. buf needs >= 5 bytes. Returns
 * buf. (Backslashes stay, so that a regex reads as written.)
 */
const char *str_snippet(char *buf, size_t buflen, const char *s, size_t n);

/*
 * The length (1..4) of the valid UTF-8 sequence at s[0..n), n >= 1, or 0
 * if it is not one (RFC 3629: no overlong forms, no surrogates).
 */
size_t utf8_seq_len(const uint8_t *s, size_t n);

/*
 * SipHash-1-3 of data under the key (k0, k1). Hash tables whose keys come
 * from packets use it with a secret key, so that a sender cannot build
 * long chains. Any thread.
 */
uint64_t siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);

/*
 * A keyed hash of data for the flow tables' keys, 3 to 4 times faster than
 * siphash13() on their 10 to 40 bytes: 64-bit multiplies folded (high
 * half XOR low half), 16 bytes a step, the length and (k0, k1) mixed in at
 * both ends, as wyhash does. Not a MAC: its claim is only that a sender
 * who does not know the key cannot aim keys at one bucket, the property
 * the tables need (Go's maps rely on the same kind of hash). Any thread.
 */
uint64_t mumhash(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* The 128-bit product of a and b, its halves XORed. */
static inline uint64_t
mum_(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
mum_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8); /* host order: only this process compares */
	return v;
}

static inline uint64_t
mum_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * The same, inlined, with the part that depends on the key alone,
 * mumhash_seed(k0, k1), computed once by the caller (the flow tables, for
 * every key): mumhash_s(k0, k1, mumhash_seed(k0, k1), d, n) ==
 * mumhash(k0, k1, d, n).
 */
static inline uint64_t
mumhash_seed(uint64_t k0, uint64_t k1)
{
	return k0 ^
	    mum_(k0 ^ 0xa0761d6478bd642full, k1 ^ 0xe7037ed1a0b428dbull);
}

static inline uint64_t
mumhash_s(uint64_t k0, uint64_t k1, uint64_t s, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t a, b;

	if (len <= 16) {
		if (len >= 4) {
			/* two 4-byte reads from each end, overlapping when
			 * len < 16: together they cover every byte */
			size_t q = (len >> 3) << 2;

			a = mum_rd32(p) << 32 | mum_rd32(p + q);
			b = mum_rd32(p + len - 4) << 32 |
			    mum_rd32(p + len - 4 - q);
		} else if (len > 0) {
			a = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 |
			    p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t n = len;

		for (; n > 16; n -= 16, p += 16)
			s = mum_(mum_rd64(p) ^ k1, mum_rd64(p + 8) ^ s);
		/* the last 16 bytes, overlapping the last step's */
		a = mum_rd64(p + n - 16);
		b = mum_rd64(p + n - 8);
	}
	return mum_(mum_(a ^ k1, b ^ s) ^ (uint64_t)len,
	    s ^ k0 ^ 0x8ebc6af09c88c6e3ull);
}

#endif
