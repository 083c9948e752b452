/*
 * manifest.c - encode and decode file-list entries (wire and disk share it).
 */
#include "config.h"

#include <string.h>

#include "manifest.h"
#include "pathsafe.h"

int
manifest_entry_encode(abk_buf *b, const struct manifest_entry *e)
{
	abk_put_str(b, e->path, e->path_len);
	abk_put_u8(b, e->type);
	abk_put_u32(b, e->mode & MF_MODE_MASK);
	abk_put_i64(b, e->mtime);
	abk_put_u64(b, e->size);
	abk_put_u8(b, e->flags & MF_FLAGS_KNOWN);
	if (e->flags & MF_HAS_CRC)
		abk_put_u32(b, e->crc32);
	if (e->flags & MF_HAS_SHA256)
		abk_put_bytes(b, e->sha256, sizeof(e->sha256));
	if (e->flags & MF_HAS_STAT) {
		abk_put_u32(b, e->mtime_nsec);
		abk_put_i64(b, e->ctime);
		abk_put_u32(b, e->ctime_nsec);
		abk_put_u64(b, e->inode);
	}
	if (e->type == MF_SYMLINK)
		abk_put_str(b, e->target, e->target_len);
	return b->failed ? -1 : 0;
}

/* Big-endian loads written out (a loop over the bytes is not unrolled at -O2
 * and cost half of a decode): the compiler turns these into one load and a
 * byte swap. */
static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int
manifest_entry_decode_trusted(const void *data, size_t len, struct manifest_entry *e)
{
	/* the fields of manifest_entry_decode, in its order (keep them in step);
	 * read in place: this runs for every entry a push or restore looks up */
	const uint8_t *p = data, *end = p + len;

	memset(e, 0, sizeof(*e));
	if (len < 4 + 1 + 4 + 8 + 8 + 1)
		return -1;
	e->path_len = (size_t)be32(p);
	p += 4;
	if (e->path_len > (size_t)(end - p) - (1 + 4 + 8 + 8 + 1))
		return -1;
	e->path = (const char *)p;
	p += e->path_len;
	e->type = p[0];
	e->mode = (uint32_t)be32(p + 1);
	e->mtime = (int64_t)be64(p + 5);
	e->size = be64(p + 13);
	e->flags = p[21];
	p += 22;
	if ((size_t)(end - p) < ((e->flags & MF_HAS_CRC) ? 4u : 0u) +
	    ((e->flags & MF_HAS_SHA256) ? 32u : 0u) + ((e->flags & MF_HAS_STAT) ? 24u : 0u))
		return -1;
	if (e->flags & MF_HAS_CRC) {
		e->crc32 = (uint32_t)be32(p);
		p += 4;
	}
	if (e->flags & MF_HAS_SHA256) {
		memcpy(e->sha256, p, sizeof(e->sha256));
		p += sizeof(e->sha256);
	}
	if (e->flags & MF_HAS_STAT) {
		e->mtime_nsec = (uint32_t)be32(p);
		e->ctime = (int64_t)be64(p + 4);
		e->ctime_nsec = (uint32_t)be32(p + 12);
		e->inode = be64(p + 16);
		p += 24;
	}
	if (e->type == MF_SYMLINK) {
		if (end - p < 4)
			return -1;
		e->target_len = (size_t)be32(p);
		if (e->target_len > (size_t)(end - p) - 4)
			return -1;
		e->target = (const char *)p + 4;
		p += 4 + e->target_len;
	}
	return p == end ? 0 : -1;
}

int
manifest_entry_decode(abk_rd *r, struct manifest_entry *e, abk_err *err)
{
	enum pathsafe_verdict v;

	/* the fields as manifest_entry_decode_trusted reads them (keep them in step) */
	memset(e, 0, sizeof(*e));
	abk_get_str(r, &e->path, &e->path_len, ABK_PATH_MAX);
	if (r->over_max != 0)	/* a limit, not a short frame (PROTOCOL.md, "Limits") */
		return abk_err_set(err, ABK_E_LIMIT, "file-list entry: path longer than %d bytes",
		    ABK_PATH_MAX);
	abk_get_u8(r, &e->type);
	abk_get_u32(r, &e->mode);
	abk_get_i64(r, &e->mtime);
	abk_get_u64(r, &e->size);
	abk_get_u8(r, &e->flags);
	if (r->failed)
		return abk_err_set(err, ABK_E_PROTO, "malformed file-list entry (truncated)");
	if (e->flags & ~MF_FLAGS_KNOWN)
		return abk_err_set(err, ABK_E_PROTO, "file-list entry has unknown flags 0x%x",
		    e->flags);
	if (e->flags & MF_HAS_CRC)
		abk_get_u32(r, &e->crc32);
	if (e->flags & MF_HAS_SHA256)
		abk_get_bytes(r, e->sha256, sizeof(e->sha256));
	if (e->flags & MF_HAS_STAT) {
		abk_get_u32(r, &e->mtime_nsec);
		abk_get_i64(r, &e->ctime);
		abk_get_u32(r, &e->ctime_nsec);
		abk_get_u64(r, &e->inode);
	}
	if (e->type == MF_SYMLINK)
		abk_get_str(r, &e->target, &e->target_len, MF_TARGET_MAX);
	if (r->over_max != 0)
		return abk_err_set(err, ABK_E_LIMIT, "file-list entry: symlink target longer "
		    "than %d bytes", MF_TARGET_MAX);
	if (r->failed)
		return abk_err_set(err, ABK_E_PROTO, "malformed file-list entry (truncated)");
	v = pathsafe_check(e->path, e->path_len);
	if (v != PATHSAFE_OK)
		return abk_err_set(err, ABK_E_PATH, "refused entry name: %s",
		    pathsafe_reason(v));
	if (e->type != MF_FILE && e->type != MF_DIR && e->type != MF_SYMLINK)
		return abk_err_set(err, ABK_E_PROTO, "file-list entry has unknown type %u",
		    e->type);
	if (e->mode & ~MF_MODE_MASK)
		return abk_err_set(err, ABK_E_PROTO, "file-list entry has invalid mode 0%o",
		    e->mode);
	if (e->type == MF_SYMLINK) {
		if (e->target_len == 0 || memchr(e->target, '\0', e->target_len) != NULL)
			return abk_err_set(err, ABK_E_PROTO, "symlink has an empty or NUL target");
		if (e->size != e->target_len)
			return abk_err_set(err, ABK_E_PROTO, "symlink size does not match its target");
	}
	if ((e->flags & MF_HAS_STAT) &&
	    (e->mtime_nsec >= 1000000000u || e->ctime_nsec >= 1000000000u))
		return abk_err_set(err, ABK_E_PROTO, "file-list entry has nanoseconds out of range");
	if (e->type == MF_DIR && e->size != 0)
		return abk_err_set(err, ABK_E_PROTO, "directory entry with a size");
	return ABK_OK;
}

int
manifest_same_stat(const struct manifest_entry *was, const struct manifest_entry *now)
{
	return (was->flags & MF_HAS_STAT) && (now->flags & MF_HAS_STAT) &&
	    !(was->flags & MF_RACY) && was->size == now->size &&
	    was->mtime == now->mtime && was->mtime_nsec == now->mtime_nsec &&
	    was->ctime == now->ctime && was->ctime_nsec == now->ctime_nsec &&
	    was->inode == now->inode;
}

const char *
manifest_type_name(uint8_t type)
{
	switch (type) {
	case MF_FILE:
		return "file";
	case MF_DIR:
		return "dir";
	case MF_SYMLINK:
		return "symlink";
	default:
		return "unknown";
	}
}
