/*
 * datadir.c - find, create and recognise the server's data directory.
 *
 * init works on directory file descriptors once DATA is open (mkdirat,
 * openat, renameat), checks everything it can before creating anything, and
 * undoes what it created when a later step fails, so a failed init leaves no
 * half-made directory that the next init would mistake for a real one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certgen.h"
#include "datadir.h"

#define DD_MARKER_HEAD	"autobackupd data directory\n"
#define DD_MARKER_MAX	256

static const char *const dd_subdirs[] = { DATADIR_DB, DATADIR_USERS, DATADIR_CERTS };
#define DD_NSUB (sizeof(dd_subdirs) / sizeof(dd_subdirs[0]))

static const char *const dd_certfiles[] = {
	CERTGEN_CA_CERT, CERTGEN_CA_KEY, CERTGEN_SERVER_CERT, CERTGEN_SERVER_KEY,
};

int
datadir_default(char *buf, size_t size, abk_err *err)
{
	const char *env = getenv(DATADIR_ENV);
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	int n;

	if (env != NULL && env[0] != '\0')
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "%s", DATADIR_SYSTEM);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, size, "%s/autobackupd", xdg);
	else {
		if (home == NULL || home[0] != '/') {
			if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
			    pwp == NULL || pw.pw_dir == NULL || pw.pw_dir[0] != '/')
				return abk_err_set(err, ABK_E_NOTFOUND, "no home directory "
				    "to put the data directory in; give --data DIR or set %s",
				    DATADIR_ENV);
			home = pw.pw_dir;
		}
		n = snprintf(buf, size, "%s/.local/share/autobackupd", home);
	}
	if (n < 0 || (size_t)n >= size)
		return abk_err_set(err, ABK_E_LIMIT, "default data directory path is "
		    "longer than %zu bytes", size > 0 ? size - 1 : 0);
	return ABK_OK;
}

/* mkdir -p for the parents of path (not path itself), new ones mode 0700. */
static int
dd_make_parents(const char *path, abk_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return abk_err_set(err, ABK_E_LIMIT, "data directory path is longer "
		    "than %d bytes", PATH_MAX - 1);
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')	/* "a/b/" names a/b */
		buf[--len] = '\0';
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			int e = errno;

			return abk_err_set(err, ABK_E_IO, "create %s: %s", buf, strerror(e));
		}
		*p = '/';
	}
	return ABK_OK;
}

/* Refuse an existing data directory or a foreign non-empty one (no force). */
static int
dd_check_empty(int dfd, const char *data, abk_err *err)
{
	const char *found = NULL;
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *de;
	int empty = 1;

	if (fstatat(dfd, DATADIR_MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0)
		found = DATADIR_MARKER;
	for (size_t i = 0; found == NULL && i < DD_NSUB; i++)
		if (fstatat(dfd, dd_subdirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			found = dd_subdirs[i];
	if (found != NULL)
		return abk_err_set(err, ABK_E_EXISTS, "%s already holds an autobackup "
		    "data directory (found %s); use --force to make new certificates "
		    "(accounts and backups are kept)", data, found);
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return abk_err_set(err, ABK_E_IO, "read %s: %s", data, strerror(e));
	}
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty)
		return abk_err_set(err, ABK_E_EXISTS, "%s is not empty and is not an "
		    "autobackup data directory; choose a new or empty directory, or "
		    "use --force", data);
	return ABK_OK;
}

/* Write the marker through a temporary file and rename. */
static int
dd_write_marker(int dfd, const char *data, abk_err *err)
{
	char tmp[64], text[DD_MARKER_MAX];
	int fd, n, rc = ABK_OK;

	n = snprintf(text, sizeof(text), DD_MARKER_HEAD "format %d\n", DATADIR_FORMAT);
	snprintf(tmp, sizeof(tmp), "." DATADIR_MARKER ".%ld.tmp", (long)getpid());
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return abk_err_set(err, ABK_E_IO, "create %s/%s: %s", data, tmp,
		    strerror(errno));
	errno = 0;
	if (write(fd, text, (size_t)n) != n || fsync(fd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "write %s/%s: %s", data, tmp,
		    errno != 0 ? strerror(errno) : "short write");
	if (close(fd) != 0 && rc == ABK_OK)
		rc = abk_err_set(err, ABK_E_IO, "close %s/%s: %s", data, tmp,
		    strerror(errno));
	if (rc == ABK_OK && renameat(dfd, tmp, dfd, DATADIR_MARKER) != 0)
		rc = abk_err_set(err, ABK_E_IO, "rename %s/%s: %s", data, tmp,
		    strerror(errno));
	if (rc != ABK_OK)
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

/* Create (or with an existing one, check) a subdirectory, mode 0700. */
static int
dd_subdir(int dfd, const char *data, const char *name, int *created, abk_err *err)
{
	struct stat st;

	*created = 0;
	if (mkdirat(dfd, name, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "create %s/%s: %s", data, name,
		    strerror(errno));
	if (fstatat(dfd, name, &st, 0) != 0)
		return abk_err_set(err, ABK_E_IO, "%s/%s: %s", data, name, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return abk_err_set(err, ABK_E_EXISTS, "%s/%s exists and is not a "
		    "directory", data, name);
	if (fchmodat(dfd, name, 0700, 0) != 0)
		return abk_err_set(err, ABK_E_IO, "chmod %s/%s: %s", data, name,
		    strerror(errno));
	return ABK_OK;
}

int
datadir_init(const char *data, const char *const *hostnames, size_t n,
    int force, abk_err *err)
{
	char certs[PATH_MAX];
	int made_sub[DD_NSUB] = { 0 };
	int dfd = -1, made_data = 0, rc;
	struct stat st;

	if (data == NULL || data[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE, "no data directory given");
	if (n > 0 && hostnames == NULL)
		return abk_err_set(err, ABK_E_USAGE, "host name list missing");
	if (n > CERTGEN_MAX_NAMES)
		return abk_err_set(err, ABK_E_LIMIT, "%zu host names given; the "
		    "certificate takes at most %d", n, CERTGEN_MAX_NAMES);
	for (size_t i = 0; i < n; i++)
		if ((rc = certgen_check_name(hostnames[i], err)) != ABK_OK)
			return rc;
	if (snprintf(certs, sizeof(certs), "%s/%s", data, DATADIR_CERTS) >=
	    (int)sizeof(certs))
		return abk_err_set(err, ABK_E_LIMIT, "data directory path is too long");

	if (stat(data, &st) == 0 && !S_ISDIR(st.st_mode))
		return abk_err_set(err, ABK_E_EXISTS, "%s exists and is not a directory",
		    data);
	if ((rc = dd_make_parents(data, err)) != ABK_OK)
		return rc;
	if (mkdir(data, 0700) == 0)
		made_data = 1;
	else if (errno != EEXIST)
		return abk_err_set(err, ABK_E_IO, "create %s: %s", data, strerror(errno));
	if ((dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = abk_err_set(err, ABK_E_IO, "open %s: %s", data, strerror(errno));
		goto out;
	}
	if (!made_data && !force && (rc = dd_check_empty(dfd, data, err)) != ABK_OK)
		goto out;
	/* It will hold private keys: owner only, whatever it was before. */
	if (fchmod(dfd, 0700) != 0) {
		rc = abk_err_set(err, ABK_E_IO, "chmod %s: %s", data, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < DD_NSUB; i++)
		if ((rc = dd_subdir(dfd, data, dd_subdirs[i], &made_sub[i], err)) != ABK_OK)
			goto out;
	if ((rc = certgen_make_all(certs, hostnames, n, err)) != ABK_OK)
		goto out;
	if ((rc = dd_write_marker(dfd, data, err)) != ABK_OK)
		goto out;
	if (fsync(dfd) != 0)
		rc = abk_err_set(err, ABK_E_IO, "fsync %s: %s", data, strerror(errno));
out:
	if (rc != ABK_OK && dfd >= 0) {
		/* Undo what this call created, newest first. */
		for (size_t i = DD_NSUB; i-- > 0;) {
			if (!made_sub[i])
				continue;
			if (strcmp(dd_subdirs[i], DATADIR_CERTS) == 0) {
				int cfd = openat(dfd, DATADIR_CERTS,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				for (size_t j = 0; cfd >= 0 && j < 4; j++)
					(void)unlinkat(cfd, dd_certfiles[j], 0);
				if (cfd >= 0)
					close(cfd);
			}
			(void)unlinkat(dfd, dd_subdirs[i], AT_REMOVEDIR);
		}
		if (made_data)
			(void)unlinkat(dfd, DATADIR_MARKER, 0);
	}
	if (dfd >= 0)
		close(dfd);
	if (rc != ABK_OK && made_data)
		(void)rmdir(data);
	return rc;
}

int
datadir_check(const char *data, abk_err *err)
{
	char text[DD_MARKER_MAX];
	const char *p;
	ssize_t len;
	long format;
	char *end;
	int dfd, fd;

	if (data == NULL || data[0] == '\0')
		return abk_err_set(err, ABK_E_USAGE, "no data directory given");
	if ((dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "data directory %s: %s%s", data, strerror(errno),
		    errno == ENOENT ? " (run 'autobackupd init' first)" : "");
	fd = openat(dfd, DATADIR_MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return abk_err_set(err, errno == ENOENT ? ABK_E_NOTFOUND : ABK_E_IO,
		    "%s is not an autobackup data directory (%s: %s); run "
		    "'autobackupd init --data %s' first", data, DATADIR_MARKER,
		    strerror(errno), data);
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len < 0)
		return abk_err_set(err, ABK_E_IO, "read %s/%s: %s", data, DATADIR_MARKER,
		    strerror(errno));
	text[len] = '\0';
	if (strncmp(text, DD_MARKER_HEAD, strlen(DD_MARKER_HEAD)) != 0 ||
	    strncmp(p = text + strlen(DD_MARKER_HEAD), "format ", 7) != 0)
		return abk_err_set(err, ABK_E_USAGE, "%s/%s is not an autobackupd "
		    "marker file", data, DATADIR_MARKER);
	errno = 0;
	format = strtol(p + 7, &end, 10);
	if (errno != 0 || end == p + 7 || *end != '\n' || format < 1)
		return abk_err_set(err, ABK_E_USAGE, "%s/%s: bad format line", data,
		    DATADIR_MARKER);
	if (format > DATADIR_FORMAT)
		return abk_err_set(err, ABK_E_USAGE, "%s uses data format %ld; this "
		    "autobackupd understands format %d or older; upgrade autobackupd",
		    data, format, DATADIR_FORMAT);
	return ABK_OK;
}
