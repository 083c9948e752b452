/*
 * strutil.h - small parsing and formatting helpers shared by both programs:
 * sizes with units ("10G"), unsigned numbers, human-readable byte counts,
 * reading a secret from a file, the one escaper for untrusted names, base names.
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

/*
 * The one printable form of an untrusted name (file names, user names, peer
 * messages) for terminals, messages and logs.  Printable ASCII and well-formed
 * UTF-8 (except the C1 controls U+0080..U+009F) are copied; control bytes,
 * DEL, backslash and every byte of an invalid or truncated UTF-8 sequence
 * become \xNN, so the output is unambiguous and cannot move a cursor.
 * ABK_ESC_SPACE also escapes ' ' (space-separated log fields), ABK_ESC_QUOTE
 * also escapes '"' (names shown inside quotes).  When out is too small the
 * output ends with "..." and is never cut inside an escape or a multibyte
 * character.  out is always NUL-terminated (when outsz > 0).  Returns out.
 */
#define ABK_ESC_SPACE 0x1u
#define ABK_ESC_QUOTE 0x2u
const char *abk_escape_name(const char *s, size_t len, char *out, size_t outsz,
    unsigned flags);

/* Last component of a path ("a/b" -> "b"); path itself when it has no slash
 * or ends with one. */
const char *abk_base_name(const char *path);

/*
 * Decode one UTF-8 character at s (n bytes left) into *cp: its length (1 to
 * 4), or 0 when it is malformed, overlong, a surrogate, over U+10FFFF or
 * cut short (RFC 3629).  The one decoder of the tree.
 */
size_t abk_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
