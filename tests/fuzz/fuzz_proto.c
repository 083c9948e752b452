/*
 * fuzz_proto.c - libFuzzer target for every decoder of peer input that is
 * not zip: frame headers, ERROR frames and file-list entries.  Decoding
 * must never crash, read out of bounds, or accept a hostile path.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "pathsafe.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	abk_err err = ABK_ERR_INIT;
	uint8_t type;
	uint32_t len;
	abk_rd r;

	if (size >= PROTO_HEADER_LEN)
		(void)proto_parse_header(data, PROTO_FRAME_MAX, &type, &len, &err);
	abk_err_clear(&err);
	(void)proto_decode_error(data, size, &err);

	/* a stream of entries, as in PUSH_ENTRIES or FILES */
	abk_rd_init(&r, data, size);
	for (int i = 0; i < 1000 && r.left > 0; i++) {
		struct manifest_entry e;

		abk_err_clear(&err);
		if (manifest_entry_decode(&r, &e, &err) != ABK_OK)
			break;
		if (pathsafe_check(e.path, e.path_len) != PATHSAFE_OK)
			abort();	/* the decoder let a hostile path through */
		if (e.type == MF_SYMLINK && (e.target_len == 0 || e.target_len > MF_TARGET_MAX))
			abort();
	}
	return 0;
}
