/*
 * prefetch.c - files of a batch opened and read ahead (see prefetch.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "prefetch.h"

void
prefetch_start(struct prefetch *pf, const struct transfer_unit *units, size_t n,
    size_t max, prefetch_open_fn open_file, void *ctx)
{
	if (max > PREFETCH_FILES)
		max = PREFETCH_FILES;
	pf->n = pf->next = 0;
	for (size_t i = 0; i < n && pf->n < max; i++) {
		const struct transfer_unit *u = &units[i];
		int fd;

		if ((u->flags & TRANSFER_REUSE) ||
		    (pf->n > 0 && pf->index[pf->n - 1] == u->index))
			continue;	/* not read, or the next piece of the same file */
		if (open_file(ctx, u->index, &fd) != 0) {
			if (errno == EMFILE || errno == ENFILE)
				prefetch_end(pf);
			break;
		}
#ifdef HAVE_POSIX_FADVISE
		(void)posix_fadvise(fd, (off_t)u->offset, (off_t)u->len, POSIX_FADV_WILLNEED);
#endif
		pf->fd[pf->n] = fd;
		pf->index[pf->n++] = u->index;
	}
}

int
prefetch_take(struct prefetch *pf, uint32_t index)
{
	while (pf->next < pf->n && pf->index[pf->next] != index)
		close(pf->fd[pf->next++]);	/* passed over (a skipped file) */
	return pf->next < pf->n ? pf->fd[pf->next++] : -1;
}

void
prefetch_end(struct prefetch *pf)
{
	while (pf->next < pf->n)
		close(pf->fd[pf->next++]);
}
