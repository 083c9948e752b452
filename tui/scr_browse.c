/*
 * scr_browse.c - the local side of the main screen: a file browser with
 * marks (absolute paths, kept while moving around), a filter, hidden files
 * on demand, folder sizes from the background walker (sizes.h) and a backup
 * status column from the server's source list.
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

#include "app.h"
#include "keys.h"
#include "sizes.h"
#include "strutil.h"
#include "ui.h"

#define LIST_Y 3		/* first row of the list */

static size_t
list_rows(const struct app *a)
{
	int n = a->rows - LIST_Y - 2;

	return n > 0 ? (size_t)n : 1;
}

static void
join_path(const char *dir, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
}

static void
entries_free(struct browse_state *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].name);
	free(b->v);
	free(b->view);
	b->v = NULL;
	b->view = NULL;
	b->n = b->nview = 0;
}

void
browse_free(struct app *a)
{
	entries_free(&a->browse);
	strset_clear(&a->browse.marks, &a->browse.nmarks);
}

static int
entry_cmp(const void *x, const void *y)
{
	const struct lentry *e1 = x, *e2 = y;

	if (e1->is_dir != e2->is_dir)
		return e2->is_dir - e1->is_dir;
	return strcmp(e1->name, e2->name);
}

static int
name_matches(const char *name, const char *filter)
{
	size_t fl = strlen(filter);

	if (fl == 0)
		return 1;
	for (const char *p = name; *p != '\0'; p++)
		if (strncasecmp(p, filter, fl) == 0)
			return 1;
	return 0;
}

/* Rebuild the shown list from the entries, and ask for the folders' sizes. */
static void
browse_view(struct app *a)
{
	struct browse_state *b = &a->browse;
	char **dirs = b->n ? calloc(b->n, sizeof(*dirs)) : NULL;
	size_t nd = 0;

	b->nview = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct lentry *e = &b->v[i];

		if (!b->show_hidden && e->name[0] == '.')
			continue;
		if (!name_matches(e->name, b->filter))
			continue;
		b->view[b->nview++] = i;
		if (e->is_dir && dirs != NULL) {
			char full[8192];

			join_path(b->cwd, e->name, full, sizeof(full));
			if ((dirs[nd] = strdup(full)) != NULL)
				nd++;
		}
	}
	if (b->sel >= b->nview)
		b->sel = b->nview ? b->nview - 1 : 0;
	if (a->sizes != NULL)
		sizes_want(a->sizes, dirs, nd);
	for (size_t i = 0; i < nd; i++)
		free(dirs[i]);
	free(dirs);
}

int
browse_open(struct app *a, const char *dir)
{
	struct browse_state *b = &a->browse;
	char real[4096];
	struct dirent *de;
	DIR *d;

	if (realpath(dir, real) == NULL || (d = opendir(real)) == NULL) {
		char esc[1024];

		text_escape(dir, esc, sizeof(esc));
		snprintf(b->error, sizeof(b->error), "%.500s: %s", esc, strerror(errno));
		return -1;
	}
	entries_free(b);
	snprintf(b->cwd, sizeof(b->cwd), "%s", real);
	b->error[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		struct lentry *nv;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		nv = realloc(b->v, (b->n + 1) * sizeof(*nv));
		if (nv == NULL)
			break;
		b->v = nv;
		nv[b->n].name = strdup(de->d_name);
		if (nv[b->n].name == NULL)
			break;
		nv[b->n].is_dir = S_ISDIR(st.st_mode);
		nv[b->n].is_link = S_ISLNK(st.st_mode);
		nv[b->n].size = (uint64_t)st.st_size;
		nv[b->n].mtime = st.st_mtime;
		b->n++;
	}
	closedir(d);
	if (b->n)
		qsort(b->v, b->n, sizeof(b->v[0]), entry_cmp);
	b->view = calloc(b->n ? b->n : 1, sizeof(*b->view));
	b->sel = b->top = 0;
	browse_view(a);
	return 0;
}

/* The backup status of an absolute local path ("backed up 2 h ago"). */
static const char *
browse_status(struct app *a, const char *path, char *buf, size_t bufsz)
{
	size_t plen = strlen(path);
	int inside = 0;
	const struct rsource *best = NULL;

	if (!a->srv.loaded)
		return "";
	for (size_t i = 0; i < a->srv.n; i++) {
		const struct rsource *s = &a->srv.v[i];
		size_t ol = strlen(s->origin);

		if (ol == 0)
			continue;
		if (strcmp(s->origin, path) == 0 ||
		    (strncmp(path, s->origin, ol) == 0 && (path[ol] == '/' ||
		    strcmp(s->origin, "/") == 0))) {
			if (best == NULL || s->latest_time > best->latest_time)
				best = s;
		} else if (strncmp(s->origin, path, plen) == 0 && s->origin[plen] == '/') {
			inside++;
		}
	}
	if (best != NULL) {
		char age[32];

		if (best->snapshots == 0)
			return "never";
		snprintf(buf, bufsz, "backed up %s", text_age(best->latest_time, age, sizeof(age)));
		return buf;
	}
	if (inside) {
		snprintf(buf, bufsz, "%d inside backed up", inside);
		return buf;
	}
	return "never";
}

void
browse_draw(struct app *a)
{
	struct browse_state *b = &a->browse;
	size_t rows = list_rows(a);
	int namew = a->cols - 2 - 11 - 17 - 24;
	uint64_t total = 0;
	int counting = 0;
	char sz[32];

	if (namew < 10)
		namew = 10;
	ui_printf(1, 0, R_NORMAL, a->cols, " %s", "");
	ui_text(1, 1, R_DIR, b->cwd, a->cols - 2, 0);
	ui_printf(2, 0, R_DIM, a->cols, "  %-*s%10s %-16s %s", namew, "Name", "Size",
	    "Modified", "Backup status");
	if (b->sel < b->top)
		b->top = b->sel;
	if (b->sel >= b->top + rows)
		b->top = b->sel - rows + 1;
	if (b->nview == 0)
		ui_text(LIST_Y, 2, R_DIM, b->error[0] ? b->error : b->filter[0] ?
		    "(nothing matches the filter)" : "(empty folder)", a->cols - 4, 0);
	for (size_t r = 0; r < rows && b->top + r < b->nview; r++) {
		size_t idx = b->view[b->top + r];
		const struct lentry *e = &b->v[idx];
		int y = LIST_Y + (int)r, sel = b->top + r == b->sel, x = 0;
		enum ui_role role = sel ? R_SEL : e->is_dir ? R_DIR : R_NORMAL;
		char full[8192], when[32], st[64], sizes[32];
		uint64_t bytes;
		int marked;

		join_path(b->cwd, e->name, full, sizeof(full));
		marked = strset_has(b->marks, b->nmarks, full);
		if (sel)
			ui_fill(y, 0, 1, a->cols, R_SEL);
		x += ui_text(y, 0, marked ? (sel ? R_SEL : R_MARK) : role, marked ? "* " : "  ", 2,
		    1);
		{
			int w = ui_name(y, x, marked && !sel ? R_MARK : role, e->name,
			    strlen(e->name), namew - 1, 0);

			if (e->is_dir && w < namew)
				ui_text(y, x + w, role, "/", 1, 0);
			else if (e->is_link && w < namew - 1)
				ui_text(y, x + w, role, "@", 1, 0);
		}
		x += namew;
		if (!e->is_dir)
			abk_format_size(e->size, sizes, sizeof(sizes));
		else if (a->sizes != NULL && sizes_get(a->sizes, full, &bytes))
			abk_format_size(bytes, sizes, sizeof(sizes));
		else
			snprintf(sizes, sizeof(sizes), "...");
		ui_printf(y, x, role, 11, "%10s", sizes);
		x += 11;
		ui_text(y, x, role, text_date(e->mtime, when, sizeof(when)), 17, 1);
		x += 17;
		ui_text(y, x, sel ? R_SEL : R_GOOD, browse_status(a, full, st, sizeof(st)),
		    a->cols - x, 1);
	}
	for (size_t i = 0; i < b->nmarks; i++) {
		struct stat stt;
		uint64_t bytes;

		if (lstat(b->marks[i], &stt) != 0)
			continue;
		if (!S_ISDIR(stt.st_mode))
			total += (uint64_t)stt.st_size;
		else if (a->sizes != NULL && sizes_get(a->sizes, b->marks[i], &bytes))
			total += bytes;
		else
			counting = 1;
	}
	if (b->filtering || b->filter[0] != '\0') {
		ui_printf(a->rows - 2, 0, R_FIELD, a->cols, "Filter: %s%s", b->filter,
		    b->filtering ? "" : "   (/ to edit, Esc clears)");
	} else {
		ui_printf(a->rows - 2, 0, R_NORMAL, a->cols, " %zu entries | marked: %zu, %s%s%s",
		    b->nview, b->nmarks, abk_format_size(total, sz, sizeof(sz)),
		    counting ? " (folders still counting)" : "",
		    b->nmarks ? " | p/F5 pushes them, m lists them" : "");
	}
}

static int
browse_move(struct app *a, long delta)
{
	struct browse_state *b = &a->browse;
	long s = (long)b->sel + delta;

	if (b->nview == 0)
		return K_STAY;
	if (s < 0)
		s = 0;
	if (s >= (long)b->nview)
		s = (long)b->nview - 1;
	b->sel = (size_t)s;
	return K_REDRAW;
}

int
browse_act_up(struct app *a)
{
	return browse_move(a, -1);
}

int
browse_act_down(struct app *a)
{
	return browse_move(a, 1);
}

int
browse_act_pgup(struct app *a)
{
	return browse_move(a, -(long)list_rows(a));
}

int
browse_act_pgdn(struct app *a)
{
	return browse_move(a, (long)list_rows(a));
}

int
browse_act_home(struct app *a)
{
	return browse_move(a, -(long)a->browse.nview);
}

int
browse_act_end(struct app *a)
{
	return browse_move(a, (long)a->browse.nview);
}

int
browse_act_enter(struct app *a)
{
	struct browse_state *b = &a->browse;
	const struct lentry *e;
	char full[8192];

	if (b->nview == 0)
		return K_STAY;
	e = &b->v[b->view[b->sel]];
	if (!e->is_dir)
		return K_STAY;
	join_path(b->cwd, e->name, full, sizeof(full));
	b->filter[0] = '\0';
	b->filtering = 0;
	if (browse_open(a, full) != 0)
		app_error(a, "Cannot open the folder", b->error);
	return K_REDRAW;
}

int
browse_act_parent(struct app *a)
{
	struct browse_state *b = &a->browse;
	char parent[4096], child[4096];
	char *slash;

	if (strcmp(b->cwd, "/") == 0)
		return K_STAY;
	snprintf(parent, sizeof(parent), "%s", b->cwd);
	slash = strrchr(parent, '/');
	snprintf(child, sizeof(child), "%s", slash + 1);
	if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	b->filter[0] = '\0';
	b->filtering = 0;
	if (browse_open(a, parent) != 0) {
		app_error(a, "Cannot open the folder", b->error);
		return K_REDRAW;
	}
	/* the cursor goes back onto the folder we came from */
	for (size_t i = 0; i < b->nview; i++)
		if (strcmp(b->v[b->view[i]].name, child) == 0)
			b->sel = i;
	return K_REDRAW;
}

int
browse_act_mark(struct app *a)
{
	struct browse_state *b = &a->browse;
	char full[8192];

	if (b->nview == 0)
		return K_STAY;
	join_path(b->cwd, b->v[b->view[b->sel]].name, full, sizeof(full));
	if (strset_toggle(&b->marks, &b->nmarks, full) < 0)
		app_error(a, "Out of memory", "The mark could not be kept.");
	(void)browse_move(a, 1);	/* the next entry, as in mc and ncdu */
	return K_REDRAW;
}

int
browse_act_mark_all(struct app *a)
{
	struct browse_state *b = &a->browse;

	for (size_t i = 0; i < b->nview; i++) {
		char full[8192];

		join_path(b->cwd, b->v[b->view[i]].name, full, sizeof(full));
		(void)strset_add(&b->marks, &b->nmarks, full);
	}
	return K_REDRAW;
}

int
browse_act_unmark_all(struct app *a)
{
	strset_clear(&a->browse.marks, &a->browse.nmarks);
	return K_REDRAW;
}

int
browse_act_list_marks(struct app *a)
{
	struct browse_state *b = &a->browse;
	size_t len = 0, cap = 64;
	char *text = malloc(cap);

	if (text == NULL)
		return K_STAY;
	text[0] = '\0';
	if (b->nmarks == 0)
		snprintf(text, cap, "Nothing is marked. Space marks the entry under the cursor.");
	for (size_t i = 0; i < b->nmarks; i++) {
		char esc[8192];
		size_t n;

		text_escape(b->marks[i], esc, sizeof(esc));
		n = strlen(esc);
		if (len + n + 2 > cap) {
			char *nt = realloc(text, (len + n + 2) * 2);

			if (nt == NULL)
				break;
			text = nt;
			cap = (len + n + 2) * 2;
		}
		memcpy(text + len, esc, n);
		len += n;
		text[len++] = i + 1 < b->nmarks ? '\n' : '\0';
		text[len] = '\0';
	}
	dlg_text(a, "Marked items", text);
	free(text);
	return K_REDRAW;
}

int
browse_act_filter(struct app *a)
{
	a->browse.filtering = 1;
	return K_REDRAW;
}

int
browse_act_hidden(struct app *a)
{
	a->browse.show_hidden = !a->browse.show_hidden;
	browse_view(a);
	return K_REDRAW;
}

int
browse_act_home_dir(struct app *a)
{
	const char *home = getenv("HOME");

	if (home == NULL || browse_open(a, home) != 0)
		app_error(a, "Cannot open the home folder", home ? a->browse.error :
		    "HOME is not set.");
	return K_REDRAW;
}

int
browse_act_refresh(struct app *a)
{
	char cwd[4096];
	abk_err err = ABK_ERR_INIT;

	snprintf(cwd, sizeof(cwd), "%s", a->browse.cwd);
	if (a->sizes != NULL)
		sizes_forget(a->sizes);
	(void)browse_open(a, cwd);
	(void)app_load_sources(a, &err);
	return K_REDRAW;
}

int
browse_act_push(struct app *a)
{
	push_begin(a);
	return K_REDRAW;
}

int
browse_key(struct app *a, int key)
{
	struct browse_state *b = &a->browse;

	if (b->filtering) {
		if (key == UK_ENTER) {
			b->filtering = 0;
			return K_REDRAW;
		}
		if (key == UK_ESC) {
			b->filtering = 0;
			b->filter[0] = '\0';
			browse_view(a);
			return K_REDRAW;
		}
		if (key != UK_UP && key != UK_DOWN && key != UK_PGUP && key != UK_PGDN) {
			size_t cur = strlen(b->filter);

			if (dlg_edit(b->filter, sizeof(b->filter), &cur, key)) {
				b->sel = 0;
				browse_view(a);
				return K_REDRAW;
			}
			return K_STAY;
		}
	} else if (key == UK_ESC && b->filter[0] != '\0') {
		b->filter[0] = '\0';
		browse_view(a);
		return K_REDRAW;
	}
	return keys_dispatch(a, SCR_BROWSE, key);
}
