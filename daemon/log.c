/*
 * log.c: logging to stderr (foreground) or syslog. Any thread may log;
 * stdio's own locking keeps each line whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "util.h"

static int log_foreground = 1;
static int log_level = LOG_LVL_INFO;

void
log_init(int foreground, int level)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog("fabmond", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	log_level = level;
}

static void
vlog(int prio, const char *sub, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	if (log_foreground) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];
		const char *lvl = prio == LOG_WARNING ? "warn"
		    : prio == LOG_INFO                ? "info"
		                                      : "debug";

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", tbuf,
		    ts.tv_nsec / 1000000, lvl, sub, msg);
	} else {
		syslog(prio, "%s: %s", sub, msg);
	}
	errno = saved;
}

#define LOG_FN(name, prio, lvl, we)                                            \
	void name(const char *sub, const char *fmt, ...)                       \
	{                                                                      \
		va_list ap;                                                    \
		if (log_level < (lvl))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog((prio), sub, fmt, ap, (we));                              \
		va_end(ap);                                                    \
	}

LOG_FN(log_warn, LOG_WARNING, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_WARNING, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_INFO, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, LOG_LVL_DEBUG, 0)

void
log_warnx_rl(struct log_ratelimit *rl, const char *sub, const char *fmt, ...)
{
	uint64_t now = now_mono_ms();
	char msg[900];
	va_list ap;

	if (now - rl->window_start >= rl->period_ms) {
		rl->window_start = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->in_window++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rl->suppressed) {
		log_warnx(sub, "%s (%llu similar lines suppressed)", msg,
		    (unsigned long long)rl->suppressed);
		rl->suppressed = 0;
	} else {
		log_warnx(sub, "%s", msg);
	}
}
