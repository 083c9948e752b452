/*
 * zipio_policy.c - per-entry choices that need no zip library: whether an
 * entry is worth deflating (zipio_should_store) and whether its name may
 * carry the zip UTF-8 flag (zipio_name_is_utf8).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "zipio.h"
#include "zipio_int.h"
#include "strutil.h"

/*
 * 1 if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing over U+10FFFF).  Only such names get the zip UTF-8
 * flag: other names are raw bytes, which readers must take as they are.
 */
int
zipio_name_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = abk_utf8_decode(p + i, len - i, &cp)) == 0)
			return 0;
	return 1;
}

/* ---- compression decision ----------------------------------------------- */

/* Formats that are compressed already (lower case, sorted for reading). */
static const char *const stored_exts[] = {
	"7z", "aac", "apk", "avi", "avif", "br", "bz2", "cab", "deb", "docx",
	"epub", "flac", "gif", "gz", "heic", "heif", "jar", "jpeg", "jpg",
	"jxl", "lz", "lz4", "lzma", "m4a", "m4v", "mkv", "mov", "mp3", "mp4",
	"mpeg", "mpg", "odp", "ods", "odt", "ogg", "opus", "png", "pptx",
	"rar", "rpm", "tbz2", "tgz", "txz", "tzst", "war", "webm", "webp",
	"whl", "wma", "wmv", "woff", "woff2", "xlsx", "xz", "zip", "zst",
};

static int
ext_is_stored(const char *name)
{
	const char *base, *dot;

	if (name == NULL)
		return 0;
	base = abk_base_name(name);
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base || dot[1] == '\0')
		return 0;
	for (size_t i = 0; i < sizeof(stored_exts) / sizeof(stored_exts[0]); i++)
		if (strcasecmp(dot + 1, stored_exts[i]) == 0)
			return 1;
	return 0;
}

/*
 * Deflate into 90% of the input: if it fits, deflating pays.  A 16 KiB
 * window and a small hash table are enough for a 16 KiB sample and make
 * the set-up cheap.
 */
static int
trial_saves(const void *sample, size_t len)
{
	uint8_t out[ZIPIO_TRIAL_MAX];
	z_stream zs;
	int zrc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, -14, 6, Z_DEFAULT_STRATEGY) != Z_OK)
		return 1;	/* cannot tell: deflating is never wrong */
	zs.next_in = (Bytef *)(uintptr_t)sample;	/* zlib does not write it */
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)(len - len / 10);
	zrc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	return zrc == Z_STREAM_END;
}

int
zipio_should_store(const char *name, const void *sample, size_t len)
{
	const uint8_t *p = sample;
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0;

	if (ext_is_stored(name))
		return 1;
	if (sample == NULL || len == 0)
		return 1;
	if (len > ZIPIO_SAMPLE_MAX)
		len = ZIPIO_SAMPLE_MAX;
	/*
	 * At most 128 distinct byte values: Huffman coding alone needs at most
	 * 7 bits a byte, so deflate saves over 10% once a block header (~100
	 * bytes) is small beside the data.  Plain text always gets here.
	 */
	for (size_t i = 0; i < len; i++)
		seen[p[i]] = 1;
	for (size_t i = 0; i < 256; i++)
		distinct += seen[i];
	if (distinct <= 128 && len >= 8192)
		return 0;
	if (len <= ZIPIO_TRIAL_MAX)
		return !trial_saves(sample, len);
	/* A quarter of the trial from each quarter of the sample, so that a
	 * header unlike the rest does not decide alone. */
	{
		uint8_t mix[ZIPIO_TRIAL_MAX];
		const size_t q = ZIPIO_TRIAL_MAX / 4;

		for (size_t i = 0; i < 4; i++)
			memcpy(mix + i * q, p + i * (len / 4), q);
		return !trial_saves(mix, sizeof(mix));
	}
}
