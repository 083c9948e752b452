/*
 * mounts.c - pseudo file systems below a pushed folder (mounts.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

/* Types that hold no user data: kernel views, memory, automounters. */
static const char *const pseudo_types[] = {
	"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2",
	"securityfs", "debugfs", "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs",
	"configfs", "fusectl", "autofs", "binfmt_misc", "efivarfs", "nsfs", "rpc_pipefs",
	"selinuxfs", "overlay-internal", NULL,
};

/* Whatever is mounted there, these are the system's, not data. */
static const char *const pseudo_paths[] = { "/proc", "/sys", "/dev", "/run", NULL };

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void
unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* p below or at dir (both absolute, no trailing slash except "/"). */
static int
is_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

static int
is_pseudo(const char *mount, const char *fstype)
{
	for (size_t i = 0; pseudo_types[i] != NULL; i++)
		if (strcmp(fstype, pseudo_types[i]) == 0)
			return 1;
	for (size_t i = 0; pseudo_paths[i] != NULL; i++)
		if (is_under(mount, pseudo_paths[i]))
			return 1;
	return 0;
}

/* rel as an fnmatch pattern anchored at the source root: "/" + escaped rel. */
static void
make_pattern(const char *rel, char *out, size_t outsz)
{
	size_t k = 0;

	if (outsz < 2)
		return;
	out[k++] = '/';
	for (; *rel && k + 2 < outsz; rel++) {
		if (strchr("*?[]\\", *rel) != NULL)
			out[k++] = '\\';
		out[k++] = *rel;
	}
	out[k] = '\0';
}

static int
mount_cmp(const void *a, const void *b)
{
	return strcmp(((const struct abk_pseudo_mount *)a)->mount,
	    ((const struct abk_pseudo_mount *)b)->mount);
}

int
abk_pseudo_mounts(const char *mountinfo, const char *root, struct abk_pseudo_mount **out,
    size_t *n, abk_err *err)
{
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "r");
	struct abk_pseudo_mount *v = NULL;
	size_t cnt = 0, cap = 0, kept = 0;
	char *line = NULL;
	size_t linecap = 0;

	*out = NULL;
	*n = 0;
	if (f == NULL)
		return ABK_OK;	/* not Linux, or no /proc: nothing known to leave out */
	while (getline(&line, &linecap, f) > 0) {
		char *save = NULL, *fld[6], *dash, *fstype;
		int i;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ... */
		dash = strstr(line, " - ");
		if (dash == NULL)
			continue;
		*dash = '\0';
		fstype = strtok_r(dash + 3, " \n", &save);
		save = NULL;
		for (i = 0; i < 6; i++)
			if ((fld[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
				break;
		if (i < 6 || fstype == NULL)
			continue;
		unescape(fld[4]);
		if (strcmp(fld[4], root) == 0 || !is_under(fld[4], root) ||
		    !is_pseudo(fld[4], fstype))
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct abk_pseudo_mount *nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				free(v);
				free(line);
				fclose(f);
				return abk_err_set(err, ABK_E_NOMEM, "out of memory reading mounts");
			}
			v = nv;
			cap = ncap;
		}
		snprintf(v[cnt].mount, sizeof(v[cnt].mount), "%s", fld[4]);
		snprintf(v[cnt].fstype, sizeof(v[cnt].fstype), "%s", fstype);
		make_pattern(fld[4] + (strcmp(root, "/") == 0 ? 1 : strlen(root) + 1),
		    v[cnt].pattern, sizeof(v[cnt].pattern));
		cnt++;
	}
	free(line);
	fclose(f);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), mount_cmp);
	/* outermost only: /sys covers /sys/fs/cgroup; a mount seen twice once */
	for (size_t i = 0; i < cnt; i++) {
		if (kept > 0 && is_under(v[i].mount, v[kept - 1].mount))
			continue;
		if (kept != i)
			v[kept] = v[i];
		kept++;
	}
	*out = v;
	*n = kept;
	return ABK_OK;
}
