/*
 * text.c - small text helpers (text.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

void
text_escape(const char *s, char *out, size_t outsz)
{
	size_t n = 0;

	if (outsz == 0)
		return;
	for (; *s != '\0' && n + 5 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			n += (size_t)snprintf(out + n, outsz - n, "\\n");
		else if (c == '\t')
			n += (size_t)snprintf(out + n, outsz - n, "\\t");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, outsz - n, "\\x%02x", c);
		else if (c == '\\')
			n += (size_t)snprintf(out + n, outsz - n, "\\\\");
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

const char *
text_age(int64_t t, char *buf, size_t bufsz)
{
	int64_t d = (int64_t)time(NULL) - t;

	if (t <= 0)
		snprintf(buf, bufsz, "never");
	else if (d < 60)
		snprintf(buf, bufsz, "%lld s ago", (long long)(d < 0 ? 0 : d));
	else if (d < 3600)
		snprintf(buf, bufsz, "%lld min ago", (long long)(d / 60));
	else if (d < 86400 * 2)
		snprintf(buf, bufsz, "%lld h ago", (long long)(d / 3600));
	else
		snprintf(buf, bufsz, "%lld d ago", (long long)(d / 86400));
	return buf;
}

const char *
text_date(int64_t t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, bufsz, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, bufsz, "?");
	return buf;
}

const char *
text_base(const char *path, char *buf, size_t bufsz)
{
	size_t n = strlen(path);
	const char *end, *start;

	while (n > 1 && path[n - 1] == '/')
		n--;
	end = path + n;
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	if (start == end)		/* "/" */
		start = path;
	snprintf(buf, bufsz, "%.*s", (int)(end - start), start);
	return buf;
}

/* Index where s is or would go. */
static size_t
strset_find(char *const *v, size_t n, const char *s, int *found)
{
	size_t lo = 0, hi = n;

	*found = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid], s);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
strset_has(char *const *v, size_t n, const char *s)
{
	int found;

	(void)strset_find(v, n, s, &found);
	return found;
}

int
strset_add(char ***v, size_t *n, const char *s)
{
	int found;
	size_t at = strset_find(*v, *n, s, &found);
	char **nv, *copy;

	if (found)
		return 1;
	if ((copy = strdup(s)) == NULL)
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(copy);
		return -1;
	}
	memmove(nv + at + 1, nv + at, (*n - at) * sizeof(*nv));
	nv[at] = copy;
	*v = nv;
	(*n)++;
	return 1;
}

int
strset_toggle(char ***v, size_t *n, const char *s)
{
	int found;
	size_t at = strset_find(*v, *n, s, &found);

	if (!found)
		return strset_add(v, n, s);
	free((*v)[at]);
	memmove(*v + at, *v + at + 1, (*n - at - 1) * sizeof(**v));
	(*n)--;
	return 0;
}

void
strset_clear(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}
