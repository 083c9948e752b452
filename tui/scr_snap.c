/*
 * scr_snap.c - one source on the server: its snapshots (time, files,
 * size), and inside a snapshot its folders one level at a time
 * (abk_list_files).  Space marks items to restore (paths relative to the
 * source), r restores them (or everything), v verifies the snapshot.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "keys.h"
#include "manifest.h"
#include "strutil.h"
#include "ui.h"

#define LIST_Y 3

static size_t
rows_of(const struct app *a)
{
	int n = a->rows - LIST_Y - 2;

	return n > 0 ? (size_t)n : 1;
}

int
snap_open(struct app *a, const char *source, const char *origin)
{
	struct snap_state *st = &a->snap;
	abk_err err = ABK_ERR_INIT;

	snap_free(a);
	snprintf(st->source, sizeof(st->source), "%s", source);
	snprintf(st->origin, sizeof(st->origin), "%s", origin);
	st->inside = 0;
	st->ssel = st->stop = 0;
	if (app_load_snapshots(a, source, &err) != ABK_OK) {
		app_error(a, "Cannot list the snapshots", err.msg);
		return -1;
	}
	return 0;
}

static void
rel_path(const struct snap_state *st, const char *name, char *out, size_t outsz)
{
	if (snprintf(out, outsz, "%s%s%s", st->dir, st->dir[0] ? "/" : "", name) >= (int)outsz)
		out[0] = '\0';		/* too long to be a path: never matches */
}

void
snap_draw(struct app *a)
{
	struct snap_state *st = &a->snap;
	size_t rows = rows_of(a);

	if (!st->inside) {
		ui_printf(1, 0, R_NORMAL, a->cols, " Source %s - snapshots, newest first "
		    "(from %s)", st->source, st->origin);
		ui_printf(2, 0, R_DIM, a->cols, "  %-24s %-17s %10s %10s", "Snapshot", "Time",
		    "Files", "Size");
		if (st->ssel < st->stop)
			st->stop = st->ssel;
		if (st->ssel >= st->stop + rows)
			st->stop = st->ssel - rows + 1;
		for (size_t r = 0; r < rows && st->stop + r < st->nsnaps; r++) {
			const struct rsnap *s = &st->snaps[st->stop + r];
			int sel = st->stop + r == st->ssel;
			char when[32], size[32];

			if (sel)
				ui_fill(LIST_Y + (int)r, 0, 1, a->cols, R_SEL);
			ui_printf(LIST_Y + (int)r, 0, sel ? R_SEL : R_NORMAL, a->cols,
			    "  %-24s %-17s %10llu %10s", s->id, text_date(s->time, when,
			    sizeof(when)), (unsigned long long)s->files,
			    abk_format_size(s->bytes, size, sizeof(size)));
		}
		if (st->nsnaps == 0)
			ui_text(LIST_Y, 2, R_DIM, "(no snapshots)", a->cols - 4, 0);
		return;
	}
	ui_printf(1, 0, R_NORMAL, a->cols, " %s @ %s: /%s", st->source, st->snapshot, st->dir);
	ui_printf(2, 0, R_DIM, a->cols, "  %-40s %10s %-17s", "Name", "Size", "Modified");
	if (st->fsel < st->ftop)
		st->ftop = st->fsel;
	if (st->fsel >= st->ftop + rows)
		st->ftop = st->fsel - rows + 1;
	for (size_t r = 0; r < rows && st->ftop + r < st->nfiles; r++) {
		const struct rfile *f = &st->files[st->ftop + r];
		int y = LIST_Y + (int)r, sel = st->ftop + r == st->fsel, w;
		enum ui_role role = sel ? R_SEL : f->type == MF_DIR ? R_DIR : R_NORMAL;
		char rel[8192], size[32], when[32];
		int marked;

		rel_path(st, f->name, rel, sizeof(rel));
		marked = strset_has(st->marks, st->nmarks, rel);
		if (sel)
			ui_fill(y, 0, 1, a->cols, R_SEL);
		ui_text(y, 0, marked ? (sel ? R_SEL : R_MARK) : role, marked ? "* " : "  ", 2, 1);
		w = ui_name(y, 2, marked && !sel ? R_MARK : role, f->name, strlen(f->name), 39, 0);
		if (f->type == MF_DIR)
			ui_text(y, 2 + w, role, "/", 1, 0);
		if (f->type != MF_DIR)
			ui_printf(y, 43, role, 11, "%10s", abk_format_size(f->size, size,
			    sizeof(size)));
		ui_text(y, 54, role, text_date(f->mtime, when, sizeof(when)), 17, 1);
	}
	if (st->nfiles == 0)
		ui_text(LIST_Y, 2, R_DIM, "(empty folder)", a->cols - 4, 0);
	ui_printf(a->rows - 2, 0, R_NORMAL, a->cols, " marked: %zu (r restores %s)",
	    st->nmarks, st->nmarks ? "the marked items" : "everything");
}

static int
snap_move(struct app *a, long delta)
{
	struct snap_state *st = &a->snap;
	size_t *sel = st->inside ? &st->fsel : &st->ssel;
	size_t n = st->inside ? st->nfiles : st->nsnaps;
	long s = (long)*sel + delta;

	if (n == 0)
		return K_STAY;
	if (s < 0)
		s = 0;
	if (s >= (long)n)
		s = (long)n - 1;
	*sel = (size_t)s;
	return K_REDRAW;
}

int
snap_act_up(struct app *a)
{
	return snap_move(a, -1);
}

int
snap_act_down(struct app *a)
{
	return snap_move(a, 1);
}

int
snap_act_pgup(struct app *a)
{
	return snap_move(a, -(long)rows_of(a));
}

int
snap_act_pgdn(struct app *a)
{
	return snap_move(a, (long)rows_of(a));
}

static int
snap_load(struct app *a)
{
	abk_err err = ABK_ERR_INIT;

	a->snap.fsel = a->snap.ftop = 0;
	if (app_load_files(a, &err) != ABK_OK) {
		app_error(a, "Cannot list the folder", err.msg);
		return -1;
	}
	return 0;
}

int
snap_act_enter(struct app *a)
{
	struct snap_state *st = &a->snap;

	if (!st->inside) {
		if (st->nsnaps == 0)
			return K_STAY;
		snprintf(st->snapshot, sizeof(st->snapshot), "%s", st->snaps[st->ssel].id);
		st->dir[0] = '\0';
		strset_clear(&st->marks, &st->nmarks);
		st->inside = 1;
		if (snap_load(a) != 0)
			st->inside = 0;
		return K_REDRAW;
	}
	if (st->nfiles == 0 || st->files[st->fsel].type != MF_DIR)
		return K_STAY;
	{
		char rel[4096];

		rel_path(st, st->files[st->fsel].name, rel, sizeof(rel));
		snprintf(st->dir, sizeof(st->dir), "%s", rel);
	}
	(void)snap_load(a);
	return K_REDRAW;
}

int
snap_act_back(struct app *a)
{
	struct snap_state *st = &a->snap;
	char *slash;

	if (!st->inside) {
		a->screen = SCR_SERVER;
		return K_REDRAW;
	}
	if (st->dir[0] == '\0') {
		st->inside = 0;
		return K_REDRAW;
	}
	slash = strrchr(st->dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		st->dir[0] = '\0';
	(void)snap_load(a);
	return K_REDRAW;
}

int
snap_act_mark(struct app *a)
{
	struct snap_state *st = &a->snap;
	char rel[8192];

	if (!st->inside || st->nfiles == 0)
		return K_STAY;
	rel_path(st, st->files[st->fsel].name, rel, sizeof(rel));
	(void)strset_toggle(&st->marks, &st->nmarks, rel);
	(void)snap_move(a, 1);
	return K_REDRAW;
}

int
snap_act_restore(struct app *a)
{
	struct snap_state *st = &a->snap;

	if (!st->inside) {
		if (st->nsnaps == 0)
			return K_STAY;
		snprintf(st->snapshot, sizeof(st->snapshot), "%s", st->snaps[st->ssel].id);
		restore_begin(a, st->source, st->snapshot, NULL, 0);
		return K_REDRAW;
	}
	restore_begin(a, st->source, st->snapshot, st->marks, st->nmarks);
	return K_REDRAW;
}

int
snap_act_verify(struct app *a)
{
	struct snap_state *st = &a->snap;

	if (!st->inside && st->nsnaps == 0)
		return K_STAY;
	if (!st->inside)
		snprintf(st->snapshot, sizeof(st->snapshot), "%s", st->snaps[st->ssel].id);
	verify_begin(a, st->source, st->snapshot);
	return K_REDRAW;
}

int
snap_key(struct app *a, int key)
{
	return keys_dispatch(a, SCR_SNAP, key);
}
