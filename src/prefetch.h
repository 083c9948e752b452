/*
 * prefetch.h - open the files of a zip batch ahead of zipping them and ask
 * the kernel to start reading them (POSIX_FADV_WILLNEED), so that on a cold
 * cache the disk reads the whole batch while its first files are being
 * zipped, instead of one file's read at a time.  Used by the client's push
 * builders and the server's restore builder; each says how a file of its
 * own is opened (with its own confinement rules).
 *
 * Files are taken in the order of the units; the caller owns a taken fd.
 * Opening is best effort: a file that will not open stops the prefetch and
 * is opened (and its error reported) by the caller when its turn comes;
 * running out of file descriptors also gives back the ones taken, so that
 * the caller's own opens do not fail because of the prefetch.
 */
#ifndef ABK_PREFETCH_H
#define ABK_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "transfer.h"

/* Files held open ahead by one batch, at most: a batch of small files
 * (about 200 of 20 KB) whole.  32 per batch gained a fifth of what 256 did
 * on a cold restore of 20,000 files.  Callers running several builders
 * share this among them (prefetch_start's max). */
#define PREFETCH_FILES 256

/* Open file index read-only into *fd: 0, or -1 with errno to stop. */
typedef int (*prefetch_open_fn)(void *ctx, uint32_t index, int *fd);

struct prefetch {
	int fd[PREFETCH_FILES];
	uint32_t index[PREFETCH_FILES];
	size_t n, next;
};

/* Open and announce the files of units[0..n) (reuse units skipped), at most
 * max (<= PREFETCH_FILES) of them. */
void prefetch_start(struct prefetch *pf, const struct transfer_unit *units, size_t n,
    size_t max, prefetch_open_fn open_file, void *ctx);
/* The prefetched fd of file index, now the caller's, or -1 if there is none. */
int prefetch_take(struct prefetch *pf, uint32_t index);
/* Close what was not taken. */
void prefetch_end(struct prefetch *pf);

#endif
