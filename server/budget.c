/*
 * budget.c - per-user and total amounts of one resource (budget.h).
 *
 * The table is small (one row per user with something charged) and every
 * call is a short scan under the budget's own mutex, never under the server
 * lock, so a budget can be used from any session thread.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "proto.h"

struct budget_row {
	char user[PROTO_USER_MAX + 1];
	uint64_t used;			/* 0 = free row */
};

struct budget {
	pthread_mutex_t lock;
	char name[48];
	char option[32];
	uint64_t total_max, user_max;	/* 0 = unlimited */
	uint64_t total;
	struct budget_row *rows;
	size_t n_rows, cap_rows;
};

struct budget *
budget_new(const char *name, const char *option, uint64_t total_max, uint64_t user_max)
{
	struct budget *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->option, sizeof(b->option), "%s", option);
	b->total_max = total_max;
	b->user_max = user_max;
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->rows);
	free(b);
}

/* Row of user, or a new one (create), or NULL.  Caller holds the lock. */
static struct budget_row *
budget_row(struct budget *b, const char *user, int create)
{
	struct budget_row *free_row = NULL;

	for (size_t i = 0; i < b->n_rows; i++) {
		if (b->rows[i].used > 0 && strcmp(b->rows[i].user, user) == 0)
			return &b->rows[i];
		if (b->rows[i].used == 0 && free_row == NULL)
			free_row = &b->rows[i];
	}
	if (!create)
		return NULL;
	if (free_row == NULL) {
		if (b->n_rows == b->cap_rows) {
			size_t cap = b->cap_rows ? b->cap_rows * 2 : 16;
			struct budget_row *r = realloc(b->rows, cap * sizeof(*r));

			if (r == NULL)
				return NULL;
			b->rows = r;
			b->cap_rows = cap;
		}
		free_row = &b->rows[b->n_rows++];
		free_row->used = 0;
	}
	snprintf(free_row->user, sizeof(free_row->user), "%s", user);
	return free_row;
}

static int
budget_charge_max(struct budget *b, const char *user, uint64_t n, int enforce, abk_err *err)
{
	struct budget_row *row;
	uint64_t mine;
	int rc = ABK_OK;

	if (n == 0)
		return ABK_OK;
	pthread_mutex_lock(&b->lock);
	row = budget_row(b, user, 0);
	mine = row != NULL ? row->used : 0;
	if (enforce && b->total_max > 0 && (n > b->total_max || b->total > b->total_max - n)) {
		rc = abk_err_set(err, ABK_E_LIMIT, "%s: %llu MiB asked, %llu MiB of the "
		    "server's %llu MiB (%s) in use; try again later or with less",
		    b->name, (unsigned long long)(n >> 20), (unsigned long long)(b->total >> 20),
		    (unsigned long long)(b->total_max >> 20), b->option);
		goto out;
	}
	if (enforce && b->user_max > 0 && (n > b->user_max || mine > b->user_max - n)) {
		rc = abk_err_set(err, ABK_E_LIMIT, "%s: %llu MiB asked, %llu MiB of one "
		    "user's share of %llu MiB (%s) in use by your other sessions",
		    b->name, (unsigned long long)(n >> 20), (unsigned long long)(mine >> 20),
		    (unsigned long long)(b->user_max >> 20), b->option);
		goto out;
	}
	if (row == NULL && (row = budget_row(b, user, 1)) == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory");
		goto out;
	}
	row->used += n;
	b->total += n;
out:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int
budget_charge(struct budget *b, const char *user, uint64_t n, abk_err *err)
{
	return budget_charge_max(b, user, n, 1, err);
}

int
budget_add(struct budget *b, const char *user, uint64_t n, abk_err *err)
{
	return budget_charge_max(b, user, n, 0, err);
}

void
budget_release(struct budget *b, const char *user, uint64_t n)
{
	struct budget_row *row;

	pthread_mutex_lock(&b->lock);
	row = budget_row(b, user, 0);
	if (row != NULL) {
		if (n > row->used)
			n = row->used;
		row->used -= n;
		b->total -= n;
	}
	pthread_mutex_unlock(&b->lock);
}

uint64_t
budget_user_used(struct budget *b, const char *user)
{
	struct budget_row *row;
	uint64_t n;

	pthread_mutex_lock(&b->lock);
	row = budget_row(b, user, 0);
	n = row != NULL ? row->used : 0;
	pthread_mutex_unlock(&b->lock);
	return n;
}

uint64_t
budget_total_used(struct budget *b)
{
	uint64_t n;

	pthread_mutex_lock(&b->lock);
	n = b->total;
	pthread_mutex_unlock(&b->lock);
	return n;
}

uint64_t
budget_default_list_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t q = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / 4 : 0;

	return q > (64u << 20) ? q : 64u << 20;
}
