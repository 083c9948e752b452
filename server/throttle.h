/*
 * throttle.h - failed-login slowdown (invariant 5, doc/ARCHITECTURE.md), per
 * user and per peer address.
 *
 * The server keeps one throttle table for the whole process.  Keys are short
 * strings naming what is being slowed down: "u:alice" for a user name,
 * "a:192.0.2.7" for a peer address.  Each failed login adds one to the key's
 * failure count; the first THROTTLE_FREE_FAILURES failures cost nothing, then
 * the delay before the next credential check doubles from THROTTLE_BASE_MS up
 * to THROTTLE_MAX_MS.  A success forgets the key; a key with no failure for
 * THROTTLE_EXPIRE_MS is forgotten too.
 *
 * Memory is bounded: the table holds at most `capacity` keys, and when it is
 * full a new key evicts the entry whose last failure is the oldest, so a
 * hostile peer inventing names or addresses cannot grow the server.  Every
 * operation is a linear scan of at most `capacity` entries: no hash function
 * for an attacker to aim collisions at, and a predictable worst case.
 *
 * Time is given by the caller in milliseconds of a monotonic clock
 * (CLOCK_MONOTONIC), so tests can drive it and wall-clock jumps do not matter.
 *
 * Thread-safety: every function taking a struct throttle * may be called from
 * any thread at the same time; a mutex inside the struct guards the table.
 * throttle_new and throttle_free are not concurrent with anything else.
 */
#ifndef ABS_THROTTLE_H
#define ABS_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_FREE_FAILURES 3	/* failures that cost no delay */
#define THROTTLE_BASE_MS 250u		/* delay after the first costly failure */
#define THROTTLE_MAX_MS 8000u		/* delay cap */
#define THROTTLE_EXPIRE_MS (15 * 60 * 1000)	/* forget a key after this */
#define THROTTLE_KEY_MAX 63		/* longer keys are cut to this many bytes */

struct throttle;

/*
 * The delay in milliseconds that follows `failures` consecutive failures:
 * 0 up to THROTTLE_FREE_FAILURES, then THROTTLE_BASE_MS doubling with each
 * further failure, never above THROTTLE_MAX_MS.  Pure function.
 */
unsigned throttle_delay_for_failures(unsigned failures);

/*
 * A new empty table holding at most capacity keys (capacity >= 1).  Returns
 * NULL if capacity is 0 or memory runs out.  Free with throttle_free.
 */
struct throttle *throttle_new(size_t capacity);

/* Free the table; NULL is ignored. */
void throttle_free(struct throttle *t);

/*
 * How long, in ms from now_ms, the caller must wait before checking the
 * credentials of `key`: the time left until the key's last failure plus
 * throttle_delay_for_failures(failures), or 0.  Unknown and expired keys
 * give 0.  NULL and empty keys are ignored (0, no entry).
 */
unsigned throttle_delay_ms(struct throttle *t, const char *key, int64_t now_ms);

/*
 * Forget keys expire_ms after their last failure instead of
 * THROTTLE_EXPIRE_MS (expire_ms > 0; call before other threads use t).  The
 * server also uses a table as a bounded set of recent events (the addresses
 * a user logged in from): throttle_fail records one, throttle_failures > 0
 * says it is still there.
 */
void throttle_set_expire(struct throttle *t, int64_t expire_ms);

/* Record one failure of key at now_ms (adds the key, evicting if full). */
void throttle_fail(struct throttle *t, const char *key, int64_t now_ms);

/* Forget key: a successful login starts it from zero. */
void throttle_success(struct throttle *t, const char *key);

/* Current failure count of key (0 for unknown or expired keys). */
unsigned throttle_failures(struct throttle *t, const char *key, int64_t now_ms);

/* Number of keys in the table (expired ones included until reused). */
size_t throttle_count(struct throttle *t);

#endif
