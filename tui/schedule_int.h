/*
 * schedule_int.h - shared by schedule.c and schedule_sys.c.
 */
#ifndef ABT_SCHEDULE_INT_H
#define ABT_SCHEDULE_INT_H

#include <stddef.h>
#include <sys/types.h>

#define NAME_MAX_LEN 64

/* $XDG_<kind>_HOME or ~/<fallback>, plus sub; 0 or -1 (message printed). */
int sched_xdg_path(const char *env, const char *fallback, const char *sub, char *out,
    size_t outsz);
/* mkdir -p of path (of its folder when file); 0 or -1. */
int sched_mkdirs(const char *path, int file);
/* Write text to path through a temporary file and a rename; 0 or -1. */
int sched_write_file(const char *path, const char *text, mode_t mode);
/* Run words (PATH lookup), stdin from in, stdout into out; exit status or -1. */
int sched_run(const char *const words[], const char *in, char *out, size_t outsz);
/* Letters, digits, - _ . and at most NAME_MAX_LEN. */
int sched_valid_name(const char *s);
int sched_user_systemd_works(void);
int sched_crontab_read(char *buf, size_t bufsz);
int sched_crontab_write(const char *text);
/* Remove the lines of tab that end with marker (in place). */
void sched_crontab_drop(char *tab, const char *marker);

#endif
