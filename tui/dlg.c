/*
 * dlg.c - dialogs painted over the current screen: a message, a yes/no
 * confirmation (with an optional check box), a path prompt with Tab
 * completion, a scrollable text (summaries), a list of choices.  One dialog
 * at a time; its done callback may open the next one.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "ui.h"

static char dlg_hint[512];	/* Tab completion: the candidates, shown once */

void
dlg_close(struct app *a)
{
	free(a->dlg.body);
	memset(&a->dlg, 0, sizeof(a->dlg));
	a->dlg.kind = DLG_NONE;
	dlg_hint[0] = '\0';
}

static void
dlg_open(struct app *a, enum dlg_kind kind, const char *title, const char *body,
    dlg_done_fn done)
{
	dlg_close(a);
	a->dlg.kind = kind;
	snprintf(a->dlg.title, sizeof(a->dlg.title), "%s", title);
	a->dlg.body = strdup(body ? body : "");
	if (a->dlg.body != NULL) {
		size_t n = strlen(a->dlg.body);

		while (n > 0 && a->dlg.body[n - 1] == '\n')
			a->dlg.body[--n] = '\0';
	}
	a->dlg.done = done;
	a->dlg.check = -1;
}

void
dlg_msg(struct app *a, const char *title, const char *body, int error)
{
	dlg_open(a, DLG_MSG, title, body, NULL);
	a->dlg.error = error;
}

void
dlg_confirm(struct app *a, const char *title, const char *body, dlg_done_fn done)
{
	dlg_open(a, DLG_CONFIRM, title, body, done);
}

void
dlg_prompt(struct app *a, const char *title, const char *body, const char *initial,
    int complete_dirs, dlg_done_fn done)
{
	dlg_open(a, DLG_PROMPT, title, body, done);
	snprintf(a->dlg.input, sizeof(a->dlg.input), "%s", initial ? initial : "");
	a->dlg.cur = strlen(a->dlg.input);
	a->dlg.complete_dirs = complete_dirs;
}

void
dlg_text(struct app *a, const char *title, const char *body)
{
	dlg_open(a, DLG_TEXT, title, body, NULL);
}

void
dlg_choice(struct app *a, const char *title, const char *body,
    const char *const *choices, int n, dlg_done_fn done)
{
	dlg_open(a, DLG_CHOICE, title, body, done);
	a->dlg.nchoices = n > 4 ? 4 : n;
	for (int i = 0; i < a->dlg.nchoices; i++)
		a->dlg.choices[i] = choices[i];
}

/* Count lines of the body and the widest one. */
static size_t
body_lines(const char *b, int *widest)
{
	size_t n = 1;
	const char *start = b;

	*widest = 0;
	for (const char *p = b;; p++) {
		if (*p == '\n' || *p == '\0') {
			int w = ui_width(start, (size_t)(p - start));

			if (w > *widest)
				*widest = w;
			if (*p == '\0')
				break;
			n++;
			start = p + 1;
		}
	}
	return n;
}

void
dlg_draw(struct app *a)
{
	struct dlg *d = &a->dlg;
	int widest, w, h, y, x, extra = 0, avail;
	size_t nlines = body_lines(d->body, &widest), skip;
	const char *p;
	const char *keys;

	if (d->kind == DLG_NONE)
		return;
	if (d->kind == DLG_PROMPT)
		extra = 3;
	else if (d->kind == DLG_CHOICE)
		extra = d->nchoices + 1;
	else if (d->check >= 0)
		extra = 2;
	w = widest + 6;
	if (w < 50)
		w = 50;
	if (d->kind == DLG_PROMPT || d->kind == DLG_TEXT)
		w = a->cols - 6;
	if (w > a->cols - 2)
		w = a->cols - 2;
	h = (int)nlines + extra + 4;
	if (h > a->rows - 2)
		h = a->rows - 2;
	avail = h - 4 - extra;
	if (avail < 1)
		avail = 1;
	y = (a->rows - h) / 2;
	x = (a->cols - w) / 2;
	ui_box(y, x, h, w, d->title);
	if (d->kind == DLG_TEXT && nlines > (size_t)avail && d->scroll > nlines - (size_t)avail)
		d->scroll = nlines - (size_t)avail;
	skip = d->kind == DLG_TEXT ? d->scroll : 0;
	p = d->body;
	for (size_t i = 0; p != NULL && i < skip + (size_t)avail; i++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (i >= skip)
			ui_name(y + 1 + (int)(i - skip), x + 2, d->error ? R_ERR : R_DIALOG, p, len,
			    w - 4, 0);
		p = nl ? nl + 1 : NULL;
	}
	if (d->check >= 0)
		ui_printf(y + 2 + avail, x + 2, R_MARK, w - 4, "[%c] %s (d toggles)",
		    d->check ? 'x' : ' ', d->check_label ? d->check_label : "");
	if (d->kind == DLG_CHOICE)
		for (int i = 0; i < d->nchoices; i++)
			ui_printf(y + 2 + avail + i, x + 2, i == d->choice ? R_SEL : R_DIALOG, w - 4,
			    " %d. %s ", i + 1, d->choices[i]);
	switch (d->kind) {
	case DLG_CONFIRM:
		keys = "y/Enter: yes   n/Esc: no";
		break;
	case DLG_PROMPT:
		keys = "Enter: OK   Tab: complete   Esc: cancel";
		break;
	case DLG_TEXT:
		keys = nlines > (size_t)avail ? "Up/Down/PgUp/PgDn scroll   Enter/Esc/q: close" :
		    "Enter/Esc/q: close";
		break;
	case DLG_CHOICE:
		keys = "Up/Down choose   Enter: OK   Esc: cancel";
		break;
	default:
		keys = "Enter/Esc: close";
		break;
	}
	ui_text(y + h - 2, x + 2, R_DIM, keys, w - 4, 0);
	if (d->kind == DLG_PROMPT) {
		int fw = w - 4, iw = ui_width(d->input, d->cur), off = 0;
		const char *s = d->input;

		/* scroll the field so the cursor stays visible */
		while (iw - off >= fw && *s != '\0') {
			off = ui_width(d->input, (size_t)(++s - d->input));
		}
		ui_text(y + 1 + avail + 1, x + 2, R_FIELD, s, fw, 1);
		if (dlg_hint[0] != '\0')
			ui_text(y + 1 + avail, x + 2, R_DIM, dlg_hint, fw, 1);
	}
}

int
dlg_cursor(struct app *a, int *cy, int *cx)
{
	struct dlg *d = &a->dlg;
	int widest, w, h, y, x, avail, iw, off = 0;
	size_t nlines;
	const char *s = d->input;

	if (d->kind != DLG_PROMPT)
		return 0;
	nlines = body_lines(d->body, &widest);
	w = a->cols - 6 > a->cols - 2 ? a->cols - 2 : a->cols - 6;
	h = (int)nlines + 3 + 4;
	if (h > a->rows - 2)
		h = a->rows - 2;
	avail = h - 4 - 3;
	if (avail < 1)
		avail = 1;
	y = (a->rows - h) / 2;
	x = (a->cols - w) / 2;
	iw = ui_width(d->input, d->cur);
	while (iw - off >= w - 4 && *s != '\0')
		off = ui_width(d->input, (size_t)(++s - d->input));
	*cy = y + 1 + avail + 1;
	*cx = x + 2 + iw - off;
	return 1;
}

/* Tab: complete the last component of the input against the folder. */
static void
dlg_complete(struct dlg *d)
{
	char dir[4096], prefix[4096], common[1024] = "", expanded[4200];
	const char *slash = strrchr(d->input, '/');
	const char *home = getenv("HOME");
	size_t plen, nmatch = 0, hl = 0;
	struct dirent *de;
	DIR *dp;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		snprintf(prefix, sizeof(prefix), "%s", d->input);
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - d->input + 1), d->input);
		snprintf(prefix, sizeof(prefix), "%s", slash + 1);
	}
	if (dir[0] == '~' && home != NULL)
		snprintf(expanded, sizeof(expanded), "%s%s", home, dir + 1);
	else
		snprintf(expanded, sizeof(expanded), "%s", dir);
	plen = strlen(prefix);
	dlg_hint[0] = '\0';
	if ((dp = opendir(expanded)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char full[8192];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (plen == 0 && de->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", expanded, de->d_name);
		if (d->complete_dirs && (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)))
			continue;
		if (nmatch++ == 0) {
			snprintf(common, sizeof(common), "%s", de->d_name);
		} else {
			size_t k = 0;

			while (common[k] != '\0' && common[k] == de->d_name[k])
				k++;
			common[k] = '\0';
		}
		if (hl + strlen(de->d_name) + 3 < sizeof(dlg_hint)) {
			hl += (size_t)snprintf(dlg_hint + hl, sizeof(dlg_hint) - hl, "%s%s",
			    hl ? "  " : "", de->d_name);
		}
	}
	closedir(dp);
	if (nmatch == 0)
		return;
	snprintf(d->input + (slash ? (size_t)(slash - d->input + 1) : 0),
	    sizeof(d->input) - (slash ? (size_t)(slash - d->input + 1) : 0), "%s%s", common,
	    nmatch == 1 ? "/" : "");
	d->cur = strlen(d->input);
	if (nmatch == 1)
		dlg_hint[0] = '\0';
}

int
dlg_edit(char *buf, size_t bufsz, size_t *cur, int key)
{
	size_t len = strlen(buf);

	if (key == UK_BACKSPACE) {
		size_t at = *cur;

		if (at == 0)
			return 0;
		do
			at--;
		while (at > 0 && ((unsigned char)buf[at] & 0xc0) == 0x80);
		memmove(buf + at, buf + *cur, len - *cur + 1);
		*cur = at;
		return 1;
	}
	if (key == UK_LEFT) {
		while (*cur > 0 && (((unsigned char)buf[--*cur]) & 0xc0) == 0x80)
			;
		return 1;
	}
	if (key == UK_RIGHT) {
		if (*cur < len)
			while (++*cur < len && ((unsigned char)buf[*cur] & 0xc0) == 0x80)
				;
		return 1;
	}
	if (key == UK_HOME || key == 1) {
		*cur = 0;
		return 1;
	}
	if (key == UK_END || key == 5) {
		*cur = len;
		return 1;
	}
	if (key == 21) {		/* ^U */
		buf[0] = '\0';
		*cur = 0;
		return 1;
	}
	if (key >= 0x20 && key < 0x110000 && key != 0x7f) {
		char enc[8];
		size_t n;
		unsigned k = (unsigned)key;

		if (k < 0x80) {
			enc[0] = (char)k;
			n = 1;
		} else if (k < 0x800) {
			enc[0] = (char)(0xc0 | (k >> 6));
			enc[1] = (char)(0x80 | (k & 0x3f));
			n = 2;
		} else if (k < 0x10000) {
			enc[0] = (char)(0xe0 | (k >> 12));
			enc[1] = (char)(0x80 | ((k >> 6) & 0x3f));
			enc[2] = (char)(0x80 | (k & 0x3f));
			n = 3;
		} else {
			enc[0] = (char)(0xf0 | (k >> 18));
			enc[1] = (char)(0x80 | ((k >> 12) & 0x3f));
			enc[2] = (char)(0x80 | ((k >> 6) & 0x3f));
			enc[3] = (char)(0x80 | (k & 0x3f));
			n = 4;
		}
		if (len + n + 1 > bufsz)
			return 0;
		memmove(buf + *cur + n, buf + *cur, len - *cur + 1);
		memcpy(buf + *cur, enc, n);
		*cur += n;
		return 1;
	}
	return 0;
}

static int
dlg_finish(struct app *a, int ok)
{
	dlg_done_fn done = a->dlg.done;
	char text[4096];

	if (a->dlg.kind == DLG_CHOICE)
		snprintf(text, sizeof(text), "%d", a->dlg.choice);
	else if (a->dlg.kind == DLG_CONFIRM && a->dlg.check >= 0)
		snprintf(text, sizeof(text), "%d", a->dlg.check);
	else
		snprintf(text, sizeof(text), "%s", a->dlg.input);
	dlg_close(a);
	if (done != NULL)
		done(a, ok, text);
	return K_REDRAW;
}

int
dlg_key(struct app *a, int key)
{
	struct dlg *d = &a->dlg;

	switch (d->kind) {
	case DLG_MSG:
		if (key == UK_ENTER || key == UK_ESC || key == ' ' || key == 'q')
			return dlg_finish(a, 1);
		return K_STAY;
	case DLG_CONFIRM:
		if (key == 'y' || key == 'Y' || key == UK_ENTER)
			return dlg_finish(a, 1);
		if (key == 'n' || key == 'N' || key == UK_ESC)
			return dlg_finish(a, 0);
		if ((key == 'd' || key == ' ') && d->check >= 0) {
			d->check = !d->check;
			return K_REDRAW;
		}
		return K_STAY;
	case DLG_TEXT:
		if (key == UK_DOWN || key == 'j')
			d->scroll++;
		else if (key == UK_UP || key == 'k')
			d->scroll = d->scroll ? d->scroll - 1 : 0;
		else if (key == UK_PGDN)
			d->scroll += (size_t)(a->rows / 2);
		else if (key == UK_PGUP)
			d->scroll = d->scroll > (size_t)(a->rows / 2) ? d->scroll -
			    (size_t)(a->rows / 2) : 0;
		else if (key == UK_ENTER || key == UK_ESC || key == 'q')
			return dlg_finish(a, 1);
		else
			return K_STAY;
		return K_REDRAW;
	case DLG_CHOICE:
		if (key == UK_DOWN || key == 'j')
			d->choice = (d->choice + 1) % d->nchoices;
		else if (key == UK_UP || key == 'k')
			d->choice = (d->choice + d->nchoices - 1) % d->nchoices;
		else if (key >= '1' && key < '1' + d->nchoices)
			d->choice = key - '1';
		else if (key == UK_ENTER)
			return dlg_finish(a, 1);
		else if (key == UK_ESC)
			return dlg_finish(a, 0);
		else
			return K_STAY;
		return K_REDRAW;
	case DLG_PROMPT:
		if (key == UK_ENTER)
			return dlg_finish(a, 1);
		if (key == UK_ESC)
			return dlg_finish(a, 0);
		if (key == UK_TAB) {
			dlg_complete(d);
			return K_REDRAW;
		}
		return dlg_edit(d->input, sizeof(d->input), &d->cur, key) ? K_REDRAW : K_STAY;
	default:
		return K_STAY;
	}
}
