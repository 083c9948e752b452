/*
 * manifest.h - one entry of a file list, and its binary encoding.
 *
 * The same encoding travels on the wire (the push file list, directory
 * listings) and is stored on disk beside each snapshot, so there is one
 * encoder and one decoder, and the decoder refuses anything hostile (bad
 * path, unknown type, over-long target) before a caller sees it.
 *
 * Encoding (big-endian, see doc/PROTOCOL.md "Entry"):
 *   str path | u8 type | u32 mode | i64 mtime | u64 size | u8 flags
 *   | [u32 crc32 if flags&MF_HAS_CRC] | [32 bytes sha256 if flags&MF_HAS_SHA256]
 *   | [u32 mtime_nsec | i64 ctime | u32 ctime_nsec | u64 inode if flags&MF_HAS_STAT]
 *   | [str target if type == MF_SYMLINK]
 * Snapshot manifests written before protocol 2 hold no MF_HAS_STAT entries
 * and still decode: the stat fields are optional by design.
 */
#ifndef ABK_MANIFEST_H
#define ABK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "buf.h"

enum manifest_type {
	MF_FILE = 1,
	MF_DIR = 2,
	MF_SYMLINK = 3,
};

enum manifest_flags {
	MF_HAS_CRC = 0x01,
	MF_HAS_SHA256 = 0x02,
	MF_HAS_STAT = 0x04,	/* mtime_nsec, ctime, ctime_nsec, inode follow */
	/* The client read the file while its mtime was within the timestamp
	 * granularity of the scan (the "racy git" rule): a later write may
	 * have left size, times and inode as they are, so the next push must
	 * not call it unchanged. */
	MF_RACY = 0x08,
};

#define MF_FLAGS_KNOWN (MF_HAS_CRC | MF_HAS_SHA256 | MF_HAS_STAT | MF_RACY)
/* Timestamp granularity assumed by the racy rule (scan.c): 1 s covers every
 * Linux file system (ext4/XFS/btrfs stamp with a coarse clock, ext3 and
 * some network file systems only to the second). */
#define MF_RACY_WINDOW_NS 1000000000LL

#define MF_MODE_MASK 07777u
#define MF_TARGET_MAX 4095	/* bytes in a symlink target */

/*
 * A decoded entry.  path and target point into the decoder's input (not
 * NUL-terminated; use the lengths); they are valid as long as that input is.
 */
struct manifest_entry {
	const char *path;
	size_t path_len;
	uint8_t type;		/* enum manifest_type */
	uint32_t mode;		/* permission bits only (MF_MODE_MASK) */
	int64_t mtime;		/* seconds since the epoch, UTC */
	uint64_t size;		/* file: bytes; symlink: target length; dir: 0 */
	uint8_t flags;		/* enum manifest_flags */
	uint32_t crc32;		/* valid with MF_HAS_CRC */
	uint8_t sha256[32];	/* valid with MF_HAS_SHA256 */
	uint32_t mtime_nsec;	/* these four valid with MF_HAS_STAT */
	int64_t ctime;		/* status change time, seconds (the client's) */
	uint32_t ctime_nsec;
	uint64_t inode;		/* on the client's file system */
	const char *target;	/* symlink target (MF_SYMLINK only) */
	size_t target_len;
};

/* Append e to b; 0 or -1 (b->failed: over the buffer's cap). */
int manifest_entry_encode(abk_buf *b, const struct manifest_entry *e);

/*
 * Decode one entry from r into e.  Checks the path with pathsafe, the type,
 * the mode bits and the target length.  Returns ABK_OK, ABK_E_PROTO (short or
 * malformed) or ABK_E_PATH (hostile path), with the reason in err.
 */
int manifest_entry_decode(abk_rd *r, struct manifest_entry *e, abk_err *err);

/*
 * Decode the one entry in data[0..len) that manifest_entry_decode accepted
 * before (a stored manifest checked when it was loaded, its bytes unchanged
 * since): the fields only, none of the checks but the lengths.  0, or -1
 * (e zeroed) if the entry does not fill len exactly.  Never for a peer's bytes.
 */
int manifest_entry_decode_trusted(const void *data, size_t len, struct manifest_entry *e);

/*
 * 1 if a regular file listed as now may be taken as unchanged since was
 * (both recorded with MF_HAS_STAT, was not racy, same size, mtime to the
 * nanosecond, ctime to the nanosecond and inode).  Mode and content hashes
 * are the caller's to compare.
 */
int manifest_same_stat(const struct manifest_entry *was, const struct manifest_entry *now);

/* Short type name ("file", "dir", "symlink"). */
const char *manifest_type_name(uint8_t type);

#endif
