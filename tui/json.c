/*
 * json.c - JSON string escaping with UTF-8 validation.
 */
#include "config.h"

#include <string.h>

#include "json.h"
#include "strutil.h"

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return abk_utf8_decode(s, n, &cp);
}

void
json_string_n(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', f);
	while (i < n) {
		unsigned char c = s[i];
		size_t l;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((l = utf8_len(s + i, n - i)) == 0) {
			fputs("\\ufffd", f);
			i++;
		} else {
			fwrite(s + i, 1, l, f);
			i += l;
		}
	}
	fputc('"', f);
}

void
json_string(FILE *f, const char *s)
{
	json_string_n(f, s ? s : "", s ? strlen(s) : 0);
}

void
json_kv_str(FILE *f, int first, const char *key, const char *value)
{
	fprintf(f, "%s\"%s\":", first ? "" : ",", key);
	json_string(f, value);
}

void
json_kv_u64(FILE *f, int first, const char *key, uint64_t value)
{
	fprintf(f, "%s\"%s\":%llu", first ? "" : ",", key, (unsigned long long)value);
}

void
json_kv_i64(FILE *f, int first, const char *key, int64_t value)
{
	fprintf(f, "%s\"%s\":%lld", first ? "" : ",", key, (long long)value);
}
