/*
 * fuzz_proto.c - libFuzzer target for every decoder of peer input that is
 * not zip: frame headers, and the decoder of each message type
 * (proto_msg.c, ZIP_BEGIN's units, ERROR, file-list entries).  The first
 * input byte picks the message type; the rest is its payload.  Decoding must
 * never crash, read out of bounds, accept a hostile path, or fail without
 * saying why (LIMIT or PROTOCOL with a message).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "pathsafe.h"
#include "proto.h"
#include "proto_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed decoder must say why, with one of the two codes (invariant 7). */
static void
check_failure(int rc, const abk_err *err)
{
	if (rc == ABK_OK)
		return;
	if (rc != err->code || err->msg[0] == '\0')
		abort();
	if (rc != ABK_E_LIMIT && rc != ABK_E_PROTO && rc != ABK_E_PATH)
		abort();
}

static void
entries(abk_rd *r, uint32_t count)
{
	for (uint32_t i = 0; i < count && i < 1000 && r->left > 0; i++) {
		struct manifest_entry e;
		abk_err err = ABK_ERR_INIT;
		int rc = manifest_entry_decode(r, &e, &err);

		check_failure(rc, &err);
		if (rc != ABK_OK)
			break;
		if (pathsafe_check(e.path, e.path_len) != PATHSAFE_OK)
			abort();	/* the decoder let a hostile path through */
		if (e.type == MF_SYMLINK && (e.target_len == 0 || e.target_len > MF_TARGET_MAX))
			abort();
	}
}

/* A listing frame: the head, then up to count items of the given kind. */
static void
listing(abk_rd *r, uint8_t type)
{
	struct msg_list_head head;
	abk_err err = ABK_ERR_INIT;
	int rc = msg_list_head_get(r, type, &head, &err);

	check_failure(rc, &err);
	if (rc != ABK_OK)
		return;
	if (type == PT_FILES || type == PT_PUSH_ENTRIES || type == PT_RESTORE_ENTRIES) {
		entries(r, head.count);
		return;
	}
	for (uint32_t i = 0; i < head.count && i < 1000; i++) {
		union {
			struct msg_source so;
			struct msg_snapshot sn;
			struct msg_problem pr;
			struct msg_pieces pi;
			uint32_t index;
		} u;

		abk_err_clear(&err);
		switch (type) {
		case PT_SOURCES:
			rc = msg_source_get(r, &u.so, &err);
			break;
		case PT_SNAPSHOTS:
			rc = msg_snapshot_get(r, &u.sn, &err);
			break;
		case PT_VERIFY_PROBLEMS:
			rc = msg_problem_get(r, &u.pr, &err);
			break;
		case PT_PUSH_PIECES:
			rc = msg_pieces_get(r, &u.pi, &err);
			if (rc == ABK_OK && u.pi.n > 0 && u.pi.hashes == NULL)
				abort();
			break;
		default:
			rc = msg_need_get(r, &u.index, &err);
			break;
		}
		check_failure(rc, &err);
		if (rc != ABK_OK)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	abk_err err = ABK_ERR_INIT;
	uint8_t type;
	uint32_t len;
	abk_rd r;
	int rc = ABK_OK;

	if (size >= PROTO_HEADER_LEN)
		(void)proto_parse_header(data, PROTO_FRAME_MAX, &type, &len, &err);
	if (size < 1)
		return 0;
	type = data[0];
	data++;
	size--;
	abk_err_clear(&err);
	abk_rd_init(&r, data, size);
	switch (type) {
	case PT_HELLO: {
		struct msg_hello m;

		rc = msg_hello_get(&r, &m, &err);
		break;
	}
	case PT_HELLO_OK: {
		struct msg_hello_ok m;

		rc = msg_hello_ok_get(&r, &m, &err);
		break;
	}
	case PT_ERROR:
		rc = proto_decode_error(data, size, &err);
		if (err.code == ABK_OK || err.msg[0] == '\0')
			abort();
		rc = ABK_OK;
		break;
	case PT_LOGIN_PASSWORD:
	case PT_LOGIN_TOKEN: {
		struct msg_login m;

		rc = msg_login_get(&r, type, &m, &err);
		if (rc == ABK_OK && m.secret_len > PROTO_PASSWORD_MAX)
			abort();
		break;
	}
	case PT_LOGIN_OK: {
		struct msg_login_ok m;

		rc = msg_login_ok_get(&r, &m, &err);
		break;
	}
	case PT_LIST_SNAPSHOTS:
	case PT_LIST_FILES:
	case PT_VERIFY: {
		struct msg_select m;

		rc = msg_select_get(&r, type, &m, &err);
		break;
	}
	case PT_SOURCES:
	case PT_SNAPSHOTS:
	case PT_FILES:
	case PT_VERIFY_PROBLEMS:
	case PT_PUSH_ENTRIES:
	case PT_PUSH_NEED:
	case PT_PUSH_PIECES:
	case PT_RESTORE_ENTRIES:
	case PT_RESTORE_HAVE:
		listing(&r, type);
		break;
	case PT_VERIFY_RESULT: {
		struct msg_verify_result m;

		rc = msg_verify_result_get(&r, &m, &err);
		break;
	}
	case PT_PUSH_BEGIN: {
		struct msg_push_begin m;

		rc = msg_push_begin_get(&r, &m, &err);
		break;
	}
	case PT_PUSH_READY: {
		uint32_t max;

		rc = msg_push_ready_get(&r, &max, &err);
		break;
	}
	case PT_ZIP_BEGIN: {
		static struct transfer_unit u[PROTO_ZIP_BATCH_ENTRIES];
		uint32_t n = 0;

		rc = msg_zip_begin_get(&r, u, PROTO_ZIP_BATCH_ENTRIES, &n, &err);
		if (rc == ABK_OK && (n == 0 || n > PROTO_ZIP_BATCH_ENTRIES))
			abort();
		break;
	}
	case PT_ZIP_END: {
		struct msg_zip_end m;

		rc = msg_zip_end_get(&r, &m, &err);
		break;
	}
	case PT_PUSH_SKIP: {
		struct msg_push_skip m;

		rc = msg_push_skip_get(&r, &m, &err);
		break;
	}
	case PT_PUSH_END:
	case PT_RESTORE_END: {
		uint8_t d[ABK_DIGEST_LEN];

		rc = msg_digest_get(&r, type, d, &err);
		break;
	}
	case PT_PUSH_VERDICT: {
		struct msg_push_verdict m;

		rc = msg_push_verdict_get(&r, &m, &err);
		break;
	}
	case PT_RESTORE: {
		static struct msg_restore m;
		char path[ABK_PATH_MAX + 1];
		uint32_t n = 0;

		rc = msg_restore_get(&r, &m, &err);
		if (rc != ABK_OK)
			break;
		while (msg_restore_next_path(&m, path) == 0)
			n++;
		if (n != m.n_paths || m.paths.failed)
			abort();	/* the paths checked are the paths handed out */
		break;
	}
	case PT_RESTORE_BEGIN: {
		struct msg_restore_begin m;

		rc = msg_restore_begin_get(&r, &m, &err);
		break;
	}
	default:
		break;
	}
	check_failure(rc, &err);
	return 0;
}
