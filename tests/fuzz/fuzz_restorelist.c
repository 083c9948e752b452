/*
 * fuzz_restorelist.c - libFuzzer target for the restore list the client
 * takes from the server (restore_list_take -> restore_list_add: duplicates,
 * a name inside something that is not a folder, a name before its folder,
 * anything outside the requested --path scope).
 *
 * Input: one byte n (0..3 requested paths), then n NUL-terminated paths,
 * then the stream of encoded entries of RESTORE_ENTRIES.  Whatever the list
 * says, an accepted one must hold no name twice, every name's folder must be
 * a folder listed before it (or above the scope), and every name must be in
 * scope; a refused one must say why.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "restore_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SCOPE 3

static int
under(const char *path, size_t len, const char *p)
{
	size_t plen = strlen(p);

	while (plen > 1 && p[plen - 1] == '/')
		plen--;
	return len >= plen && memcmp(path, p, plen) == 0 && (len == plen || path[plen] == '/');
}

/* The properties of an accepted list, checked the slow way. */
static void
check_list(const struct rjob *j, char *const *paths, size_t n_paths)
{
	for (size_t i = 0; i < j->n; i++) {
		const struct rentry *e = &j->v[i];
		size_t plen = e->path_len;
		int ok = n_paths == 0;

		for (size_t k = 0; k < n_paths && !ok; k++)
			ok = under(e->path, e->path_len, paths[k]);
		if (!ok)
			abort();	/* outside the scope */
		for (size_t k = 0; k < i; k++)
			if (j->v[k].path_len == e->path_len &&
			    memcmp(j->v[k].path, e->path, e->path_len) == 0)
				abort();	/* twice */
		while (plen > 0 && e->path[plen - 1] != '/')
			plen--;
		if (plen == 0)
			continue;
		plen--;
		ok = 0;
		for (size_t k = 0; k < i && !ok; k++)
			if (j->v[k].path_len == plen && memcmp(j->v[k].path, e->path, plen) == 0) {
				if (j->v[k].type != MF_DIR)
					abort();	/* inside a file or symlink */
				ok = 1;
			}
		for (size_t k = 0; k < n_paths && !ok; k++)
			ok = strlen(paths[k]) > plen && memcmp(paths[k], e->path, plen) == 0 &&
			    paths[k][plen] == '/';
		if (!ok)
			abort();	/* before its folder */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *paths[MAX_SCOPE + 1] = { NULL };
	size_t n_paths = 0, want;
	struct abk_restore_opts opts;
	struct rjob j;
	abk_err err = ABK_ERR_INIT;
	abk_rd r;
	int rc = ABK_OK;

	if (size < 1)
		return 0;
	want = data[0] % (MAX_SCOPE + 1);
	data++;
	size--;
	while (n_paths < want) {
		const uint8_t *nul = memchr(data, '\0', size);

		if (nul == NULL)
			goto out;
		paths[n_paths] = strndup((const char *)data, (size_t)(nul - data));
		if (paths[n_paths] == NULL)
			goto out;
		n_paths++;
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.paths = n_paths > 0 ? (const char *const *)paths : NULL;
	memset(&j, 0, sizeof(j));
	j.opts = &opts;
	j.rootfd = -1;
	j.cur_fd = -1;
	j.cur_dirfd = -1;
	if (restore_scope_init(&j, &err) != ABK_OK) {
		if (err.msg[0] == '\0')
			abort();
		goto done;
	}
	abk_rd_init(&r, data, size);
	while (r.left > 0 && j.n < 100000) {
		struct manifest_entry e;

		if ((rc = manifest_entry_decode(&r, &e, &err)) != ABK_OK)
			break;
		if ((rc = restore_list_take(&j, &e, &err)) != ABK_OK) {
			if (rc != err.code || err.msg[0] == '\0')
				abort();
			break;
		}
	}
	check_list(&j, paths, n_paths);	/* what was accepted, even before a refusal */
done:
	restore_scope_free(&j);
	if (j.tab_ready)
		pathtab_free(&j.tab);
	arena_free(&j.arena);
	free(j.v);
out:
	for (size_t i = 0; i < n_paths; i++)
		free(paths[i]);
	return 0;
}
