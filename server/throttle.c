/*
 * throttle.c - the failed-login slowdown table: growing delays per key
 * (user name or peer address), forgotten on success or after a quiet period,
 * in a fixed-size array guarded by one mutex.  See throttle.h for the rules.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "throttle.h"

struct throttle_entry {
	char te_key[THROTTLE_KEY_MAX + 1];	/* "" = free slot */
	unsigned te_failures;
	int64_t te_last_ms;			/* time of the last failure */
};

struct throttle {
	pthread_mutex_t t_lock;
	size_t t_capacity;
	size_t t_count;				/* slots in use */
	int64_t t_expire_ms;			/* forget a key this long after its last failure */
	struct throttle_entry *t_entries;
};

unsigned
throttle_delay_for_failures(unsigned failures)
{
	unsigned delay = THROTTLE_BASE_MS;

	if (failures <= THROTTLE_FREE_FAILURES)
		return 0;
	/* Double once per failure past the first costly one, stop at the cap. */
	for (unsigned i = THROTTLE_FREE_FAILURES + 1; i < failures; i++) {
		delay *= 2;
		if (delay >= THROTTLE_MAX_MS)
			return THROTTLE_MAX_MS;
	}
	return delay < THROTTLE_MAX_MS ? delay : THROTTLE_MAX_MS;
}

struct throttle *
throttle_new(size_t capacity)
{
	struct throttle *t;

	if (capacity == 0 || capacity > SIZE_MAX / sizeof(struct throttle_entry))
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->t_entries = calloc(capacity, sizeof(*t->t_entries))) == NULL) {
		free(t);
		return NULL;
	}
	if (pthread_mutex_init(&t->t_lock, NULL) != 0) {
		free(t->t_entries);
		free(t);
		return NULL;
	}
	t->t_capacity = capacity;
	t->t_expire_ms = THROTTLE_EXPIRE_MS;
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->t_lock);
	free(t->t_entries);
	free(t);
}

/* Copy key into a fixed buffer, cut to THROTTLE_KEY_MAX bytes. */
static void
key_copy(char dst[THROTTLE_KEY_MAX + 1], const char *key)
{
	size_t n = strnlen(key, THROTTLE_KEY_MAX);

	memcpy(dst, key, n);
	dst[n] = '\0';
}

void
throttle_set_expire(struct throttle *t, int64_t expire_ms)
{
	if (t != NULL && expire_ms > 0)
		t->t_expire_ms = expire_ms;
}

static int
expired(const struct throttle *t, const struct throttle_entry *e, int64_t now_ms)
{
	/* A clock that went backwards counts as no time passed. */
	return now_ms > e->te_last_ms && now_ms - e->te_last_ms >= t->t_expire_ms;
}

static void
entry_clear(struct throttle *t, struct throttle_entry *e)
{
	if (e->te_key[0] == '\0')
		return;
	memset(e, 0, sizeof(*e));
	t->t_count--;
}

/* The entry for key, or NULL; an expired entry is dropped and NULL returned. */
static struct throttle_entry *
lookup(struct throttle *t, const char *key, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];

	key_copy(k, key);
	for (size_t i = 0; i < t->t_capacity; i++) {
		struct throttle_entry *e = &t->t_entries[i];

		if (e->te_key[0] == '\0' || strcmp(e->te_key, k) != 0)
			continue;
		if (expired(t, e, now_ms)) {
			entry_clear(t, e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

/* A slot for a new key: a free one, else an expired one, else the oldest. */
static struct throttle_entry *
slot_for_new(struct throttle *t, int64_t now_ms)
{
	struct throttle_entry *oldest = NULL;

	for (size_t i = 0; i < t->t_capacity; i++) {
		struct throttle_entry *e = &t->t_entries[i];

		if (e->te_key[0] == '\0')
			return e;
		if (expired(t, e, now_ms)) {
			entry_clear(t, e);
			return e;
		}
		if (oldest == NULL || e->te_last_ms < oldest->te_last_ms)
			oldest = e;
	}
	if (oldest != NULL)		/* NULL only for a zero capacity */
		entry_clear(t, oldest);
	return oldest;
}

unsigned
throttle_delay_ms(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e;
	unsigned delay = 0;

	if (t == NULL || key == NULL || key[0] == '\0')
		return 0;
	pthread_mutex_lock(&t->t_lock);
	if ((e = lookup(t, key, now_ms)) != NULL) {
		int64_t until = e->te_last_ms + throttle_delay_for_failures(e->te_failures);

		if (until > now_ms)
			delay = (unsigned)(until - now_ms);
	}
	pthread_mutex_unlock(&t->t_lock);
	return delay;
}

void
throttle_fail(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e;

	if (t == NULL || key == NULL || key[0] == '\0')
		return;
	pthread_mutex_lock(&t->t_lock);
	if ((e = lookup(t, key, now_ms)) == NULL) {
		if ((e = slot_for_new(t, now_ms)) == NULL) {
			pthread_mutex_unlock(&t->t_lock);
			return;
		}
		key_copy(e->te_key, key);
		t->t_count++;
	}
	if (e->te_failures < 1000000u)
		e->te_failures++;
	if (now_ms > e->te_last_ms || e->te_failures == 1)
		e->te_last_ms = now_ms;
	pthread_mutex_unlock(&t->t_lock);
}

void
throttle_success(struct throttle *t, const char *key)
{
	char k[THROTTLE_KEY_MAX + 1];

	if (t == NULL || key == NULL || key[0] == '\0')
		return;
	key_copy(k, key);
	pthread_mutex_lock(&t->t_lock);
	for (size_t i = 0; i < t->t_capacity; i++) {
		struct throttle_entry *e = &t->t_entries[i];

		if (e->te_key[0] != '\0' && strcmp(e->te_key, k) == 0) {
			entry_clear(t, e);
			break;
		}
	}
	pthread_mutex_unlock(&t->t_lock);
}

unsigned
throttle_failures(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e;
	unsigned n = 0;

	if (t == NULL || key == NULL || key[0] == '\0')
		return 0;
	pthread_mutex_lock(&t->t_lock);
	if ((e = lookup(t, key, now_ms)) != NULL)
		n = e->te_failures;
	pthread_mutex_unlock(&t->t_lock);
	return n;
}

size_t
throttle_count(struct throttle *t)
{
	size_t n;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->t_lock);
	n = t->t_count;
	pthread_mutex_unlock(&t->t_lock);
	return n;
}
