/*
 * batch_push_check.c - what `push` checks before it sends anything (issue
 * 10, item 7): every PATH exists, no PATH would join the history of another
 * folder that has the same source name on the server, and which pseudo file
 * systems below a PATH are left out (`push /`).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch_int.h"
#include "exitcodes.h"
#include "mounts.h"

struct origin_ctx {
	const char *name;
	char origin[4096];
	int found;
};

static int
origin_of(void *ctx, const struct abk_source_info *s)
{
	struct origin_ctx *oc = ctx;

	if (strcmp(s->name, oc->name) == 0) {
		snprintf(oc->origin, sizeof(oc->origin), "%s", s->origin);
		oc->found = 1;
	}
	return 0;
}

int
push_precheck(struct batch_ui *ui, abk_client *c, char **paths, const char *const *names,
    int n)
{
	int missing = 0;

	for (int i = 0; i < n; i++) {
		struct stat st;

		if (lstat(paths[i], &st) != 0) {
			fprintf(stderr, "autobackup: %s: %s\n", paths[i], strerror(errno));
			missing++;
		}
	}
	if (missing > 0) {
		fprintf(stderr, "autobackup: nothing was pushed: %d of %d path%s cannot be "
		    "read\n", missing, n, n == 1 ? "" : "s");
		return ABK_EXIT_USAGE;
	}
	if (ui->o->force)
		return ABK_EXIT_OK;
	for (int i = 0; i < n; i++) {
		struct origin_ctx oc;
		char real[4096];
		abk_err err = ABK_ERR_INIT;

		memset(&oc, 0, sizeof(oc));
		oc.name = names[i];
		if (realpath(paths[i], real) == NULL)
			continue;	/* the push itself reports it */
		if (abk_list_sources(c, origin_of, &oc, &err) != ABK_OK)
			return fail(ui, &err);
		if (oc.found && oc.origin[0] != '\0' && strcmp(oc.origin, real) != 0) {
			fprintf(stderr, "autobackup: source '");
			print_name(stderr, names[i], strlen(names[i]));
			fprintf(stderr, "' on the server was pushed from ");
			print_name(stderr, oc.origin, strlen(oc.origin));
			fprintf(stderr, ", not from ");
			print_name(stderr, real, strlen(real));
			fprintf(stderr, ": give this folder its own name with --name NAME, or "
			    "--force to continue that history from here\n"
			    "autobackup: nothing was pushed\n");
			return ABK_EXIT_USAGE;
		}
	}
	return ABK_EXIT_OK;
}

int
push_excludes(struct batch_ui *ui, const char *path, const char ***out, char **owned)
{
	struct batch_opts *o = ui->o;
	struct abk_pseudo_mount *m = NULL;
	size_t nm = 0, len = 0;
	char real[4096], *buf = NULL;
	const char **v;
	abk_err err = ABK_ERR_INIT;

	*out = o->excludes;
	*owned = NULL;
	if (realpath(path, real) == NULL)
		return ABK_EXIT_OK;
	if (abk_pseudo_mounts(NULL, real, &m, &nm, &err) != ABK_OK)
		return fail(ui, &err);
	if (nm == 0) {
		free(m);
		return ABK_EXIT_OK;
	}
	v = calloc(o->n_excludes + nm + 1, sizeof(*v));
	for (size_t i = 0; i < nm; i++)
		len += strlen(m[i].pattern) + 1;
	buf = malloc(len);
	if (v == NULL || buf == NULL) {
		free(v);
		free(buf);
		free(m);
		fprintf(stderr, "autobackup: out of memory\n");
		return ABK_EXIT_FAILURE;
	}
	memcpy(v, o->excludes, o->n_excludes * sizeof(*v));
	len = 0;
	for (size_t i = 0; i < nm; i++) {
		size_t l = strlen(m[i].pattern) + 1;

		memcpy(buf + len, m[i].pattern, l);
		v[o->n_excludes + i] = buf + len;
		len += l;
		if (!o->quiet) {
			fputs("autobackup: leaving out ", stderr);
			print_name(stderr, m[i].mount, strlen(m[i].mount));
			fprintf(stderr, " (%s: not data)\n", m[i].fstype);
		}
	}
	free(m);
	*out = v;
	*owned = buf;
	return ABK_EXIT_OK;
}
