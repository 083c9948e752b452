/*
 * pathsafe.c - component-wise validation of peer-supplied relative paths.
 *
 * The rules are deliberately strict and byte-oriented: a path is accepted only
 * if walking it from a directory file descriptor, one openat() per component,
 * can never leave that directory.  Symlinks are the other half of the story
 * and are handled where files are opened (O_NOFOLLOW), not here.
 */
#include "config.h"

#include <string.h>

#include "pathsafe.h"

static const char *const pathsafe_reasons[] = {
	[PATHSAFE_OK] = "path is acceptable",
	[PATHSAFE_EMPTY] = "path is empty",
	[PATHSAFE_ABSOLUTE] = "path is absolute",
	[PATHSAFE_EMPTY_COMPONENT] = "path has an empty component",
	[PATHSAFE_DOT] = "path has a '.' component",
	[PATHSAFE_DOTDOT] = "path has a '..' component",
	[PATHSAFE_NUL] = "path contains a NUL byte",
	[PATHSAFE_COMPONENT_TOO_LONG] = "a path component is longer than 255 bytes",
	[PATHSAFE_TOO_LONG] = "path is longer than 4095 bytes",
};

const char *
pathsafe_reason(enum pathsafe_verdict verdict)
{
	if ((size_t)verdict >= sizeof(pathsafe_reasons) / sizeof(pathsafe_reasons[0]))
		return "path is invalid";
	return pathsafe_reasons[verdict];
}

enum pathsafe_verdict
pathsafe_check_name(const char *name, size_t len)
{
	if (len == 0)
		return PATHSAFE_EMPTY_COMPONENT;
	if (len > ABK_NAME_MAX)
		return PATHSAFE_COMPONENT_TOO_LONG;
	if (len == 1 && name[0] == '.')
		return PATHSAFE_DOT;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return PATHSAFE_DOTDOT;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\0')
			return PATHSAFE_NUL;
		if (name[i] == '/')
			return PATHSAFE_EMPTY_COMPONENT;
	}
	return PATHSAFE_OK;
}

enum pathsafe_verdict
pathsafe_check(const char *path, size_t len)
{
	size_t start = 0;

	if (path == NULL || len == 0)
		return PATHSAFE_EMPTY;
	/* NUL first: a NUL would silently shorten the path seen by open(). */
	if (memchr(path, '\0', len) != NULL)
		return PATHSAFE_NUL;
	if (path[0] == '/')
		return PATHSAFE_ABSOLUTE;
	if (len > ABK_PATH_MAX)
		return PATHSAFE_TOO_LONG;
	while (start <= len) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t end = slash ? (size_t)(slash - path) : len;
		enum pathsafe_verdict v = pathsafe_check_name(path + start, end - start);

		if (v != PATHSAFE_OK)
			return v;
		if (slash == NULL)
			break;
		start = end + 1;
	}
	return PATHSAFE_OK;
}

enum pathsafe_verdict
pathsafe_check_str(const char *path)
{
	if (path == NULL)
		return PATHSAFE_EMPTY;
	return pathsafe_check(path, strlen(path));
}
