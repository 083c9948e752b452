/*
 * log.c - line-oriented event log for autobackupd.
 *
 * The sink choice is written once by main() before any thread starts and
 * only read afterwards, so it needs no lock.  The console's display hook
 * and the ring of recent lines (`log [N]`) are shared: an atomic pointer
 * and a mutex.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "strutil.h"

static int log_use_syslog;	/* set once in log_init, read-only after */
static log_display_fn log_display;	/* __atomic access */

#define LOG_RING_LINE 512
static pthread_mutex_t log_ring_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_ring[LOG_RECENT_MAX][LOG_RING_LINE];
static unsigned log_ring_next, log_ring_count;

void
log_set_display(log_display_fn fn)
{
	__atomic_store_n(&log_display, fn, __ATOMIC_RELEASE);
}

static void
log_ring_add(const char *line)
{
	size_t len = strnlen(line, LOG_RING_LINE - 1);	/* longer lines are cut */

	pthread_mutex_lock(&log_ring_lock);
	memcpy(log_ring[log_ring_next], line, len);
	log_ring[log_ring_next][len] = '\0';
	log_ring_next = (log_ring_next + 1) % LOG_RECENT_MAX;
	if (log_ring_count < LOG_RECENT_MAX)
		log_ring_count++;
	pthread_mutex_unlock(&log_ring_lock);
}

char *
log_recent(unsigned n, char *out, size_t outsz)
{
	size_t len = 0;

	if (outsz == 0)
		return out;
	out[0] = '\0';
	pthread_mutex_lock(&log_ring_lock);
	if (n > log_ring_count)
		n = log_ring_count;
	for (unsigned i = 0; i < n && len + 1 < outsz; i++) {
		unsigned at = (log_ring_next + LOG_RECENT_MAX - n + i) % LOG_RECENT_MAX;
		int w = snprintf(out + len, outsz - len, "%s\n", log_ring[at]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	pthread_mutex_unlock(&log_ring_lock);
	return out;
}

void
log_init(int use_syslog, int verbose)
{
	(void)verbose;
	log_use_syslog = use_syslog;
	if (use_syslog)
		openlog("autobackupd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Log fields are separated by spaces: escape them too (abk_escape_name). */
void
log_escape(const char *s, size_t len, char *out, size_t outsz)
{
	abk_escape_name(s, len, out, outsz, ABK_ESC_SPACE);
}

static const char *
log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_WARN:
		return "warn";
	case LOG_LVL_ERROR:
		return "error";
	case LOG_LVL_SECURITY:
		return "security";
	default:
		return "info";
	}
}

void
log_event(enum log_level level, const char *peer, const char *user,
    const char *action, const char *fmt, ...)
{
	char line[2048], when[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	log_display_fn display;
	int n;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s peer=%s user=%s %s: ", when,
	    log_level_name(level), peer ? peer : "-", user ? user : "-", action);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	log_ring_add(line);
	if (log_use_syslog) {
		int prio = level == LOG_LVL_ERROR ? LOG_ERR :
		    level == LOG_LVL_INFO ? LOG_INFO : LOG_WARNING;

		syslog(prio, "%s", line + strlen(when) + 1);
		return;
	}
	n = (int)strlen(line);
	if ((size_t)n < sizeof(line) - 1)
		line[n++] = '\n';
	display = __atomic_load_n(&log_display, __ATOMIC_ACQUIRE);
	if (display != NULL)
		display(line, (size_t)n);
	else
		(void)!write(STDERR_FILENO, line, (size_t)n);
}
