/*
 * strutil.h - small parsing and formatting helpers shared by both programs:
 * sizes with units ("10G"), unsigned numbers, human-readable byte counts,
 * reading a secret from a file.
 */
#ifndef ABK_STRUTIL_H
#define ABK_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"

/* "123", "10K", "1.5G", "2T" (binary units, B optional) -> bytes. */
int abk_parse_size(const char *s, uint64_t *out);
/* Decimal unsigned in [min, max]. */
int abk_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "1.2 GiB" style into buf. Returns buf. */
char *abk_format_size(uint64_t bytes, char *buf, size_t bufsz);

/*
 * Read a secret from the first line of path (trailing CR/LF removed) into
 * out[outsz].  Refuses an empty secret or one that does not fit.
 */
int abk_read_secret_file(const char *path, char *out, size_t outsz, abk_err *err);

/*
 * Prompt on /dev/tty with echo off and read one line into out[outsz].
 * ABK_E_USAGE when there is no terminal.
 */
int abk_read_secret_tty(const char *prompt, char *out, size_t outsz, abk_err *err);

/* Overwrite a secret buffer in a way the compiler cannot drop. */
void abk_wipe(void *p, size_t n);

#endif
