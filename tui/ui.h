/*
 * ui.h - the terminal: the only module that includes curses.h.
 *
 * ui.c owns initialisation and teardown (the terminal is restored on every
 * exit path: normal return, SIGINT/SIGTERM through a self-pipe, a fatal
 * error via atexit), the colour table (with a monochrome fallback and
 * NO_COLOR respected), key reading (curses key codes translated to UK_*),
 * and the drawing primitives the screens use.  Everything here runs on the
 * UI thread only; worker threads never call ui_*.
 *
 * Text drawn through ui_text is UTF-8: wide characters take their width
 * (wcwidth), control characters and invalid bytes are shown escaped (\n, \t,
 * \xNN), and the text is cut at a column, never in the middle of a character.
 */
#ifndef ABT_UI_H
#define ABT_UI_H

#include <stddef.h>

/* Roles, not colours: the table in ui.c maps each to a colour and attributes. */
enum ui_role {
	R_NORMAL, R_TITLE, R_STATUS, R_SEL, R_MARK, R_DIR, R_ERR, R_DIM, R_BAR, R_GOOD,
	R_FIELD, R_DIALOG, R_ROLES
};

/* Keys beyond plain characters (plain characters are their code point). */
enum {
	UK_NONE = -1,
	UK_UP = 0x110000, UK_DOWN, UK_LEFT, UK_RIGHT, UK_PGUP, UK_PGDN, UK_HOME, UK_END,
	UK_ENTER, UK_BACKSPACE, UK_ESC, UK_TAB, UK_BTAB, UK_DEL, UK_RESIZE,
	UK_F1, UK_F2, UK_F3, UK_F4, UK_F5, UK_F6, UK_F7, UK_F8, UK_F9, UK_F10,
};

/* Minimum usable size; below it screens show a message instead. */
#define UI_MIN_COLS 80
#define UI_MIN_ROWS 24

/* Set up the terminal (locale, curses, colours, signals).  0 or -1. */
int ui_init(void);
/* Restore the terminal; idempotent, safe to call from atexit. */
void ui_end(void);
/* 1 once SIGINT or SIGTERM arrived. */
int ui_quit_requested(void);

/*
 * Wait for input: up to timeout_ms (-1 = forever) on the terminal, the
 * signal pipe and wake_fd (-1 = none; drained here).  Returns a key, or
 * UK_NONE on timeout/wake-up.
 */
int ui_getkey(int wake_fd, int timeout_ms);

void ui_size(int *rows, int *cols);
/* Start a frame: clear the virtual screen. */
void ui_begin(void);
/* End a frame: one doupdate; the cursor shown at (y, x) or hidden (y < 0). */
void ui_end_frame(int cur_y, int cur_x);

/* Draw UTF-8 text at (y, x), cut at width columns; pad to width when pad.
 * Returns the columns used. */
int ui_text(int y, int x, enum ui_role r, const char *s, int width, int pad);
/* Like ui_text for a length-delimited name (may hold any byte). */
int ui_name(int y, int x, enum ui_role r, const char *s, size_t len, int width, int pad);
/* printf into a line (cut at width, padded). */
void ui_printf(int y, int x, enum ui_role r, int width, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Fill a rectangle with spaces of a role. */
void ui_fill(int y, int x, int h, int w, enum ui_role r);
/* A framed box with a title (a dialog paints over what is beneath). */
void ui_box(int y, int x, int h, int w, const char *title);
/* A bar of width columns, frac of it filled. */
void ui_bar(int y, int x, int width, double frac);

/* Display width of UTF-8 text as ui_text draws it (escapes included). */
int ui_width(const char *s, size_t len);

/* Name of a key for the help screen ("Enter", "F5", "a"). */
const char *ui_key_name(int key, char *buf, size_t bufsz);

#endif
