/*
 * fsops.h - file operations on directory descriptors, for storage.
 *
 * Invariant 1 (doc/ARCHITECTURE.md): below a user's folder nothing is opened by
 * a joined path string.  A relative path is walked one component at a time
 * with openat(O_DIRECTORY|O_NOFOLLOW), files are created with
 * O_CREAT|O_EXCL|O_NOFOLLOW after unlinking whatever was there (so a write can
 * never go through a symlink or into a hard link shared with a published
 * snapshot), and trees are removed with unlinkat without following links.
 *
 * All functions are thread-safe in the sense that they share no state; an
 * fsops_dircache belongs to one thread.  Errors are reported through abk_err
 * with the errno text; "what" arguments name the object for the message.
 */
#ifndef ABK_FSOPS_H
#define ABK_FSOPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "abkerr.h"
#include "pathsafe.h"

/* Deepest relative path (in components) storage accepts below a tree. */
#define FSOPS_MAX_DEPTH 128

/*
 * A cache of open directory descriptors along one relative path below a
 * root, so consecutive paths in the same or nearby directories cost one
 * openat at most.  With create set, missing components are made (0700) and a
 * component that is not a directory (a file, or a symlink planted to lead
 * outside) is removed and replaced by a directory; without it such a path is
 * ABK_E_NOTFOUND.  Holds at most FSOPS_MAX_DEPTH descriptors.
 */
struct fsops_dircache {
	int root;				/* not owned */
	int create;
	unsigned depth;				/* directories open in fds[] */
	int fds[FSOPS_MAX_DEPTH];
	size_t ends[FSOPS_MAX_DEPTH];		/* end of component i in path */
	char path[ABK_PATH_MAX + 1];
};

void fsops_dircache_init(struct fsops_dircache *dc, int root, int create);
/* Close every cached descriptor (the cache stays usable). */
void fsops_dircache_reset(struct fsops_dircache *dc);

/*
 * For the relative path[0..len) (already checked with pathsafe), return in
 * *dirfd a descriptor of its parent directory (owned by the cache, valid
 * until the next call or reset) and copy its last component into name.
 * ABK_E_LIMIT if deeper than FSOPS_MAX_DEPTH, ABK_E_NOTFOUND if a parent is
 * missing or not a directory (without create), ABK_E_IO otherwise.
 */
int fsops_dircache_parent(struct fsops_dircache *dc, const char *path,
    size_t len, int *dirfd, char name[ABK_NAME_MAX + 1], abk_err *err);

/*
 * Open directory name below dirfd without following a symlink; with
 * create, make it (mode 0700) when missing and replace a non-directory.
 * Returns the new descriptor (>= 0, caller closes) or a negative abk_code:
 * ABK_E_NOTFOUND when missing or not a directory (without create).
 */
int fsops_open_dir(int dirfd, const char *name, int create, abk_err *err);

/*
 * Create a fresh regular file name below dirfd, mode 0600, for writing:
 * whatever was there (file, symlink, directory tree) is removed first, then
 * O_CREAT|O_EXCL|O_NOFOLLOW.  Returns the descriptor or a negative code.
 */
int fsops_create_file(int dirfd, const char *name, abk_err *err);

/*
 * Remove name below dirfd: unlink a non-directory, or empty and remove a
 * directory tree, never following symlinks.  A missing name is not an
 * error.  *freed (may be NULL) grows by the size of every regular file whose
 * last link went away.
 */
int fsops_remove(int dirfd, const char *name, uint64_t *freed, abk_err *err);

/* Copy regular file sname below sdir to a fresh dname below ddir (0600). */
int fsops_copy_file(int sdir, const char *sname, int ddir, const char *dname,
    abk_err *err);

/*
 * Read the whole regular file name below dirfd (no symlink followed) into a
 * malloc'd buffer (*data, caller frees; a NUL byte is added after *len bytes
 * so text can be parsed).  ABK_E_NOTFOUND if missing, ABK_E_LIMIT over max.
 */
int fsops_read_file(int dirfd, const char *name, size_t max, uint8_t **data,
    size_t *len, abk_err *err);

/* write(2) all of buf, retrying on EINTR and short writes; 0 or -1. */
int fsops_write_all(int fd, const void *buf, size_t len);
/* pwrite(2) all of buf at offset at, the same way; 0 or -1 with errno
 * (EIO when the file takes no more). */
int fsops_pwrite_all(int fd, const void *buf, size_t len, uint64_t at);

/*
 * Sparse writes (issue 12 item 4: a 20 GB disk image that is mostly zeros
 * must not become 20 GB of real zeros on the server and again on restore).
 * fsops_pwrite_sparse writes all of buf at offset at, except that every
 * FSOPS_HOLE_BLOCK-aligned block of zeros at or past zero_from is left
 * unwritten, as a hole.  zero_from is where the file is known to read as
 * zeros already (its size when opened: 0 for a fresh file); below it zeros
 * are written, since skipping them would leave the old bytes there.  When a
 * block is skipped *skipped is set (never cleared): the file may then end
 * short of its size, and fsops_sparse_end must set it.  Runs of non-zero
 * blocks go out in one pwrite.  0, or -1 with errno.
 */
#define FSOPS_HOLE_BLOCK 4096
int fsops_pwrite_sparse(int fd, const void *buf, size_t len, uint64_t at,
    uint64_t zero_from, int *skipped);
/* After the last sparse write: extend the file to size when it ends in a
 * hole (ftruncate; a longer file is left alone).  0, or -1 with errno. */
int fsops_sparse_end(int fd, uint64_t size);

/*
 * Names in directory fd (its own descriptor is not consumed), without "."
 * and "..", sorted by strcmp: *names is a malloc'd array of malloc'd
 * strings, free with fsops_names_free.  Each string carries, after its NUL,
 * the entry's type as readdir gave it: fsops_name_mode reads it.
 */
int fsops_list_names(int fd, char ***names, size_t *count, abk_err *err);
/* The file type (S_IFREG, S_IFDIR, ...) of a name from fsops_list_names as
 * the directory listed it, or 0 where the filesystem did not say (stat it).
 * Saves a stat per entry when walking a tree. */
mode_t fsops_name_mode(const char *name);
void fsops_names_free(char **names, size_t count);

/*
 * Printable form of an untrusted name for messages: abk_escape_name
 * (strutil.h) with '"' escaped too; long names are cut with "...".  Returns out.
 */
const char *fsops_quote(const char *s, size_t len, char *out, size_t outsz);

/* A buffer size that fits any quoted name fsops_quote produces for messages. */
#define FSOPS_QUOTE_MAX 200

#endif
