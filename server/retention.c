/*
 * retention.c - which published snapshots a source keeps, and removing the
 * others: the policy (retention.h), retention after a publish (stg_retain),
 * the prune command (storage_prune), and the pins that keep a snapshot being
 * read out of retention's way.
 *
 * A snapshot is removed by renaming it to SOURCE/.trash-ID first (so
 * listings never show half of it) and then deleting that tree; a removal cut
 * short leaves only a .trash-* folder, which the next cleanup deletes
 * (storage_usage.c).  The usage cache is lowered by what a removal freed.
 *
 * Which snapshots a policy keeps is decided in retention_policy.c alone
 * (retention_explain); a new rule is a field there, nothing here changes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "retention.h"
#include "storage_int.h"

/*
 * Pins (issue 8 item 7): a reader holds a shared flock on the snapshot's
 * folder (storage_snapshot_open); retention takes an exclusive one without
 * waiting and skips the snapshot when it cannot.  flock, not a table in one
 * server's memory: the `prune` subcommand runs in another process, and a
 * pin must die with its holder.
 */
int
stg_pin_snapshot(int srcfd, const char *id, int snapfd, abk_err *err)
{
	struct stat a, b;

	if (flock(snapfd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return abk_err_set(err, ABK_E_NOTFOUND, "snapshot %s is being removed", id);
		return abk_err_set(err, ABK_E_IO, "pin snapshot %s: %s", id, strerror(errno));
	}
	/* Retention may have moved it aside between our open and our lock. */
	if (fstat(snapfd, &a) != 0 || fstatat(srcfd, id, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return abk_err_set(err, ABK_E_NOTFOUND, "snapshot %s was removed", id);
	return ABK_OK;
}

/* 1 (and *fd holds the exclusive lock) if nobody reads snapshot id. */
static int
snapshot_unpinned(int srcfd, const char *id, int *fd)
{
	*fd = openat(srcfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return 1;	/* gone or odd: removal reports it */
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	close(*fd);
	*fd = -1;
	return 0;
}

static int
remove_snapshot(storage_user *u, int srcfd, const char *id, abk_err *err)
{
	char trash[sizeof(STG_TRASH_PREFIX) + STORAGE_ID_LEN];
	uint64_t used, freed = 0;
	int lk, rc;

	snprintf(trash, sizeof(trash), "%s%s", STG_TRASH_PREFIX, id);
	lk = stg_usage_lock(u, err);
	if (lk < 0)
		return lk;
	rc = stg_usage_get_locked(u, lk, &used, err);
	if (rc == ABK_OK && renameat(srcfd, id, srcfd, trash) != 0)
		rc = abk_err_set(err, ABK_E_IO, "move snapshot %s aside: %s", id, strerror(errno));
	if (rc == ABK_OK)
		rc = fsops_remove(srcfd, trash, &freed, err);
	if (rc == ABK_OK)
		rc = stg_usage_add_locked(lk, -(int64_t)freed, err);
	stg_usage_unlock(lk);
	return rc;
}

void
storage_user_set_policy(storage_user *u, storage_policy_fn fn, void *ctx)
{
	u->policy_fn = fn;
	u->policy_ctx = ctx;
}

int
stg_policy_for(storage_user *u, const char *source, const struct retention_policy *dflt,
    struct retention_policy *out, abk_err *err)
{
	if (u->policy_fn != NULL)
		return u->policy_fn(u->policy_ctx, u->name, source, out, err);
	if (dflt == NULL)
		return abk_err_set(err, ABK_E_USAGE, "no retention policy");
	*out = *dflt;
	return ABK_OK;
}

/* stg_retain reporting each snapshot (o->report), removing nothing on a dry run. */
static int
stg_retain_ex(storage_user *u, int srcfd, const char *source,
    const struct retention_policy *pol, const struct storage_prune_opts *o, unsigned *removed,
    abk_err *err)
{
	char **ids = NULL, polbuf[128];
	unsigned *why = NULL;
	size_t nids = 0;
	int rc;

	rc = retention_check(pol, "retention", err);
	if (rc != ABK_OK)
		return rc;
	retention_format(pol, polbuf, sizeof(polbuf));
	rc = stg_list_ids(srcfd, &ids, &nids, err);
	if (rc == ABK_OK && nids > 0 && (why = calloc(nids, sizeof(*why))) == NULL)
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory applying retention");
	if (rc == ABK_OK)
		retention_explain(pol, ids, nids, why);
	/* What the policy drops goes, except those being read: they stay (a
	 * newer one is not removed in their place) until a later run. */
	for (size_t i = nids; rc == ABK_OK && i-- > 0;) {
		enum storage_prune_state st = PRUNE_KEPT;
		int pinfd = -1;

		if (why[i] != 0)
			st = PRUNE_KEPT;
		else if (o != NULL && o->dry_run)
			st = PRUNE_REMOVED;
		else if (!snapshot_unpinned(srcfd, ids[i], &pinfd))
			st = PRUNE_PINNED;
		else {
			rc = remove_snapshot(u, srcfd, ids[i], err);
			if (pinfd >= 0)
				close(pinfd);	/* held through the removal */
			if (rc != ABK_OK)
				break;
			st = PRUNE_REMOVED;
		}
		if (st == PRUNE_REMOVED && removed != NULL)
			(*removed)++;
		if (o != NULL && o->report != NULL)
			o->report(o->ctx, source, polbuf, ids[i], why[i], st);
	}
	free(why);
	fsops_names_free(ids, nids);
	return rc;
}

int
stg_retain(storage_user *u, int srcfd, const struct retention_policy *pol, unsigned *removed,
    abk_err *err)
{
	return stg_retain_ex(u, srcfd, NULL, pol, NULL, removed, err);
}

static int
prune_source(storage_user *u, const char *source, const struct storage_prune_opts *o,
    unsigned *removed, abk_err *err)
{
	struct retention_policy pol;
	int srcfd, lockfd, rc;

	if (o->pol != NULL)
		pol = *o->pol;
	else if ((rc = stg_policy_for(u, source, NULL, &pol, err)) != ABK_OK)
		return rc;
	srcfd = stg_open_source(u, source, 0, err);
	if (srcfd < 0)
		return srcfd;
	lockfd = stg_lock_source(srcfd, source, err);
	if (lockfd < 0) {
		close(srcfd);
		return lockfd;
	}
	rc = stg_retain_ex(u, srcfd, source, &pol, o, removed, err);
	close(lockfd);
	close(srcfd);
	return rc;
}

int
storage_prune_ex(storage_user *u, const char *source, const struct storage_prune_opts *o,
    unsigned *removed, abk_err *err)
{
	char **names = NULL;
	size_t count = 0;
	unsigned dummy = 0;
	int rc, first = ABK_OK;

	if (removed == NULL)
		removed = &dummy;
	*removed = 0;
	if (o->pol != NULL && (rc = retention_check(o->pol, "prune", err)) != ABK_OK)
		return rc;
	if (source != NULL)
		return prune_source(u, source, o, removed, err);
	rc = fsops_list_names(u->dirfd, &names, &count, err);
	if (rc != ABK_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (storage_check_source_name(names[i], NULL) != ABK_OK ||
		    fstatat(u->dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* A busy source does not stop the others; the first error is kept. */
		rc = prune_source(u, names[i], o, removed, err);
		if (rc != ABK_OK && first == ABK_OK)
			first = rc;
	}
	fsops_names_free(names, count);
	return first;
}

int
storage_prune(storage_user *u, const char *source, const struct retention_policy *pol,
    unsigned *removed, abk_err *err)
{
	struct storage_prune_opts o = { .pol = pol };

	if (pol == NULL)
		return retention_check(pol, "prune", err);
	return storage_prune_ex(u, source, &o, removed, err);
}
