/*
 * proto_msg.c - the encoder and the decoder of each protocol message, used
 * by both peers (see proto_msg.h and doc/PROTOCOL.md).
 */
#include "config.h"

#include <string.h>

#include "proto_msg.h"

/* A decoder's end: ABK_OK, or LIMIT/PROTO for the message named what. */
static int
msg_done(const abk_rd *r, abk_err *err, const char *what)
{
	return r->failed ? abk_rd_error(r, err, what) : ABK_OK;
}

static int
msg_put_done(const abk_buf *b)
{
	return b->failed ? -1 : 0;
}

int
msg_hello_put(abk_buf *b, const struct msg_hello *m)
{
	abk_put_u32(b, m->magic);
	abk_put_u16(b, m->min_version);
	abk_put_u16(b, m->max_version);
	abk_put_cstr(b, m->software);
	return msg_put_done(b);
}

int
msg_hello_get(abk_rd *r, struct msg_hello *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_u32(r, &m->magic);
	abk_get_u16(r, &m->min_version);
	abk_get_u16(r, &m->max_version);
	/* software: informative; older peers may omit it */
	if (r->left > 0)
		abk_get_cstr(r, m->software, sizeof(m->software));
	return msg_done(r, err, "HELLO");
}

int
msg_hello_ok_put(abk_buf *b, const struct msg_hello_ok *m)
{
	abk_put_u16(b, m->version);
	abk_put_cstr(b, m->software);
	abk_put_u32(b, m->max_frame);
	return msg_put_done(b);
}

int
msg_hello_ok_get(abk_rd *r, struct msg_hello_ok *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_u16(r, &m->version);
	abk_get_cstr(r, m->software, sizeof(m->software));
	abk_get_u32(r, &m->max_frame);
	return msg_done(r, err, "HELLO_OK");
}

int
msg_login_put(abk_buf *b, const char *user, const char *secret, size_t secret_len)
{
	abk_put_cstr(b, user);
	abk_put_str(b, secret, secret_len);
	return msg_put_done(b);
}

int
msg_login_get(abk_rd *r, uint8_t type, struct msg_login *m, abk_err *err)
{
	int token = type == PT_LOGIN_TOKEN;

	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->user, sizeof(m->user));
	abk_get_str(r, &m->secret, &m->secret_len, token ? PROTO_TOKEN_MAX : PROTO_PASSWORD_MAX);
	if (!r->failed && token && memchr(m->secret, '\0', m->secret_len) != NULL)
		return abk_err_set(err, ABK_E_PROTO, "malformed LOGIN_TOKEN");
	return msg_done(r, err, token ? "LOGIN_TOKEN" : "LOGIN_PASSWORD");
}

int
msg_login_ok_put(abk_buf *b, const struct msg_login_ok *m)
{
	abk_put_cstr(b, m->user);
	abk_put_u64(b, m->quota);
	abk_put_u8(b, m->append_only);
	if (m->has_used)
		abk_put_u64(b, m->used);
	return msg_put_done(b);
}

int
msg_login_ok_get(abk_rd *r, struct msg_login_ok *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->user, sizeof(m->user));
	abk_get_u64(r, &m->quota);
	abk_get_u8(r, &m->append_only);
	if (!r->failed && r->left >= 8 && abk_get_u64(r, &m->used) == 0)
		m->has_used = 1;
	return msg_done(r, err, "LOGIN_OK");
}

int
msg_select_put(abk_buf *b, uint8_t type, const char *source, const char *snapshot,
    const char *dir)
{
	abk_put_cstr(b, source);
	if (type != PT_LIST_SNAPSHOTS)
		abk_put_cstr(b, snapshot != NULL ? snapshot : "");
	if (type == PT_LIST_FILES)
		abk_put_cstr(b, dir != NULL ? dir : "");
	return msg_put_done(b);
}

int
msg_select_get(abk_rd *r, uint8_t type, struct msg_select *m, abk_err *err)
{
	const char *name = proto_type_name(type);

	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->source, sizeof(m->source));
	if (type != PT_LIST_SNAPSHOTS)
		abk_get_cstr(r, m->snapshot, sizeof(m->snapshot));
	if (type == PT_LIST_FILES)
		abk_get_cstr(r, m->dir, sizeof(m->dir));
	return msg_done(r, err, name != NULL ? name : "request");
}

int
msg_list_head_put(abk_buf *b, int last, uint32_t count)
{
	abk_put_u8(b, last ? 1 : 0);
	abk_put_u32(b, count);
	return msg_put_done(b);
}

int
msg_list_head_get(abk_rd *r, uint8_t type, struct msg_list_head *m, abk_err *err)
{
	const char *name = proto_type_name(type);

	memset(m, 0, sizeof(*m));
	abk_get_u8(r, &m->last);
	abk_get_u32(r, &m->count);
	return msg_done(r, err, name != NULL ? name : "listing");
}

int
msg_source_put(abk_buf *b, const char *name, const char *origin, uint32_t snapshots,
    const char *latest_id, int64_t latest_time, uint64_t latest_files,
    uint64_t latest_bytes, const char *policy)
{
	abk_put_cstr(b, name);
	abk_put_cstr(b, origin);
	abk_put_u32(b, snapshots);
	abk_put_cstr(b, latest_id);
	abk_put_i64(b, latest_time);
	abk_put_u64(b, latest_files);
	abk_put_u64(b, latest_bytes);
	abk_put_cstr(b, policy);
	return msg_put_done(b);
}

int
msg_source_get(abk_rd *r, struct msg_source *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->name, sizeof(m->name));
	abk_get_cstr(r, m->origin, sizeof(m->origin));
	abk_get_u32(r, &m->snapshots);
	abk_get_cstr(r, m->latest_id, sizeof(m->latest_id));
	abk_get_i64(r, &m->latest_time);
	abk_get_u64(r, &m->latest_files);
	abk_get_u64(r, &m->latest_bytes);
	abk_get_cstr(r, m->policy, sizeof(m->policy));
	return msg_done(r, err, "source in SOURCES");
}

int
msg_snapshot_put(abk_buf *b, const char *id, int64_t time, uint64_t files, uint64_t bytes)
{
	abk_put_cstr(b, id);
	abk_put_i64(b, time);
	abk_put_u64(b, files);
	abk_put_u64(b, bytes);
	return msg_put_done(b);
}

int
msg_snapshot_get(abk_rd *r, struct msg_snapshot *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->id, sizeof(m->id));
	abk_get_i64(r, &m->time);
	abk_get_u64(r, &m->files);
	abk_get_u64(r, &m->bytes);
	return msg_done(r, err, "snapshot in SNAPSHOTS");
}

int
msg_problem_put(abk_buf *b, const char *path, size_t path_len, const char *problem)
{
	abk_put_str(b, path, path_len);
	abk_put_cstr(b, problem);
	return msg_put_done(b);
}

int
msg_problem_get(abk_rd *r, struct msg_problem *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->path, sizeof(m->path));
	abk_get_cstr(r, m->problem, sizeof(m->problem));
	return msg_done(r, err, "VERIFY_PROBLEMS item");
}

int
msg_verify_result_put(abk_buf *b, const struct msg_verify_result *m)
{
	abk_put_cstr(b, m->snapshot);
	abk_put_u64(b, m->checked);
	abk_put_u64(b, m->missing);
	abk_put_u64(b, m->damaged);
	abk_put_u64(b, m->bytes);
	return msg_put_done(b);
}

int
msg_verify_result_get(abk_rd *r, struct msg_verify_result *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->snapshot, sizeof(m->snapshot));
	abk_get_u64(r, &m->checked);
	abk_get_u64(r, &m->missing);
	abk_get_u64(r, &m->damaged);
	abk_get_u64(r, &m->bytes);
	return msg_done(r, err, "VERIFY_RESULT");
}

int
msg_push_begin_put(abk_buf *b, const char *source, const char *origin, uint8_t flags,
    uint64_t entries, uint64_t bytes)
{
	abk_put_cstr(b, source);
	abk_put_cstr(b, origin);
	abk_put_u8(b, flags);
	abk_put_u64(b, entries);
	abk_put_u64(b, bytes);
	return msg_put_done(b);
}

int
msg_push_begin_get(abk_rd *r, struct msg_push_begin *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->source, sizeof(m->source));
	abk_get_cstr(r, m->origin, sizeof(m->origin));
	abk_get_u8(r, &m->flags);
	abk_get_u64(r, &m->entries);
	abk_get_u64(r, &m->bytes);
	return msg_done(r, err, "PUSH_BEGIN");
}

int
msg_push_ready_put(abk_buf *b, uint32_t max_batch)
{
	abk_put_u32(b, max_batch);
	return msg_put_done(b);
}

int
msg_push_ready_get(abk_rd *r, uint32_t *max_batch, abk_err *err)
{
	*max_batch = 0;
	abk_get_u32(r, max_batch);
	return msg_done(r, err, "PUSH_READY");
}

int
msg_need_put(abk_buf *b, uint32_t index)
{
	abk_put_u32(b, index);
	return msg_put_done(b);
}

int
msg_need_get(abk_rd *r, uint32_t *index, abk_err *err)
{
	*index = 0;
	abk_get_u32(r, index);
	return msg_done(r, err, "PUSH_NEED");
}

int
msg_pieces_put(abk_buf *b, const struct msg_pieces *m)
{
	abk_put_u32(b, m->index);
	abk_put_u64(b, m->prev_size);
	abk_put_u32(b, m->n);
	abk_put_bytes(b, m->hashes, (size_t)m->n * ABK_PIECE_HASH_LEN);
	return msg_put_done(b);
}

int
msg_pieces_get(abk_rd *r, struct msg_pieces *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_u32(r, &m->index);
	abk_get_u64(r, &m->prev_size);
	abk_get_u32(r, &m->n);
	if (!r->failed && m->n > PROTO_PIECES_MAX)
		return abk_err_set(err, ABK_E_LIMIT, "PUSH_PIECES: %u pieces, more than %u",
		    m->n, PROTO_PIECES_MAX);
	if (!r->failed && (size_t)m->n * ABK_PIECE_HASH_LEN > r->left)
		r->failed = 1;
	if (!r->failed) {
		m->hashes = r->p;
		r->p += (size_t)m->n * ABK_PIECE_HASH_LEN;
		r->left -= (size_t)m->n * ABK_PIECE_HASH_LEN;
	}
	return msg_done(r, err, "PUSH_PIECES");
}

int
msg_push_skip_put(abk_buf *b, uint32_t index, const char *reason)
{
	abk_put_u32(b, index);
	abk_put_cstr(b, reason);
	return msg_put_done(b);
}

int
msg_push_skip_get(abk_rd *r, struct msg_push_skip *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_u32(r, &m->index);
	abk_get_str(r, &m->reason, &m->reason_len, PROTO_MESSAGE_MAX);
	return msg_done(r, err, "PUSH_SKIP");
}

int
msg_digest_put(abk_buf *b, const uint8_t digest[ABK_DIGEST_LEN])
{
	abk_put_bytes(b, digest, ABK_DIGEST_LEN);
	return msg_put_done(b);
}

int
msg_digest_get(abk_rd *r, uint8_t type, uint8_t digest[ABK_DIGEST_LEN], abk_err *err)
{
	const char *name = proto_type_name(type);

	memset(digest, 0, ABK_DIGEST_LEN);
	abk_get_bytes(r, digest, ABK_DIGEST_LEN);
	return msg_done(r, err, name != NULL ? name : "digest");
}

int
msg_zip_end_put(abk_buf *b, uint64_t length, const uint8_t digest[ABK_DIGEST_LEN])
{
	abk_put_u64(b, length);
	abk_put_bytes(b, digest, ABK_DIGEST_LEN);
	return msg_put_done(b);
}

int
msg_zip_end_get(abk_rd *r, struct msg_zip_end *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_u64(r, &m->length);
	abk_get_bytes(r, m->digest, sizeof(m->digest));
	return msg_done(r, err, "ZIP_END");
}

int
msg_push_verdict_put(abk_buf *b, const struct msg_push_verdict *m)
{
	abk_put_cstr(b, m->snapshot);
	abk_put_u64(b, m->added);
	abk_put_u64(b, m->changed);
	abk_put_u64(b, m->removed);
	abk_put_u64(b, m->unchanged);
	abk_put_u64(b, m->bytes_received);
	abk_put_u64(b, m->bytes_stored);
	abk_put_u64(b, m->kept);
	return msg_put_done(b);
}

int
msg_push_verdict_get(abk_rd *r, struct msg_push_verdict *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->snapshot, sizeof(m->snapshot));
	abk_get_u64(r, &m->added);
	abk_get_u64(r, &m->changed);
	abk_get_u64(r, &m->removed);
	abk_get_u64(r, &m->unchanged);
	abk_get_u64(r, &m->bytes_received);
	abk_get_u64(r, &m->bytes_stored);
	abk_get_u64(r, &m->kept);
	return msg_done(r, err, "PUSH_VERDICT");
}

int
msg_restore_put(abk_buf *b, const char *source, const char *snapshot, uint8_t flags,
    const char *const *paths, uint32_t n_paths)
{
	abk_put_cstr(b, source);
	abk_put_cstr(b, snapshot != NULL ? snapshot : "");
	abk_put_u8(b, flags);
	abk_put_u32(b, n_paths);
	for (uint32_t i = 0; i < n_paths; i++)
		abk_put_cstr(b, paths[i]);
	return msg_put_done(b);
}

int
msg_restore_get(abk_rd *r, struct msg_restore *m, abk_err *err)
{
	char path[ABK_PATH_MAX + 1];

	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->source, sizeof(m->source));
	abk_get_cstr(r, m->snapshot, sizeof(m->snapshot));
	abk_get_u8(r, &m->flags);
	abk_get_u32(r, &m->n_paths);
	if (r->failed)
		return abk_rd_error(r, err, "RESTORE");
	if (m->n_paths > PROTO_RESTORE_PATHS_MAX)
		return abk_err_set(err, ABK_E_LIMIT, "RESTORE: more than %u paths",
		    PROTO_RESTORE_PATHS_MAX);
	/* Every path checked now, before the caller looks anything up. */
	m->paths = *r;
	for (uint32_t i = 0; i < m->n_paths; i++)
		if (abk_get_cstr(r, path, sizeof(path)) != 0)
			return abk_rd_error(r, err, "RESTORE path");
	m->paths.left -= r->left;	/* exactly the paths */
	return ABK_OK;
}

int
msg_restore_next_path(struct msg_restore *m, char path[ABK_PATH_MAX + 1])
{
	if (m->paths.left == 0)
		return -1;
	return abk_get_cstr(&m->paths, path, ABK_PATH_MAX + 1);
}

int
msg_restore_begin_put(abk_buf *b, const struct msg_restore_begin *m)
{
	abk_put_cstr(b, m->snapshot);
	abk_put_cstr(b, m->origin);
	abk_put_u8(b, m->single_file);
	abk_put_u64(b, m->entries);
	abk_put_u64(b, m->bytes);
	return msg_put_done(b);
}

int
msg_restore_begin_get(abk_rd *r, struct msg_restore_begin *m, abk_err *err)
{
	memset(m, 0, sizeof(*m));
	abk_get_cstr(r, m->snapshot, sizeof(m->snapshot));
	abk_get_cstr(r, m->origin, sizeof(m->origin));
	abk_get_u8(r, &m->single_file);
	abk_get_u64(r, &m->entries);
	abk_get_u64(r, &m->bytes);
	return msg_done(r, err, "RESTORE_BEGIN");
}

int
msg_zip_begin_put(abk_buf *b, const struct transfer_unit *u, uint32_t n)
{
	abk_put_u32(b, n);
	for (uint32_t i = 0; i < n; i++) {
		abk_put_u32(b, u[i].index);
		abk_put_u64(b, u[i].offset);
		abk_put_u64(b, u[i].len);
		abk_put_u8(b, u[i].flags);
	}
	return msg_put_done(b);
}

int
msg_zip_begin_get(abk_rd *r, struct transfer_unit *u, uint32_t max, uint32_t *n,
    abk_err *err)
{
	uint32_t count = 0;

	abk_get_u32(r, &count);
	if (!r->failed && count > max)	/* a limit, not a malformed frame */
		return abk_err_set(err, ABK_E_LIMIT, "ZIP_BEGIN with %u units: a zip batch "
		    "holds at most %u", count, max);
	if (r->failed || count == 0)
		return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN with %u entries (1 to %u allowed)",
		    count, max);
	for (uint32_t i = 0; i < count; i++) {
		abk_get_u32(r, &u[i].index);
		abk_get_u64(r, &u[i].offset);
		abk_get_u64(r, &u[i].len);
		abk_get_u8(r, &u[i].flags);
		if (r->failed)
			return abk_err_set(err, ABK_E_PROTO, "truncated ZIP_BEGIN");
		if (u[i].flags & ~TRANSFER_REUSE)
			return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN: unknown flags 0x%x",
			    u[i].flags);
		if ((u[i].flags & TRANSFER_REUSE) && (u[i].offset % PROTO_PIECE != 0 ||
		    u[i].len > PROTO_PIECE))
			return abk_err_set(err, ABK_E_PROTO, "ZIP_BEGIN: a reused piece that is "
			    "not a whole piece");
		if (u[i].len == 0 || u[i].len > PROTO_CHUNK_MAX)
			return abk_err_set(err, u[i].len == 0 ? ABK_E_PROTO : ABK_E_LIMIT,
			    "ZIP_BEGIN: a piece of %llu bytes (1 to %u allowed)",
			    (unsigned long long)u[i].len, PROTO_CHUNK_MAX);
	}
	if (r->left != 0)
		return abk_err_set(err, ABK_E_PROTO, "trailing bytes in ZIP_BEGIN");
	*n = count;
	return ABK_OK;
}
