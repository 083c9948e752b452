/*
 * zipio_local.c - the one comparison of a zip entry's local header (and
 * data descriptor) with its central directory record (zipio.h,
 * zipio_local_check).  Pure: zipio_read.c hands it the bytes.
 *
 * Why refuse a disagreement at all, when the reader only trusts the central
 * directory: a zip that says one thing to us and another to a tool reading
 * the local headers (streaming unzip, a later recovery tool) is either
 * damaged or built to deceive, and a backup must not keep or pass on either.
 * minizip 1.1 compares method, CRC and sizes only when flag bit 3 is clear
 * and neither size is 0xFFFFFFFF, the name only by its length, and never the
 * flags nor the data descriptor: so the local header could name another
 * file or understate the entry's size.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "strutil.h"
#include "zipio.h"
#include "zipio_bytes.h"

#define LOCAL_SIG 0x04034b50u
#define DESCRIPTOR_SIG 0x08074b50u
#define GPBF_DESCRIPTOR (1u << 3)	/* CRC and sizes follow the data */
#define EXTRA_ZIP64 0x0001u

/* The zip64 extra field's sizes (uncompressed, then compressed: APPNOTE
 * 4.5.3, both present when both 32-bit fields are 0xFFFFFFFF).  0 if absent. */
static int
local_zip64(const uint8_t *x, size_t n, uint64_t *usize, uint64_t *csize)
{
	while (n >= 4) {
		uint32_t id = zipio_get16(x), sz = zipio_get16(x + 2);

		if (sz > n - 4)
			return 0;
		if (id == EXTRA_ZIP64 && sz >= 16) {
			*usize = zipio_get64(x + 4);
			*csize = zipio_get64(x + 12);
			return 1;
		}
		x += 4 + sz;
		n -= 4 + (size_t)sz;
	}
	return 0;
}

static int
refuse(const struct zipio_central *c, abk_err *err, const char *why)
{
	char name[256];

	return abk_err_set(err, ABK_E_ZIP, "zip entry %s: %s",
	    abk_escape_name(c->name, c->name_len, name, sizeof(name), 0), why);
}

static int
disagree(const struct zipio_central *c, abk_err *err, const char *where,
    const char *field, uint64_t local, uint64_t central)
{
	char name[256];

	return abk_err_set(err, ABK_E_ZIP, "zip entry %s: the %s's %s (%llu) disagrees "
	    "with the central directory's (%llu)", abk_escape_name(c->name, c->name_len,
	    name, sizeof(name), 0), where, field, (unsigned long long)local,
	    (unsigned long long)central);
}

/* A local value is right if it is the central one, or 0 where bit 3 allows. */
static int
agrees(uint64_t local, uint64_t central, int deferred)
{
	return local == central || (deferred && local == 0);
}

/*
 * The descriptor: [signature] CRC-32, compressed, uncompressed; sizes of 8
 * bytes when the local header used zip64.  The signature is optional
 * (APPNOTE 4.3.9.3), so both readings are tried.
 */
static int
check_descriptor(const struct zipio_central *c, const uint8_t *dd, size_t ddlen,
    int wide, size_t *used, abk_err *err)
{
	size_t body = wide ? 20 : 12;

	for (size_t skip = 0; skip <= 4; skip += 4) {
		const uint8_t *p = dd + skip;
		uint64_t cs, us;

		if (skip == 4 && (ddlen < 4 || zipio_get32(dd) != DESCRIPTOR_SIG))
			break;
		if (ddlen < skip + body)
			continue;
		cs = wide ? zipio_get64(p + 4) : zipio_get32(p + 4);
		us = wide ? zipio_get64(p + 12) : zipio_get32(p + 8);
		if (zipio_get32(p) == c->crc && cs == c->csize && us == c->usize) {
			*used = skip + body;
			return ABK_OK;
		}
	}
	if (ddlen >= 4 + body && zipio_get32(dd) == DESCRIPTOR_SIG)
		dd += 4;
	else if (ddlen < body)
		return refuse(c, err, "data descriptor missing (archive truncated)");
	if (zipio_get32(dd) != c->crc)
		return disagree(c, err, "data descriptor", "CRC-32", zipio_get32(dd), c->crc);
	if ((wide ? zipio_get64(dd + 4) : zipio_get32(dd + 4)) != c->csize)
		return disagree(c, err, "data descriptor", "compressed size",
		    wide ? zipio_get64(dd + 4) : zipio_get32(dd + 4), c->csize);
	return disagree(c, err, "data descriptor", "size",
	    wide ? zipio_get64(dd + 12) : zipio_get32(dd + 8), c->usize);
}

int
zipio_local_check(const struct zipio_central *c, const uint8_t *lh, size_t lhlen,
    const uint8_t *dd, size_t ddlen, size_t *dd_used, abk_err *err)
{
	const char *lh_ = "local header";
	uint32_t flags, namelen, extralen, lcrc;
	uint64_t lcs, lus;
	int deferred, wide = 0;

	*dd_used = 0;
	if (lhlen < ZIPIO_LOCAL_HDR || zipio_get32(lh) != LOCAL_SIG)
		return refuse(c, err, "no local header where the central directory points");
	flags = zipio_get16(lh + 6);
	lcrc = zipio_get32(lh + 14);
	lcs = zipio_get32(lh + 18);
	lus = zipio_get32(lh + 22);
	namelen = zipio_get16(lh + 26);
	extralen = zipio_get16(lh + 28);
	if (lhlen < ZIPIO_LOCAL_HDR + (size_t)namelen + extralen)
		return refuse(c, err, "local header runs past the archive");
	if (namelen != c->name_len)
		return disagree(c, err, lh_, "name length", namelen, c->name_len);
	if (memcmp(lh + ZIPIO_LOCAL_HDR, c->name, namelen) != 0)
		return refuse(c, err, "local header names another file");
	if (flags != c->flags)
		return disagree(c, err, lh_, "flags", flags, c->flags);
	if (zipio_get16(lh + 8) != c->method)
		return disagree(c, err, lh_, "method", zipio_get16(lh + 8), c->method);
	deferred = (flags & GPBF_DESCRIPTOR) != 0;
	if (lcs == 0xffffffffu && lus == 0xffffffffu) {
		if (!local_zip64(lh + ZIPIO_LOCAL_HDR + namelen, extralen, &lus, &lcs))
			return refuse(c, err, "local header has zip64 sizes but no zip64 field");
		wide = 1;
	}
	if (!agrees(lcrc, c->crc, deferred))
		return disagree(c, err, lh_, "CRC-32", lcrc, c->crc);
	if (!agrees(lcs, c->csize, deferred))
		return disagree(c, err, lh_, "compressed size", lcs, c->csize);
	if (!agrees(lus, c->usize, deferred))
		return disagree(c, err, lh_, "size", lus, c->usize);
	if (!deferred)
		return ABK_OK;
	return check_descriptor(c, dd, ddlen, wide, dd_used, err);
}
