/*
 * log.c - line-oriented event log for autobackupd.
 *
 * The sink choice is written once by main() before any thread starts and
 * only read afterwards, so it needs no lock.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "strutil.h"

static int log_use_syslog;	/* set once in log_init, read-only after */

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
	if (log_use_syslog) {
		int prio = level == LOG_LVL_ERROR ? LOG_ERR :
		    level == LOG_LVL_INFO ? LOG_INFO : LOG_WARNING;

		syslog(prio, "%s", line + strlen(when) + 1);
		return;
	}
	n = (int)strlen(line);
	if ((size_t)n < sizeof(line) - 1)
		line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
