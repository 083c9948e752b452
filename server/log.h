/*
 * log.h - autobackupd's log: one line per event, "TIME PEER USER ACTION RESULT
 * detail", to stderr or syslog.  Callers never pass secrets; peer-supplied
 * strings are escaped so a hostile name cannot forge log lines.
 * Thread-safe: each line is formatted in a local buffer and written with one
 * write(2) (or one syslog(3) call).
 */
#ifndef ABS_LOG_H
#define ABS_LOG_H

enum log_level {
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
	LOG_LVL_SECURITY,	/* refused logins, hostile names */
};

/* Choose the sink before threads start (0 = stderr, 1 = syslog). */
void log_init(int use_syslog, int verbose);

/*
 * Log one event.  peer and user may be NULL ("-").  fmt describes the
 * result and details.
 */
void log_event(enum log_level level, const char *peer, const char *user,
    const char *action, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * The interactive console (console_edit.c) takes the lines that would go to
 * stderr, so they never land in the middle of what the admin types: fn gets
 * each line (with its newline) instead of stderr; NULL gives them back to
 * stderr.  fn runs on the logging thread and must not block or log.
 */
typedef void (*log_display_fn)(const char *line, size_t len);
void log_set_display(log_display_fn fn);

/*
 * The newest n (at most LOG_RECENT_MAX) lines logged, oldest first, each
 * ending in a newline, into out (cut to outsz - 1 bytes, NUL-terminated);
 * for the console's `log [N]`.  Returns out.
 */
#define LOG_RECENT_MAX 200
char *log_recent(unsigned n, char *out, size_t outsz);

/* abk_escape_name (src/strutil.h) with spaces escaped too: one log field. */
void log_escape(const char *s, size_t len, char *out, size_t outsz);

#endif
