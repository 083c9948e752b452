/*
 * sizes.h - folder sizes computed on a background thread, as ncdu does.
 *
 * The UI thread posts the folders it shows (sizes_want replaces the queue);
 * the walker sums apparent file sizes below each (not following symlinks,
 * not crossing into what it cannot open) and stores the result in a cache
 * under s->lock, then writes a byte to wake_fd.  sizes_get reads the cache
 * under the lock.  The walker never calls curses.  sizes_stop asks it to
 * stop (checked between entries) and joins it.
 */
#ifndef ABT_SIZES_H
#define ABT_SIZES_H

#include <stddef.h>
#include <stdint.h>

struct sizes;

struct sizes *sizes_start(int wake_fd);
/* Compute these absolute folder paths (copied) next, dropping older wishes. */
void sizes_want(struct sizes *s, char *const *paths, size_t n);
/* 1 and *bytes when known, 0 while still counting. */
int sizes_get(struct sizes *s, const char *path, uint64_t *bytes);
/* Forget the cached sizes (after a folder changed). */
void sizes_forget(struct sizes *s);
void sizes_stop(struct sizes *s);

#endif
