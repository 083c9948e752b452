/*
 * scr_server.c - the server side of the main screen: the user's sources
 * with origin, snapshot count, last push, size and file count, and the
 * quota.  Enter opens a source's snapshots (scr_snap.c), r restores the
 * latest snapshot, v verifies it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "keys.h"
#include "strutil.h"
#include "ui.h"
#include "worker.h"

#define LIST_Y 4

void
server_free(struct app *a)
{
	struct server_state *s = &a->srv;

	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].origin);
		free(s->v[i].latest);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->loaded = 0;
}

void
server_draw(struct app *a)
{
	struct server_state *s = &a->srv;
	size_t rows = (size_t)(a->rows - LIST_Y - 2);
	uint64_t used = 0;
	char q[32], u[32];

	for (size_t i = 0; i < s->n; i++)
		used += s->v[i].bytes;
	abk_format_size(used, u, sizeof(u));
	if (s->quota > 0)
		ui_printf(1, 0, R_NORMAL, a->cols, " %zu source(s) on %s | latest snapshots %s "
		    "of a %s quota", s->n, abk_server_software(a->client) ?
		    abk_server_software(a->client) : "", u, abk_format_size(s->quota, q, sizeof(q)));
	else
		ui_printf(1, 0, R_NORMAL, a->cols, " %zu source(s) | latest snapshots %s | "
		    "no quota", s->n, u);
	ui_printf(3, 0, R_DIM, a->cols, "  %-16s %5s %-16s %10s %7s %s", "Source", "Snaps",
	    "Last push", "Size", "Files", "Origin");
	if (!s->loaded)
		ui_text(LIST_Y, 2, R_DIM, "(the list could not be loaded: R reloads)", a->cols - 4,
		    0);
	else if (s->n == 0)
		ui_text(LIST_Y, 2, R_DIM, "(no sources yet: mark folders on the local side "
		    "(Tab) and press p)", a->cols - 4, 0);
	if (s->sel < s->top)
		s->top = s->sel;
	if (s->sel >= s->top + rows)
		s->top = s->sel - rows + 1;
	for (size_t r = 0; r < rows && s->top + r < s->n; r++) {
		const struct rsource *e = &s->v[s->top + r];
		int y = LIST_Y + (int)r, sel = s->top + r == s->sel;
		enum ui_role role = sel ? R_SEL : R_NORMAL;
		char when[32], size[32];

		if (sel)
			ui_fill(y, 0, 1, a->cols, R_SEL);
		ui_name(y, 2, role, e->name, strlen(e->name), 16, 1);
		ui_printf(y, 19, role, 5, "%5u", e->snapshots);
		ui_text(y, 25, role, e->snapshots ? text_date(e->latest_time, when, sizeof(when)) :
		    "never", 16, 1);
		ui_printf(y, 42, role, 10, "%10s", abk_format_size(e->bytes, size, sizeof(size)));
		ui_printf(y, 53, role, 7, "%7llu", (unsigned long long)e->files);
		ui_name(y, 61, role, e->origin, strlen(e->origin), a->cols - 62, 1);
	}
}

int
server_act_up(struct app *a)
{
	if (a->srv.sel > 0)
		a->srv.sel--;
	return K_REDRAW;
}

int
server_act_down(struct app *a)
{
	if (a->srv.sel + 1 < a->srv.n)
		a->srv.sel++;
	return K_REDRAW;
}

int
server_act_refresh(struct app *a)
{
	abk_err err = ABK_ERR_INIT;

	if (app_load_sources(a, &err) != ABK_OK)
		app_error(a, "Cannot list the sources", err.msg);
	return K_REDRAW;
}

int
server_act_open(struct app *a)
{
	if (a->srv.n == 0)
		return K_STAY;
	if (snap_open(a, a->srv.v[a->srv.sel].name, a->srv.v[a->srv.sel].origin) == 0)
		a->screen = SCR_SNAP;
	return K_REDRAW;
}

int
server_act_restore(struct app *a)
{
	const struct rsource *s;

	if (a->srv.n == 0)
		return K_STAY;
	s = &a->srv.v[a->srv.sel];
	if (s->snapshots == 0) {
		app_error(a, "Nothing to restore", "This source has no snapshot yet.");
		return K_REDRAW;
	}
	snprintf(a->snap.source, sizeof(a->snap.source), "%s", s->name);
	snprintf(a->snap.origin, sizeof(a->snap.origin), "%s", s->origin);
	restore_begin(a, s->name, NULL, NULL, 0);
	return K_REDRAW;
}

int
server_act_verify(struct app *a)
{
	if (a->srv.n == 0)
		return K_STAY;
	snprintf(a->snap.source, sizeof(a->snap.source), "%s", a->srv.v[a->srv.sel].name);
	verify_begin(a, a->snap.source, NULL);
	return K_REDRAW;
}

int
server_key(struct app *a, int key)
{
	return keys_dispatch(a, SCR_SERVER, key);
}
