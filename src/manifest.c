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

int
manifest_entry_decode(abk_rd *r, struct manifest_entry *e, abk_err *err)
{
	enum pathsafe_verdict v;

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
