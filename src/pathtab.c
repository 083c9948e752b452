/*
 * pathtab.c - open-addressing hash table of path indices (SipHash-2-4 keyed
 * at random per table) and a block arena for strings.  See pathtab.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pathtab.h"

#define ARENA_BLOCK 65536

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7, end = len - left;

	for (i = 0; i < end; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | p[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)p[end + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int
pathtab_init(struct pathtab *t, size_t expect, pathtab_key_fn key, void *ctx,
    abk_err *err)
{
	uint64_t k[2];
	size_t cap = 64;
	int rc;

	memset(t, 0, sizeof(*t));
	while (cap < expect * 2 && cap < ((size_t)1 << 40))
		cap <<= 1;
	rc = abk_random_bytes(k, sizeof(k), err);
	if (rc != ABK_OK)
		return rc;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL)
		return abk_err_set(err, ABK_E_NOMEM, "out of memory for a path table of %zu slots",
		    cap);
	t->mask = cap - 1;
	t->k0 = k[0];
	t->k1 = k[1];
	t->key = key;
	t->ctx = ctx;
	return ABK_OK;
}

void
pathtab_free(struct pathtab *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	t->slots = NULL;
	t->count = 0;
	t->mask = 0;
}

static int
slot_matches(const struct pathtab *t, const struct pathtab_slot *s, uint32_t h,
    const char *path, size_t len)
{
	const char *k;
	size_t klen;

	if (s->hash != h)
		return 0;
	k = t->key(t->ctx, s->idx1 - 1, &klen);
	return klen == len && memcmp(k, path, len) == 0;
}

int
pathtab_find(const struct pathtab *t, const char *path, size_t len, uint32_t *idx)
{
	uint64_t h;
	size_t i;

	if (t->slots == NULL)
		return 0;
	h = siphash(t->k0, t->k1, path, len);
	for (i = (size_t)h & t->mask; t->slots[i].idx1 != 0; i = (i + 1) & t->mask)
		if (slot_matches(t, &t->slots[i], (uint32_t)h, path, len)) {
			*idx = t->slots[i].idx1 - 1;
			return 1;
		}
	return 0;
}

static int
grow(struct pathtab *t)
{
	size_t ncap = (t->mask + 1) * 2, nmask = ncap - 1;
	struct pathtab_slot *ns;

	ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return -1;
	for (size_t i = 0; i <= t->mask; i++) {
		const struct pathtab_slot *s = &t->slots[i];
		const char *k;
		size_t klen, j;
		uint64_t h;

		if (s->idx1 == 0)
			continue;
		/* The stored 32 bits are not enough to place it in a bigger
		 * table: hash the key again. */
		k = t->key(t->ctx, s->idx1 - 1, &klen);
		h = siphash(t->k0, t->k1, k, klen);
		for (j = (size_t)h & nmask; ns[j].idx1 != 0; j = (j + 1) & nmask)
			;
		ns[j] = *s;
	}
	free(t->slots);
	t->slots = ns;
	t->mask = nmask;
	return 0;
}

int
pathtab_insert(struct pathtab *t, const char *path, size_t len, uint32_t idx,
    uint32_t *existing)
{
	uint64_t h;
	size_t i;

	if (t->slots == NULL)
		return -1;
	if ((t->count + 1) * 2 > t->mask + 1 && grow(t) != 0)
		return -1;
	h = siphash(t->k0, t->k1, path, len);
	for (i = (size_t)h & t->mask; t->slots[i].idx1 != 0; i = (i + 1) & t->mask)
		if (slot_matches(t, &t->slots[i], (uint32_t)h, path, len)) {
			if (existing != NULL)
				*existing = t->slots[i].idx1 - 1;
			return 1;
		}
	t->slots[i].idx1 = idx + 1;
	t->slots[i].hash = (uint32_t)h;
	t->count++;
	return 0;
}

struct arena_blk {
	struct arena_blk *next;
	size_t used, size;
	char data[];
};

char *
arena_dup(struct arena *a, const char *s, size_t len)
{
	struct arena_blk *b = a->head;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->size = size;
		/* A big string gets its own block behind the current one, so the
		 * current block keeps filling. */
		if (len + 1 > ARENA_BLOCK && a->head != NULL) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = b->data + b->used;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

void
arena_free(struct arena *a)
{
	struct arena_blk *b = a->head, *next;

	while (b != NULL) {
		next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}
