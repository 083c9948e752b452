/*
 * snapname.h - snapshots by name: what `--snapshot` accepts, resolved on the
 * client against the source's snapshot list (issue 10, item 2).
 *
 * A SPEC is one of:
 *   latest            the newest snapshot
 *   latest~N          N snapshots before the newest (latest~0 = latest)
 *   a full ID         YYYYMMDDTHHMMSS.mmmZ, as the server names snapshots
 *   a unique prefix   of an ID ("20261129T14" = the one taken at 14h that day)
 *   a time            YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS
 *                     (a space may replace the T), local time unless it ends
 *                     in Z: the newest snapshot at or before the END of the
 *                     unit given (a date = the whole day, a minute = the
 *                     whole minute)
 * Errors: ABK_E_USAGE for an ambiguous prefix or a malformed time (the
 * message lists the candidates), ABK_E_NOTFOUND when nothing matches (the
 * message lists the newest snapshots there are).
 */
#ifndef ABK_SNAPNAME_H
#define ABK_SNAPNAME_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define ABK_SNAPSHOT_ID_MAX 80

/* One snapshot of a collected list (owned by the list). */
struct abk_snap {
	char id[ABK_SNAPSHOT_ID_MAX];
	int64_t time;
	uint64_t files, bytes;
};

/* A source's snapshots, oldest first (sorted by ID, which sorts by time). */
struct abk_snaplist {
	struct abk_snap *v;
	size_t n, cap;
};

/* Fetch every snapshot of source into l (emptied first); free with _free. */
int abk_snaplist_fetch(abk_client *c, const char *source, struct abk_snaplist *l,
    abk_err *err);
/* Append one (for tests and other producers); keeps no order: call _sort. */
int abk_snaplist_add(struct abk_snaplist *l, const char *id, int64_t time, uint64_t files,
    uint64_t bytes, abk_err *err);
void abk_snaplist_sort(struct abk_snaplist *l);
void abk_snaplist_free(struct abk_snaplist *l);

/*
 * Pure: pick the snapshot spec names in l (sorted); *index gets its place.
 * NULL or "" spec = latest.
 */
int abk_snapshot_pick(const struct abk_snaplist *l, const char *spec, size_t *index,
    abk_err *err);

/*
 * Resolve spec for source on the server: id gets the full snapshot ID.  A
 * NULL spec resolves to the latest too (one listing round trip).
 */
int abk_snapshot_resolve(abk_client *c, const char *source, const char *spec, char *id,
    size_t idsz, abk_err *err);

#endif
