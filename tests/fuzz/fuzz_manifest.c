/*
 * fuzz_manifest.c - libFuzzer target for the file-list decoder: the input is
 * a stream of entries (as in a push list, a RESTORE_ENTRIES frame or a
 * snapshot manifest on disk) decoded one after the other until it ends or
 * an entry is refused.  Every accepted entry must be sane (safe path, known
 * type and flags, mode bits only, stat fields only with MF_HAS_STAT), must
 * encode back to the very bytes it came from, decode the same with
 * manifest_entry_decode_trusted (and not from one byte less), and
 * manifest_same_stat must agree with itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "pathsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	abk_rd r;
	struct manifest_entry prev;
	int have_prev = 0;
	abk_buf b;

	abk_rd_init(&r, data, size);
	abk_buf_init(&b, 1u << 20);
	while (r.left > 0) {
		struct manifest_entry e;
		abk_err err = ABK_ERR_INIT;
		size_t before = r.left;
		const uint8_t *start = data + (size - r.left);
		int rc = manifest_entry_decode(&r, &e, &err);

		if (rc != ABK_OK) {
			/* refused: with its own code and a reason */
			if (rc != err.code || err.msg[0] == '\0' ||
			    (rc != ABK_E_PROTO && rc != ABK_E_PATH && rc != ABK_E_LIMIT))
				abort();
			break;
		}
		if (pathsafe_check(e.path, e.path_len) != PATHSAFE_OK)
			abort();
		if (e.type != MF_FILE && e.type != MF_DIR && e.type != MF_SYMLINK)
			abort();
		if ((e.flags & ~MF_FLAGS_KNOWN) != 0 || (e.mode & ~MF_MODE_MASK) != 0)
			abort();
		if (e.type == MF_SYMLINK && (e.target_len == 0 || e.target_len > MF_TARGET_MAX))
			abort();
		/* Round trip: the encoder writes back exactly the bytes read. */
		abk_buf_reset(&b);
		if (manifest_entry_encode(&b, &e) != 0)
			abort();
		if (b.len != before - r.left || memcmp(b.data, start, b.len) != 0)
			abort();
		/* The stored-manifest decoder (no checks) reads the same entry. */
		{
			struct manifest_entry t;

			if (manifest_entry_decode_trusted(start, before - r.left, &t) != 0 ||
			    memcmp(&t, &e, sizeof(t)) != 0)
				abort();
			if (before - r.left > 0 &&
			    manifest_entry_decode_trusted(start, before - r.left - 1, &t) == 0)
				abort();
		}
		/* The unchanged-file rule: symmetric in the stat fields, never
		 * true without them or for a racy earlier entry. */
		if (manifest_same_stat(&e, &e) &&
		    (!(e.flags & MF_HAS_STAT) || (e.flags & MF_RACY)))
			abort();
		if (have_prev && manifest_same_stat(&prev, &e) &&
		    (prev.size != e.size || prev.inode != e.inode || prev.mtime != e.mtime ||
		    prev.mtime_nsec != e.mtime_nsec || (prev.flags & MF_RACY)))
			abort();
		prev = e;
		have_prev = 1;
	}
	abk_buf_free(&b);
	return 0;
}
