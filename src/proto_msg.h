/*
 * proto_msg.h - one encoder/decoder pair per protocol message (issue 13).
 *
 * Both peers encode and decode every message through these functions, so a
 * field is written in one place and read in one place; doc/PROTOCOL.md
 * describes the same layouts.  Encoders append to an abk_buf (a failed put
 * leaves b->failed set; the caller checks once).  Decoders read from an
 * abk_rd and return ABK_OK or the code recorded in err: ABK_E_LIMIT naming
 * the limit for a string over its maximum, ABK_E_PROTO "malformed <MSG>"
 * for anything short (abk_rd_error).  Decoded strings are either copied
 * into the struct (NUL-terminated, NUL bytes refused) or, where noted, point
 * into the reader's bytes (valid as long as they are).
 *
 * Entries (file lists) have their codec in manifest.c, ERROR in proto.c.
 */
#ifndef ABK_PROTO_MSG_H
#define ABK_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"
#include "buf.h"
#include "crypto.h"
#include "pathsafe.h"
#include "piecehash.h"
#include "proto.h"

/* HELLO (C→S) */
struct msg_hello {
	uint32_t magic;
	uint16_t min_version, max_version;
	char software[PROTO_SOFTWARE_MAX + 1];
};
int msg_hello_put(abk_buf *b, const struct msg_hello *m);
int msg_hello_get(abk_rd *r, struct msg_hello *m, abk_err *err);

/* HELLO_OK (S→C) */
struct msg_hello_ok {
	uint16_t version;
	char software[PROTO_SOFTWARE_MAX + 1];
	uint32_t max_frame;
};
int msg_hello_ok_put(abk_buf *b, const struct msg_hello_ok *m);
int msg_hello_ok_get(abk_rd *r, struct msg_hello_ok *m, abk_err *err);

/* LOGIN_PASSWORD and LOGIN_TOKEN (C→S): secret is the password or the
 * token; it points into the reader's bytes (the caller wipes them). */
struct msg_login {
	char user[PROTO_USER_MAX + 1];
	const char *secret;
	size_t secret_len;
};
int msg_login_put(abk_buf *b, const char *user, const char *secret, size_t secret_len);
/* type: PT_LOGIN_PASSWORD or PT_LOGIN_TOKEN (the secret's limit differs) */
int msg_login_get(abk_rd *r, uint8_t type, struct msg_login *m, abk_err *err);

/* LOGIN_OK (S→C) */
struct msg_login_ok {
	char user[PROTO_USER_MAX + 1];
	uint64_t quota;
	uint8_t append_only;
	/* optional trailing field (older servers end before it, older clients
	 * stop reading before it): the bytes the user's backups take */
	uint8_t has_used;
	uint64_t used;
};
int msg_login_ok_put(abk_buf *b, const struct msg_login_ok *m);
int msg_login_ok_get(abk_rd *r, struct msg_login_ok *m, abk_err *err);

/*
 * Requests naming a source, a snapshot (empty = latest) and, for
 * LIST_FILES, a directory (empty = top).  LIST_SNAPSHOTS carries the source
 * only, VERIFY source and snapshot, LIST_FILES all three.
 */
struct msg_select {
	char source[PROTO_SOURCE_MAX + 1];
	char snapshot[PROTO_SNAPSHOT_ID_MAX + 1];
	char dir[ABK_PATH_MAX + 1];
};
int msg_select_put(abk_buf *b, uint8_t type, const char *source, const char *snapshot,
    const char *dir);
int msg_select_get(abk_rd *r, uint8_t type, struct msg_select *m, abk_err *err);

/*
 * The head of a listing frame (SOURCES, SNAPSHOTS, FILES, VERIFY_PROBLEMS,
 * PUSH_ENTRIES, PUSH_NEED, PUSH_PIECES, RESTORE_ENTRIES, RESTORE_HAVE):
 * u8 last, u32 count.
 */
struct msg_list_head {
	uint8_t last;
	uint32_t count;
};
int msg_list_head_put(abk_buf *b, int last, uint32_t count);
int msg_list_head_get(abk_rd *r, uint8_t type, struct msg_list_head *m, abk_err *err);

/* SOURCES item */
struct msg_source {
	char name[PROTO_SOURCE_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	uint32_t snapshots;
	char latest_id[PROTO_SNAPSHOT_ID_MAX + 1];
	int64_t latest_time;
	uint64_t latest_files, latest_bytes;
	/* the retention policy that applies, in words ("last 3, daily 7 (server
	 * default)"); for people, not parsed */
	char policy[PROTO_POLICY_MAX + 1];
};
int msg_source_put(abk_buf *b, const char *name, const char *origin, uint32_t snapshots,
    const char *latest_id, int64_t latest_time, uint64_t latest_files,
    uint64_t latest_bytes, const char *policy);
int msg_source_get(abk_rd *r, struct msg_source *m, abk_err *err);

/* SNAPSHOTS item */
struct msg_snapshot {
	char id[PROTO_SNAPSHOT_ID_MAX + 1];
	int64_t time;
	uint64_t files, bytes;
};
int msg_snapshot_put(abk_buf *b, const char *id, int64_t time, uint64_t files,
    uint64_t bytes);
int msg_snapshot_get(abk_rd *r, struct msg_snapshot *m, abk_err *err);

/* VERIFY_PROBLEMS item */
struct msg_problem {
	char path[ABK_PATH_MAX + 1];
	char problem[PROTO_MESSAGE_MAX + 1];
};
int msg_problem_put(abk_buf *b, const char *path, size_t path_len, const char *problem);
int msg_problem_get(abk_rd *r, struct msg_problem *m, abk_err *err);

/* VERIFY_RESULT (S→C) */
struct msg_verify_result {
	char snapshot[PROTO_SNAPSHOT_ID_MAX + 1];
	uint64_t checked, missing, damaged, bytes;
};
int msg_verify_result_put(abk_buf *b, const struct msg_verify_result *m);
int msg_verify_result_get(abk_rd *r, struct msg_verify_result *m, abk_err *err);

/* PUSH_BEGIN (C→S) */
struct msg_push_begin {
	char source[PROTO_SOURCE_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t flags;
	uint64_t entries, bytes;
};
int msg_push_begin_put(abk_buf *b, const char *source, const char *origin, uint8_t flags,
    uint64_t entries, uint64_t bytes);
int msg_push_begin_get(abk_rd *r, struct msg_push_begin *m, abk_err *err);

/* PUSH_READY (S→C) */
int msg_push_ready_put(abk_buf *b, uint32_t max_batch);
int msg_push_ready_get(abk_rd *r, uint32_t *max_batch, abk_err *err);

/* PUSH_NEED item: one u32 index. */
/* A PUSH_NEED or RESTORE_HAVE item: u32 index. */
int msg_need_put(abk_buf *b, uint32_t index);
int msg_need_get(abk_rd *r, uint32_t *index, abk_err *err);

/* PUSH_PIECES item; hashes point into the reader's bytes (n × ABK_PIECE_HASH_LEN,
 * XXH3-128 since protocol 3). */
struct msg_pieces {
	uint32_t index;
	uint64_t prev_size;
	uint32_t n;
	const uint8_t *hashes;
};
int msg_pieces_put(abk_buf *b, const struct msg_pieces *m);
int msg_pieces_get(abk_rd *r, struct msg_pieces *m, abk_err *err);

/* PUSH_SKIP (C→S); reason points into the reader's bytes. */
struct msg_push_skip {
	uint32_t index;
	const char *reason;
	size_t reason_len;
};
int msg_push_skip_put(abk_buf *b, uint32_t index, const char *reason);
int msg_push_skip_get(abk_rd *r, struct msg_push_skip *m, abk_err *err);

/* PUSH_END and RESTORE_END: a 32-byte digest. */
int msg_digest_put(abk_buf *b, const uint8_t digest[ABK_DIGEST_LEN]);
int msg_digest_get(abk_rd *r, uint8_t type, uint8_t digest[ABK_DIGEST_LEN], abk_err *err);

/* ZIP_END: archive length and batch digest. */
struct msg_zip_end {
	uint64_t length;
	uint8_t digest[ABK_DIGEST_LEN];
};
int msg_zip_end_put(abk_buf *b, uint64_t length, const uint8_t digest[ABK_DIGEST_LEN]);
int msg_zip_end_get(abk_rd *r, struct msg_zip_end *m, abk_err *err);

/* PUSH_VERDICT (S→C) */
struct msg_push_verdict {
	char snapshot[PROTO_SNAPSHOT_ID_MAX + 1];
	uint64_t added, changed, removed, unchanged, bytes_received, bytes_stored, kept;
};
int msg_push_verdict_put(abk_buf *b, const struct msg_push_verdict *m);
int msg_push_verdict_get(abk_rd *r, struct msg_push_verdict *m, abk_err *err);

/*
 * RESTORE (C→S).  The decoder checks every path (and its limit) before it
 * returns; msg_restore_next_path then hands them out one at a time.
 */
struct msg_restore {
	char source[PROTO_SOURCE_MAX + 1];
	char snapshot[PROTO_SNAPSHOT_ID_MAX + 1];
	uint8_t flags;
	uint32_t n_paths;
	abk_rd paths;		/* the n_paths strings, already checked */
};
int msg_restore_put(abk_buf *b, const char *source, const char *snapshot, uint8_t flags,
    const char *const *paths, uint32_t n_paths);
int msg_restore_get(abk_rd *r, struct msg_restore *m, abk_err *err);
/* The next path into path[ABK_PATH_MAX + 1]; 0, or -1 after the last. */
int msg_restore_next_path(struct msg_restore *m, char path[ABK_PATH_MAX + 1]);

/* RESTORE_BEGIN (S→C) */
struct msg_restore_begin {
	char snapshot[PROTO_SNAPSHOT_ID_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t single_file;
	uint64_t entries, bytes;
};
int msg_restore_begin_put(abk_buf *b, const struct msg_restore_begin *m);
int msg_restore_begin_get(abk_rd *r, struct msg_restore_begin *m, abk_err *err);

/* One piece of one file in a batch. */
struct transfer_unit {
	uint32_t index;		/* position in the file list */
	uint64_t offset;	/* where the piece starts in the file */
	uint64_t len;		/* uncompressed bytes */
	uint8_t flags;		/* TRANSFER_REUSE */
};

/*
 * The piece is not in the zip: the receiver copies it from the previous
 * snapshot's version of the file (push only; offset is a multiple of
 * PROTO_PIECE and the piece hashed equal on both sides).
 */
#define TRANSFER_REUSE 0x01

/* ZIP_BEGIN payload: u32 n, n x (u32 index, u64 offset, u64 len, u8 flags). */
int msg_zip_begin_put(abk_buf *b, const struct transfer_unit *u, uint32_t n);
/*
 * Parse a ZIP_BEGIN payload into u[max]; checks 1 <= n <= max and lengths
 * 1..PROTO_CHUNK_MAX.  The caller checks indexes against its list.
 */
int msg_zip_begin_get(abk_rd *r, struct transfer_unit *u, uint32_t max, uint32_t *n,
    abk_err *err);

#endif
