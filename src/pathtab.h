/*
 * pathtab.h - a path -> index hash table and a string arena, for storage.
 *
 * A push looks every client path up in the previous snapshot's list, in its
 * own list (duplicates, parents) and in the staging journal, so these tables
 * hold millions of paths.  The table stores only 32-bit indices (the paths
 * live in the caller's arrays, fetched through a callback) and hashes with
 * SipHash-2-4 under a random key, so a client cannot choose names that all
 * collide.  The arena copies strings in 64 KiB blocks instead of one malloc
 * per path.  Neither is thread-safe: one owner at a time.
 */
#ifndef ABK_PATHTAB_H
#define ABK_PATHTAB_H

#include <stddef.h>
#include <stdint.h>

#include "abkerr.h"

/* Return the key of entry idx and its length. */
typedef const char *(*pathtab_key_fn)(void *ctx, uint32_t idx, size_t *len);

struct pathtab_slot {
	uint32_t idx1;		/* index + 1; 0 = empty */
	uint32_t hash;		/* low bits of the hash, to skip most compares */
};

struct pathtab {
	struct pathtab_slot *slots;
	size_t mask;		/* capacity - 1 (a power of two) */
	size_t count;
	uint64_t k0, k1;
	pathtab_key_fn key;
	void *ctx;
};

/* Set up an empty table sized for about expect keys; ABK_OK or an error. */
int pathtab_init(struct pathtab *t, size_t expect, pathtab_key_fn key, void *ctx,
    abk_err *err);
void pathtab_free(struct pathtab *t);

/* 1 and *idx if path is present, else 0. */
int pathtab_find(const struct pathtab *t, const char *path, size_t len, uint32_t *idx);

/*
 * Insert idx under path (the key callback must already return path for
 * idx).  Returns 0, 1 if the path was present (*existing set, nothing
 * changed), or -1 out of memory.
 */
int pathtab_insert(struct pathtab *t, const char *path, size_t len, uint32_t idx,
    uint32_t *existing);

struct arena_blk;
struct arena {
	struct arena_blk *head;
};

/* Copy s[0..len) plus a NUL into the arena; NULL when out of memory. */
char *arena_dup(struct arena *a, const char *s, size_t len);
/* Free every block; the arena is empty and usable again. */
void arena_free(struct arena *a);

#endif
