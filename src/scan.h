/*
 * scan.h - walk a local file or folder into a file list for a push.
 *
 * The walk works on directory file descriptors (openat, fdopendir), never
 * follows symlinks (they are recorded as links), sorts names so the list is
 * deterministic, applies --exclude patterns and per-folder ignore files, and
 * reports what it must skip (unreadable, special files, names the protocol
 * refuses) through the note callback instead of failing the push.
 */
#ifndef ABK_SCAN_H
#define ABK_SCAN_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "abkerr.h"
#include "engine.h"

struct scan_entry {
	char *path;			/* relative to scan_result.root, owned */
	size_t path_len;
	uint8_t type;			/* MF_FILE, MF_DIR, MF_SYMLINK */
	uint32_t mode;			/* permission bits */
	int64_t mtime;
	uint32_t mtime_nsec;
	int64_t ctime;
	uint32_t ctime_nsec;
	uint64_t inode;
	int racy;			/* mtime within MF_RACY_WINDOW_NS of the scan start */
	uint64_t size;
	char *target;			/* symlink target, owned; else NULL */
	int has_sha256;
	uint8_t sha256[32];
};

struct scan_result {
	struct scan_entry *v;
	size_t n, cap;
	char origin[PATH_MAX];		/* absolute path that was pushed */
	char root[PATH_MAX];		/* folder the entry paths are relative to */
	int single_file;		/* origin is a file: the one entry is its name */
	uint64_t total_bytes;		/* of regular files */
	uint64_t skipped;		/* lost: unreadable, refused names */
	uint64_t special;		/* FIFOs, sockets, devices: noted, never stored */
	struct timespec started;	/* CLOCK_REALTIME when the walk began */
};

struct scan_opts {
	const char *const *excludes;	/* NULL-terminated fnmatch patterns */
	int checksum;			/* compute SHA-256 of every file */
	int one_fs;			/* do not enter folders on another device */
	abk_note_cb note;
	void *ctx;
	volatile sig_atomic_t *cancel;
};

/* Walk path into *out (caller frees with scan_result_free, also on error). */
int scan_source(const char *path, const struct scan_opts *opts, struct scan_result *out,
    abk_err *err);
void scan_result_free(struct scan_result *r);

/*
 * The "racy git" rule: 1 if a file whose mtime is (sec, nsec) may still be
 * written within the same timestamp tick after a scan that started at
 * start, i.e. its mtime is not at least MF_RACY_WINDOW_NS before start.
 * Such a file is listed with MF_RACY so the next push re-reads it.
 */
int scan_is_racy(int64_t sec, long nsec, const struct timespec *start);


#endif
