/*
 * fsops.c - directory-descriptor file operations (see fsops.h).
 *
 * Every function here takes a directory descriptor and one name in it.  The
 * only paths ever walked are relative paths already checked by pathsafe,
 * opened component by component with O_NOFOLLOW, so a symlink planted in a
 * staging tree (or a hostile name) can never lead outside the folder whose
 * descriptor we started from.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "strutil.h"

#define FSOPS_COPY_BUF 65536

/* The escaper itself is strutil's abk_escape_name (one for the whole tree);
 * this is its message form: quotes escaped because messages put names in "". */
const char *
fsops_quote(const char *s, size_t len, char *out, size_t outsz)
{
	return abk_escape_name(s, len, out, outsz, ABK_ESC_QUOTE);
}

int
fsops_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsops_pwrite_all(int fd, const void *buf, size_t len, uint64_t at)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)at);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		at += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* One aligned block all zeros?  Data that is not ends at its first word. */
static int
block_is_zero(const uint8_t *p)
{
	static const uint8_t zero[FSOPS_HOLE_BLOCK];

	return memcmp(p, zero, FSOPS_HOLE_BLOCK) == 0;
}

int
fsops_pwrite_sparse(int fd, const void *buf, size_t len, uint64_t at, uint64_t zero_from,
    int *skipped)
{
	const uint8_t *p = buf;
	size_t i, run = 0;	/* p[run..i) is still to be written */

	/* the first whole block at or past zero_from: below it, write everything */
	i = 0;
	if (at < zero_from)
		i = zero_from - at >= len ? len : (size_t)(zero_from - at);
	if (i < len && (at + i) % FSOPS_HOLE_BLOCK != 0) {
		size_t to = FSOPS_HOLE_BLOCK - (size_t)((at + i) % FSOPS_HOLE_BLOCK);

		i = to >= len - i ? len : i + to;
	}
	while (len - i >= FSOPS_HOLE_BLOCK) {
		if (!block_is_zero(p + i)) {
			i += FSOPS_HOLE_BLOCK;
			continue;
		}
		if (fsops_pwrite_all(fd, p + run, i - run, at + run) != 0)
			return -1;
		while (len - i >= FSOPS_HOLE_BLOCK && block_is_zero(p + i))
			i += FSOPS_HOLE_BLOCK;
		run = i;
		*skipped = 1;
	}
	return fsops_pwrite_all(fd, p + run, len - run, at + run);
}

int
fsops_sparse_end(int fd, uint64_t size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if ((uint64_t)st.st_size >= size)
		return 0;
	while (ftruncate(fd, (off_t)size) != 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int
fsops_open_dir(int dirfd, const char *name, int create, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	int fd;

	for (int attempt = 0; attempt < 4; attempt++) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno == ENOENT) {
			if (!create)
				return abk_err_set(err, ABK_E_NOTFOUND, "directory \"%s\" is missing",
				    fsops_quote(name, strlen(name), q, sizeof(q)));
			if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
				return abk_err_set(err, ABK_E_IO, "mkdir \"%s\": %s",
				    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
			continue;
		}
		if (errno == ENOTDIR || errno == ELOOP) {
			/* a file or a symlink where a directory belongs */
			if (!create)
				return abk_err_set(err, ABK_E_NOTFOUND, "\"%s\" is not a directory",
				    fsops_quote(name, strlen(name), q, sizeof(q)));
			if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
				return abk_err_set(err, ABK_E_IO, "remove \"%s\": %s",
				    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
			continue;
		}
		break;
	}
	return abk_err_set(err, ABK_E_IO, "open directory \"%s\": %s",
	    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
}

void
fsops_dircache_init(struct fsops_dircache *dc, int root, int create)
{
	dc->root = root;
	dc->create = create;
	dc->depth = 0;
	dc->path[0] = '\0';
}

void
fsops_dircache_reset(struct fsops_dircache *dc)
{
	while (dc->depth > 0)
		close(dc->fds[--dc->depth]);
	dc->path[0] = '\0';
}

int
fsops_dircache_parent(struct fsops_dircache *dc, const char *path, size_t len,
    int *dirfd, char name[ABK_NAME_MAX + 1], abk_err *err)
{
	char comp[ABK_NAME_MAX + 1];
	const char *slash = NULL;
	size_t plen, blen, cached, m, start;
	unsigned keep;

	for (size_t i = len; i > 0; i--)
		if (path[i - 1] == '/') {
			slash = path + i - 1;
			break;
		}
	plen = slash ? (size_t)(slash - path) : 0;
	blen = slash ? len - plen - 1 : len;
	if (blen == 0 || blen > ABK_NAME_MAX || len > ABK_PATH_MAX)
		return abk_err_set(err, ABK_E_PATH, "invalid path passed to storage");
	memcpy(name, path + len - blen, blen);
	name[blen] = '\0';

	/* How many cached components are a prefix of the new parent? */
	cached = dc->depth ? dc->ends[dc->depth - 1] : 0;
	for (m = 0; m < cached && m < plen && dc->path[m] == path[m]; m++)
		;
	for (keep = 0; keep < dc->depth; keep++) {
		size_t e = dc->ends[keep];

		if (e > m || (e < plen && path[e] != '/') || e > plen)
			break;
	}
	while (dc->depth > keep)
		close(dc->fds[--dc->depth]);
	memcpy(dc->path, path, plen);
	dc->path[plen] = '\0';

	start = keep ? dc->ends[keep - 1] + 1 : 0;
	while (start < plen) {
		size_t end = start;
		int base, fd;

		while (end < plen && path[end] != '/')
			end++;
		if (dc->depth >= FSOPS_MAX_DEPTH - 1)
			return abk_err_set(err, ABK_E_LIMIT,
			    "path is deeper than %d directories", FSOPS_MAX_DEPTH - 1);
		if (end - start > ABK_NAME_MAX)
			return abk_err_set(err, ABK_E_PATH, "invalid path passed to storage");
		memcpy(comp, path + start, end - start);
		comp[end - start] = '\0';
		base = dc->depth ? dc->fds[dc->depth - 1] : dc->root;
		fd = fsops_open_dir(base, comp, dc->create, err);
		if (fd < 0)
			return fd;
		dc->fds[dc->depth] = fd;
		dc->ends[dc->depth] = end;
		dc->depth++;
		start = end + 1;
	}
	*dirfd = dc->depth ? dc->fds[dc->depth - 1] : dc->root;
	return ABK_OK;
}

/*
 * chmod u+rwx the directory name below dirfd, through a descriptor opened
 * without following a symlink: fchmodat by name follows one, and the name
 * stat'ed a moment ago as a folder may be a symlink now.  A folder we may
 * not read is reached through an O_PATH descriptor and its /proc/self/fd
 * link, which names that very inode.  0 or -1 (errno).
 */
static int
dir_make_usable(int dirfd, const char *name)
{
	char proc[64];
	int fd, rc, e;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		rc = fchmod(fd, 0700);
		e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	if (errno != EACCES)
		return -1;
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = chmod(proc, 0700);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int
remove_at(int dirfd, const char *name, uint64_t *freed, unsigned depth, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct stat st;
	struct dirent *de;
	DIR *d = NULL;
	int fd = -1, rc = ABK_OK;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return ABK_OK;
		return abk_err_set(err, ABK_E_IO, "stat \"%s\": %s",
		    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) != 0) {
			if (errno == ENOENT)
				return ABK_OK;
			return abk_err_set(err, ABK_E_IO, "unlink \"%s\": %s",
			    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
		}
		if (freed != NULL && S_ISREG(st.st_mode) && st.st_nlink == 1)
			*freed += (uint64_t)st.st_size;
		return ABK_OK;
	}
	if (depth > FSOPS_MAX_DEPTH + 8)
		return abk_err_set(err, ABK_E_LIMIT, "directory tree too deep to remove");
	/* Our trees are always u+rwx, but a hand-made one may not be. */
	if ((st.st_mode & 0700) != 0700 && dir_make_usable(dirfd, name) != 0)
		return abk_err_set(err, ABK_E_IO, "chmod \"%s\": %s",
		    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "open directory \"%s\": %s",
		    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
	d = fdopendir(fd);
	if (d == NULL) {
		rc = abk_err_set(err, ABK_E_IO, "fdopendir: %s", strerror(errno));
		close(fd);
		return rc;
	}
	for (int pass = 0; pass < 3; pass++) {
		rewinddir(d);
		errno = 0;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			rc = remove_at(fd, de->d_name, freed, depth + 1, err);
			if (rc != ABK_OK)
				goto out;
		}
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			goto out;
		if (errno != ENOTEMPTY && errno != EEXIST)
			break;
	}
	rc = abk_err_set(err, ABK_E_IO, "rmdir \"%s\": %s",
	    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
out:
	closedir(d);
	return rc;
}

int
fsops_remove(int dirfd, const char *name, uint64_t *freed, abk_err *err)
{
	return remove_at(dirfd, name, freed, 0, err);
}

int
fsops_create_file(int dirfd, const char *name, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	int fd, rc;

	for (int attempt = 0; attempt < 4; attempt++) {
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd >= 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno != EEXIST)
			break;
		/* Never write through what was there: it may be a symlink or a
		 * hard link shared with a published snapshot. */
		rc = fsops_remove(dirfd, name, NULL, err);
		if (rc != ABK_OK)
			return rc;
	}
	return abk_err_set(err, ABK_E_IO, "create \"%s\": %s",
	    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
}

int
fsops_copy_file(int sdir, const char *sname, int ddir, const char *dname, abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	int in, out = -1, rc = ABK_OK;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return abk_err_set(err, ABK_E_IO, "open \"%s\": %s",
		    fsops_quote(sname, strlen(sname), q, sizeof(q)), strerror(errno));
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = abk_err_set(err, ABK_E_IO, "\"%s\" is not a regular file",
		    fsops_quote(sname, strlen(sname), q, sizeof(q)));
		goto out;
	}
	out = fsops_create_file(ddir, dname, err);
	if (out < 0) {
		rc = out;
		goto out;
	}
	buf = malloc(FSOPS_COPY_BUF);
	if (buf == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory copying a file");
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, FSOPS_COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read \"%s\": %s",
			    fsops_quote(sname, strlen(sname), q, sizeof(q)), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (fsops_write_all(out, buf, (size_t)n) != 0) {
			rc = abk_err_set(err, ABK_E_IO, "write \"%s\": %s",
			    fsops_quote(dname, strlen(dname), q, sizeof(q)), strerror(errno));
			goto out;
		}
	}
out:
	free(buf);
	if (out >= 0 && close(out) != 0 && rc == ABK_OK)
		rc = abk_err_set(err, ABK_E_IO, "close: %s", strerror(errno));
	close(in);
	return rc;
}

int
fsops_read_file(int dirfd, const char *name, size_t max, uint8_t **data, size_t *len,
    abk_err *err)
{
	char q[FSOPS_QUOTE_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0, size;
	int fd, rc = ABK_OK;

	*data = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return abk_err_set(err, ABK_E_NOTFOUND, "\"%s\" is missing",
			    fsops_quote(name, strlen(name), q, sizeof(q)));
		return abk_err_set(err, ABK_E_IO, "open \"%s\": %s",
		    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = abk_err_set(err, ABK_E_IO, "\"%s\" is not a regular file",
		    fsops_quote(name, strlen(name), q, sizeof(q)));
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = abk_err_set(err, ABK_E_LIMIT, "\"%s\" is larger than %zu bytes",
		    fsops_quote(name, strlen(name), q, sizeof(q)), max);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (buf == NULL) {
		rc = abk_err_set(err, ABK_E_NOMEM, "out of memory reading \"%s\"",
		    fsops_quote(name, strlen(name), q, sizeof(q)));
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = abk_err_set(err, ABK_E_IO, "read \"%s\": %s",
			    fsops_quote(name, strlen(name), q, sizeof(q)), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;	/* shrank under us: use what is there */
		got += (size_t)n;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
fsops_names_free(char **names, size_t count)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

mode_t
fsops_name_mode(const char *name)
{
	switch ((unsigned char)name[strlen(name) + 1]) {
	case DT_REG:
		return S_IFREG;
	case DT_DIR:
		return S_IFDIR;
	case DT_LNK:
		return S_IFLNK;
	case DT_FIFO:
		return S_IFIFO;
	case DT_SOCK:
		return S_IFSOCK;
	case DT_CHR:
		return S_IFCHR;
	case DT_BLK:
		return S_IFBLK;
	default:
		return 0;
	}
}

int
fsops_list_names(int fd, char ***names, size_t *count, abk_err *err)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0, len;
	DIR *d;
	int own, rc = ABK_OK;

	*names = NULL;
	*count = 0;
	/* A new open file description: readdir must not move fd's offset. */
	own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (own < 0)
		return abk_err_set(err, ABK_E_IO, "open directory: %s", strerror(errno));
	d = fdopendir(own);
	if (d == NULL) {
		rc = abk_err_set(err, ABK_E_IO, "fdopendir: %s", strerror(errno));
		close(own);
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = abk_err_set(err, ABK_E_IO, "readdir: %s", strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rc = abk_err_set(err, ABK_E_NOMEM, "out of memory listing a directory");
				break;
			}
			v = nv;
		}
		/* the name, its NUL, then its d_type (fsops_name_mode) */
		len = strlen(de->d_name);
		v[n] = malloc(len + 2);
		if (v[n] != NULL) {
			memcpy(v[n], de->d_name, len + 1);
			v[n][len + 1] = (char)de->d_type;
		}
		if (v[n] == NULL) {
			rc = abk_err_set(err, ABK_E_NOMEM, "out of memory listing a directory");
			break;
		}
		n++;
	}
	closedir(d);
	if (rc != ABK_OK) {
		fsops_names_free(v, n);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	*names = v;
	*count = n;
	return ABK_OK;
}
