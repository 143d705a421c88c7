/*
 * log.h: the logging API (after OpenBSD's log.c). Every line carries a
 * subsystem token. Foreground (-d) logs to stderr, otherwise syslog.
 * Thread-safe: each call writes one line atomically.
 */
#ifndef FABMON_LOG_H
#define FABMON_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

/* Call once at start-up from main, before any thread starts. */
void log_init(int foreground, int level);
void log_setlevel(int level);

/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warnx(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Rate limiting for hot paths: at most `burst` lines per `period_ms`; the
 * lines suppressed in between are counted and reported by the next line
 * that gets through. One struct per call site, owned by one thread.
 */
struct log_ratelimit {
	uint32_t period_ms;
	uint32_t burst;
	uint64_t window_start;
	uint32_t in_window;
	uint64_t suppressed;
};
#define LOG_RATELIMIT_INIT(period, b)                                          \
	{                                                                      \
		(period), (b), 0, 0, 0                                         \
	}

void log_warnx_rl(struct log_ratelimit *, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
