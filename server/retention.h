/*
 * retention.h - the retention policy: which published snapshots of a source
 * are kept after a push (unless the account is append-only) and by `prune`.
 *
 * Today the policy is a count (keep_last).  The time-based rules (keep
 * hourly/daily/weekly/monthly/yearly, keep everything within a period) are
 * meant to be further fields here: a field left 0 means "rule off", a
 * snapshot is kept when any rule keeps it, and retention_select is the only
 * function that reads the fields.  The struct is plain data, copied by value
 * (struct srv_config holds one; `serve --keep` and `prune --keep` fill it).
 */
#ifndef ABS_RETENTION_H
#define ABS_RETENTION_H

#include <stddef.h>

#include "abkerr.h"

#define RETENTION_DEFAULT_KEEP_LAST 7
#define RETENTION_KEEP_LAST_MAX 100000

struct retention_policy {
	unsigned keep_last;	/* the newest N are kept; >= 1 */
};

/* The server's default policy (keep the last 7). */
void retention_policy_default(struct retention_policy *p);

/*
 * ABK_OK if p keeps at least one snapshot, else ABK_E_USAGE
 * "WHAT must keep at least one snapshot" (p may be NULL: refused).
 */
int retention_check(const struct retention_policy *p, const char *what, abk_err *err);

/*
 * Mark in drop[0..nids) (1 = remove) the snapshots p does not keep; ids are
 * snapshot IDs, oldest first (they are UTC times, storage.h).  Returns how
 * many are marked.  Pure: the caller removes them (and skips pinned ones).
 */
size_t retention_select(const struct retention_policy *p, char *const *ids, size_t nids,
    unsigned char *drop);

#endif
