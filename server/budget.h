/*
 * budget.h - a server-wide amount of one resource, counted per user and in
 * total, with optional maxima: the memory the file lists of running pushes
 * hold (invariant 8: one user's huge push cannot take the server's memory)
 * and the bytes of running pushes not yet committed (quota in flight).
 *
 * A budget is thread-safe on its own (its own mutex); sessions charge what
 * they are about to hold and release exactly that when they are done.
 * name and option name the limit in refusals ("file-list memory",
 * "--list-memory").
 */
#ifndef ABS_BUDGET_H
#define ABS_BUDGET_H

#include <stdint.h>

#include "abkerr.h"

struct budget;

/* total_max / user_max 0 = unlimited.  NULL when out of memory. */
struct budget *budget_new(const char *name, const char *option, uint64_t total_max,
    uint64_t user_max);
void budget_free(struct budget *b);	/* NULL-safe */

/*
 * Charge n to user.  ABK_OK, or ABK_E_LIMIT (nothing charged; err names the
 * limit, the amount asked and what is in use) when the total or the user's
 * share would pass its maximum, or ABK_E_NOMEM.
 */
int budget_charge(struct budget *b, const char *user, uint64_t n, abk_err *err);
/* Charge n to user without any maximum (counting only). */
int budget_add(struct budget *b, const char *user, uint64_t n, abk_err *err);
/* Give back n (at most what user holds). */
void budget_release(struct budget *b, const char *user, uint64_t n);

/* What user holds now / what everyone holds. */
uint64_t budget_user_used(struct budget *b, const char *user);
uint64_t budget_total_used(struct budget *b);

/*
 * File-list memory per entry of a push, an estimate: the entry as received,
 * its plan record and the previous manifest's entry (measured: 10 million
 * entries cost the server about 1.5 GB).
 */
#define BUDGET_LIST_BYTES_PER_ENTRY 160u

/* Default --list-memory: a quarter of physical memory, at least 64 MiB. */
uint64_t budget_default_list_memory(void);

#endif
