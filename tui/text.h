/*
 * text.h - small text helpers of the interactive front end, free of curses
 * and threads: names escaped for messages, ages and dates, and the sorted
 * string sets that hold marks.  Safe on any thread.
 */
#ifndef ABT_TEXT_H
#define ABT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* s with control bytes as \n, \t, \xNN and '\\' doubled; cut to fit out. */
void text_escape(const char *s, char *out, size_t outsz);
/* "5 s ago", "2 h ago", "3 d ago"; "never" for t <= 0. */
const char *text_age(int64_t t, char *buf, size_t bufsz);
/* "2026-11-30 14:05" in local time. */
const char *text_date(int64_t t, char *buf, size_t bufsz);
/* The last component of path (no trailing slashes) into buf. */
const char *text_base(const char *path, char *buf, size_t bufsz);

/* Sorted sets of strdup'd strings: membership, toggle (1 = now in), add, clear.
 * Return -1 when out of memory. */
int strset_has(char *const *v, size_t n, const char *s);
int strset_toggle(char ***v, size_t *n, const char *s);
int strset_add(char ***v, size_t *n, const char *s);
void strset_clear(char ***v, size_t *n);

#endif
