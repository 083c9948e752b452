/*
 * keys.c - the key table (keys.h): dispatch, status line and help overlay
 * from the same rows.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "keys.h"
#include "ui.h"

#define ON(s) (1u << (s))
#define MAIN (ON(SCR_BROWSE) | ON(SCR_SERVER) | ON(SCR_SNAP))

struct key_entry {
	unsigned screens;
	int key, alt, alt2;
	const char *hint;		/* status line word, NULL = help only */
	const char *help;
	int (*action)(struct app *a);
};

static const struct key_entry key_table[] = {
	{ ON(SCR_LOGIN), UK_ENTER, 0, 0, "log in", "log in (or go to the next empty field)",
	    login_act_submit },
	{ ON(SCR_LOGIN), UK_TAB, UK_DOWN, 0, "next", "next field", login_act_next },
	{ ON(SCR_LOGIN), UK_BTAB, UK_UP, 0, NULL, "previous field", login_act_prev },
	{ ON(SCR_LOGIN), UK_F2, 0, 0, "password/token", "the secret is a password or a token",
	    login_act_token },
	{ ON(SCR_LOGIN), UK_F1, 0, 0, "help", "this help", app_act_help },
	{ ON(SCR_LOGIN), UK_ESC, UK_F10, 0, "quit", "quit (while connecting: cancel the "
	    "connection)", login_act_escape },

	{ ON(SCR_PROGRESS), UK_ESC, 'q', UK_F10, "cancel", "ask to cancel the job",
	    progress_act_cancel },
	{ MAIN | ON(SCR_PROGRESS), '?', UK_F1, 0, "help", "this help", app_act_help },
	{ MAIN, 'q', UK_F10, 0, "quit", "quit", app_act_quit },
	{ MAIN, UK_TAB, UK_BTAB, 0, "switch", "switch between local files and the server",
	    app_act_switch },

	{ ON(SCR_BROWSE), UK_UP, 'k', 0, NULL, "move up", browse_act_up },
	{ ON(SCR_BROWSE), UK_DOWN, 'j', 0, NULL, "move down", browse_act_down },
	{ ON(SCR_BROWSE), UK_PGUP, 0, 0, NULL, "page up", browse_act_pgup },
	{ ON(SCR_BROWSE), UK_PGDN, 0, 0, NULL, "page down", browse_act_pgdn },
	{ ON(SCR_BROWSE), UK_HOME, 'g', 0, NULL, "first entry", browse_act_home },
	{ ON(SCR_BROWSE), UK_END, 'G', 0, NULL, "last entry", browse_act_end },
	{ ON(SCR_BROWSE), UK_ENTER, 'l', UK_RIGHT, NULL, "open the folder", browse_act_enter },
	{ ON(SCR_BROWSE), UK_BACKSPACE, 'h', UK_LEFT, NULL, "up to the parent folder",
	    browse_act_parent },
	{ ON(SCR_BROWSE), ' ', 0, 0, "mark", "mark or unmark (marks survive moving around)",
	    browse_act_mark },
	{ ON(SCR_BROWSE), 'a', 0, 0, NULL, "mark everything shown here", browse_act_mark_all },
	{ ON(SCR_BROWSE), 'u', 0, 0, NULL, "unmark everything", browse_act_unmark_all },
	{ ON(SCR_BROWSE), 'm', 0, 0, NULL, "list the marked items", browse_act_list_marks },
	{ ON(SCR_BROWSE), 'p', UK_F5, 0, "push", "push the marked items (each its own source)",
	    browse_act_push },
	{ ON(SCR_BROWSE), '/', 0, 0, "filter", "filter names as you type (Esc clears)",
	    browse_act_filter },
	{ ON(SCR_BROWSE), '.', 0, 0, NULL, "show or hide hidden files", browse_act_hidden },
	{ ON(SCR_BROWSE), '~', 0, 0, NULL, "go to the home folder", browse_act_home_dir },
	{ ON(SCR_BROWSE), 'R', UK_F2, 0, NULL, "reread the folder", browse_act_refresh },

	{ ON(SCR_SERVER), UK_UP, 'k', 0, NULL, "move up", server_act_up },
	{ ON(SCR_SERVER), UK_DOWN, 'j', 0, NULL, "move down", server_act_down },
	{ ON(SCR_SERVER), UK_ENTER, 'l', UK_RIGHT, "open", "the source's snapshots",
	    server_act_open },
	{ ON(SCR_SERVER), 'r', UK_F6, 0, "restore", "restore the latest snapshot",
	    server_act_restore },
	{ ON(SCR_SERVER), 'v', UK_F7, 0, "verify", "verify the latest snapshot on the server",
	    server_act_verify },
	{ ON(SCR_SERVER), 'R', UK_F2, 0, NULL, "reload the list", server_act_refresh },

	{ ON(SCR_SNAP), UK_UP, 'k', 0, NULL, "move up", snap_act_up },
	{ ON(SCR_SNAP), UK_DOWN, 'j', 0, NULL, "move down", snap_act_down },
	{ ON(SCR_SNAP), UK_PGUP, 0, 0, NULL, "page up", snap_act_pgup },
	{ ON(SCR_SNAP), UK_PGDN, 0, 0, NULL, "page down", snap_act_pgdn },
	{ ON(SCR_SNAP), UK_ENTER, 'l', UK_RIGHT, "open", "open the snapshot or folder",
	    snap_act_enter },
	{ ON(SCR_SNAP), UK_BACKSPACE, 'h', UK_LEFT, "back", "back up one level",
	    snap_act_back },
	{ ON(SCR_SNAP), UK_ESC, 0, 0, NULL, "back up one level (to the sources from the top)",
	    snap_act_back },
	{ ON(SCR_SNAP), ' ', 0, 0, "mark", "mark a file or folder to restore", snap_act_mark },
	{ ON(SCR_SNAP), 'r', UK_F6, 0, "restore", "restore the marked items (or everything)",
	    snap_act_restore },
	{ ON(SCR_SNAP), 'v', UK_F7, 0, "verify", "verify this snapshot on the server",
	    snap_act_verify },
};

#define N_KEYS (sizeof(key_table) / sizeof(key_table[0]))

int
keys_dispatch(struct app *a, int screen, int key)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_entry *k = &key_table[i];

		if (!(k->screens & ON(screen)))
			continue;
		if (k->key == key || (k->alt != 0 && k->alt == key) ||
		    (k->alt2 != 0 && k->alt2 == key))
			return k->action(a);
	}
	return K_UNBOUND;
}

static void
key_label(const struct key_entry *k, char *buf, size_t bufsz)
{
	char b1[16], b2[16], b3[16];

	if (k->alt2 != 0)
		snprintf(buf, bufsz, "%s %s %s", ui_key_name(k->key, b1, sizeof(b1)),
		    ui_key_name(k->alt, b2, sizeof(b2)), ui_key_name(k->alt2, b3, sizeof(b3)));
	else if (k->alt != 0)
		snprintf(buf, bufsz, "%s %s", ui_key_name(k->key, b1, sizeof(b1)),
		    ui_key_name(k->alt, b2, sizeof(b2)));
	else
		snprintf(buf, bufsz, "%s", ui_key_name(k->key, b1, sizeof(b1)));
}

void
keys_status(int screen, char *buf, size_t bufsz)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_KEYS && len + 1 < bufsz; i++) {
		const struct key_entry *k = &key_table[i];
		char b1[16], b2[16];
		int n;

		if (!(k->screens & ON(screen)) || k->hint == NULL)
			continue;
		if (k->alt != 0 && ((k->alt >= UK_F1 && k->alt <= UK_F10) ||
		    (k->key >= UK_F1 && k->key <= UK_F10)))
			n = snprintf(buf + len, bufsz - len, "%s/%s %s  ",
			    ui_key_name(k->key, b1, sizeof(b1)), ui_key_name(k->alt, b2, sizeof(b2)),
			    k->hint);
		else
			n = snprintf(buf + len, bufsz - len, "%s %s  ",
			    ui_key_name(k->key, b1, sizeof(b1)), k->hint);
		if (n < 0 || (size_t)n >= bufsz - len)
			break;
		len += (size_t)n;
	}
}

void
keys_help_draw(struct app *a, int screen)
{
	size_t rows[N_KEYS] = { 0 }, n = 0;
	int h, w, y, x, lines;

	for (size_t i = 0; i < N_KEYS; i++)
		if (key_table[i].screens & ON(screen))
			rows[n++] = i;
	w = a->cols - 8 < 76 ? a->cols - 8 : 76;
	h = (int)n + 4 < a->rows - 2 ? (int)n + 4 : a->rows - 2;
	y = (a->rows - h) / 2;
	x = (a->cols - w) / 2;
	lines = h - 4;
	if (a->help_scroll + (size_t)lines > n)
		a->help_scroll = n > (size_t)lines ? n - (size_t)lines : 0;
	ui_box(y, x, h, w, "Help: keys on this screen");
	for (int i = 0; i < lines && a->help_scroll + (size_t)i < n; i++) {
		const struct key_entry *k = &key_table[rows[a->help_scroll + (size_t)i]];
		char label[64];

		key_label(k, label, sizeof(label));
		ui_text(y + 1 + i, x + 2, R_MARK, label, 18, 1);
		ui_text(y + 1 + i, x + 21, R_DIALOG, k->help, w - 23, 1);
	}
	ui_text(y + h - 2, x + 2, R_DIM, "Up/Down scroll - any other key closes", w - 4, 1);
}

int
keys_help_key(struct app *a, int key)
{
	if (key == UK_DOWN || key == 'j') {
		a->help_scroll++;
		return K_REDRAW;
	}
	if (key == UK_UP || key == 'k') {
		if (a->help_scroll > 0)
			a->help_scroll--;
		return K_REDRAW;
	}
	a->help = 0;
	return K_REDRAW;
}
