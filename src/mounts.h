/*
 * mounts.h - which parts of a folder a push should leave out because they
 * are not data: pseudo file systems (proc, sysfs, devtmpfs, tmpfs, cgroup,
 * ...) and /proc, /sys, /dev, /run whatever is mounted there, read from
 * /proc/self/mountinfo (issue 10, item 7: `push /`).
 */
#ifndef ABK_MOUNTS_H
#define ABK_MOUNTS_H

#include <stddef.h>

#include "abkerr.h"

struct abk_pseudo_mount {
	char mount[4096];	/* absolute mount point */
	char pattern[8200];	/* exclude pattern relative to the pushed folder ("/proc") */
	char fstype[64];
};

/*
 * The pseudo mounts at or below root (an absolute real path; root itself
 * never counts), outermost only, sorted; *out is malloc'd (free it).
 * mountinfo NULL = /proc/self/mountinfo; an unreadable file gives none.
 */
int abk_pseudo_mounts(const char *mountinfo, const char *root, struct abk_pseudo_mount **out,
    size_t *n, abk_err *err);

#endif
