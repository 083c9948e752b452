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
 *   | [str target if type == MF_SYMLINK]
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
};

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

/* Short type name ("file", "dir", "symlink"). */
const char *manifest_type_name(uint8_t type);

#endif
