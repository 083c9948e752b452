/*
 * strutil.c - parsing and formatting helpers (no global state).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "strutil.h"

int
abk_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return ABK_E_USAGE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return ABK_E_USAGE;
	*out = v;
	return ABK_OK;
}

int
abk_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	char *end;
	double v;
	uint64_t mult = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return ABK_E_USAGE;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || v < 0)
		return ABK_E_USAGE;
	if (*end != '\0') {
		const char *u = strchr(units, *end >= 'a' ? *end - 32 : *end);

		if (u == NULL || *end == '\0')
			return ABK_E_USAGE;
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		end++;
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0')
			return ABK_E_USAGE;
	}
	if (v * (double)mult >= 18446744073709551615.0)
		return ABK_E_USAGE;
	*out = (uint64_t)(v * (double)mult);
	return ABK_OK;
}

char *
abk_format_size(uint64_t bytes, char *buf, size_t bufsz)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, bufsz, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, bufsz, "%.1f %s", v, units[u]);
	return buf;
}

void
abk_wipe(void *p, size_t n)
{
	volatile unsigned char *q = p;

	while (n-- > 0)
		*q++ = 0;
}

static void
strip_newline(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

int
abk_read_secret_file(const char *path, char *out, size_t outsz, abk_err *err)
{
	FILE *f = fopen(path, "r");
	int rc = ABK_OK;

	if (f == NULL)
		return abk_err_set(err, ABK_E_USAGE, "cannot read %s: %s", path, strerror(errno));
	if (fgets(out, (int)outsz, f) == NULL) {
		rc = abk_err_set(err, ABK_E_USAGE, "%s is empty", path);
	} else if (strchr(out, '\n') == NULL && !feof(f)) {
		rc = abk_err_set(err, ABK_E_USAGE, "%s: secret longer than %zu bytes", path,
		    outsz - 1);
	} else {
		strip_newline(out);
		if (out[0] == '\0')
			rc = abk_err_set(err, ABK_E_USAGE, "%s: the first line is empty", path);
	}
	fclose(f);
	if (rc != ABK_OK)
		abk_wipe(out, outsz);
	return rc;
}

int
abk_read_secret_tty(const char *prompt, char *out, size_t outsz, abk_err *err)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	int rc = ABK_OK;

	if (fd < 0)
		return abk_err_set(err, ABK_E_USAGE,
		    "no terminal to ask for a secret: give it in a file instead");
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return abk_err_set(err, ABK_E_USAGE, "cannot turn terminal echo off");
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	(void)!write(fd, prompt, strlen(prompt));
	tcsetattr(fd, TCSAFLUSH, &quiet);
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n + 1 >= outsz) {
			rc = abk_err_set(err, ABK_E_USAGE, "secret too long");
			continue;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	if (rc == ABK_OK && n == 0)
		rc = abk_err_set(err, ABK_E_USAGE, "empty input");
	if (rc != ABK_OK)
		abk_wipe(out, outsz);
	return rc;
}

size_t
abk_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		v = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		v = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		v = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0u) != 0x80u)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Length of the well-formed multi-byte UTF-8 sequence at s[0..left) (2..4),
 * or 0 when it is invalid, ASCII, or a C1 control (U+0080..U+009F, which
 * some terminals obey). */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
	uint32_t cp = 0;
	size_t n = abk_utf8_decode(s, left, &cp);

	return n >= 2 && cp >= 0xa0 ? n : 0;
}

const char *
abk_escape_name(const char *s, size_t len, char *out, size_t outsz, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, keep = 0;	/* keep: last piece boundary with room for "..." */

	if (outsz == 0)
		return out;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n = 1, w;
		int esc;

		if (c >= 0x80)
			n = utf8_len(u + i, len - i);
		esc = n == 0 || c < 0x20 || c == 0x7f || c == '\\' ||
		    (c == ' ' && (flags & ABK_ESC_SPACE)) ||
		    (c == '"' && (flags & ABK_ESC_QUOTE));
		if (n == 0)
			n = 1;
		w = esc ? 4 : n;
		if (o + w + 1 > outsz) {
			/* does not fit: go back to where "..." fits, never
			 * inside an escape or a multibyte character */
			o = keep;
			if (o + 3 + 1 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (esc)
			snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			memcpy(out + o, u + i, n);
		o += w;
		i += n;
		if (o + 3 + 1 <= outsz)
			keep = o;
	}
	out[o] = '\0';
	return out;
}

const char *
abk_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}
