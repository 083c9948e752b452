/*
 * fuzz_pathsafe.c - libFuzzer target: pathsafe_check must never crash and
 * must never accept a path that could leave its directory.  Every byte but
 * NUL and '/' is a legal name byte (backslash included: it is no separator
 * on Linux), so only the structure and the lengths are checked here.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	if (pathsafe_check(p, size) != PATHSAFE_OK)
		return 0;
	/* An accepted path has no NUL, no leading '/', no '.'/'..' component. */
	if (size == 0 || p[0] == '/' || memchr(p, '\0', size) != NULL)
		abort();
	if (size > ABK_PATH_MAX || p[size - 1] == '/')
		abort();
	for (size_t start = 0; start < size;) {
		const char *slash = memchr(p + start, '/', size - start);
		size_t end = slash ? (size_t)(slash - p) : size;
		size_t n = end - start;

		if (n == 0 || n > ABK_NAME_MAX || (n == 1 && p[start] == '.') ||
		    (n == 2 && p[start] == '.' && p[start + 1] == '.'))
			abort();
		start = end + 1;
	}
	return 0;
}
