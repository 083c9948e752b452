/*
 * ui.c - the terminal: curses set-up and teardown, colours, keys, text.
 * The only file that includes curses.h (ui.h explains the contract).
 *
 * Signals: SIGINT and SIGTERM only set a flag and write a byte to a
 * self-pipe; ui_getkey sees it and the main loop ends, restoring the
 * terminal on its way out.  atexit(ui_end) covers exit() from anywhere.
 */
#include "config.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "ui.h"

static int ui_active;
static int ui_sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t ui_quit;
static int ui_attr[R_ROLES];

/* The colour table: one row per role; mono is used without colours. */
static const struct {
	enum ui_role role;
	short fg, bg;
	int colour_attr;
	int mono_attr;
} ui_colours[] = {
	{ R_NORMAL, -1, -1, 0, 0 },
	{ R_TITLE, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE },
	{ R_STATUS, COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
	{ R_SEL, COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE },
	{ R_MARK, COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	{ R_DIR, COLOR_BLUE, -1, A_BOLD, A_BOLD },
	{ R_ERR, COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD | A_REVERSE },
	{ R_DIM, -1, -1, A_DIM, A_DIM },
	{ R_BAR, COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE },
	{ R_GOOD, COLOR_GREEN, -1, A_BOLD, A_BOLD },
	{ R_FIELD, COLOR_WHITE, COLOR_BLACK, A_UNDERLINE, A_UNDERLINE },
	{ R_DIALOG, -1, -1, 0, 0 },
};

/* What was installed before our crash handler: the crash goes on to it. */
static const int ui_crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction ui_crash_old[sizeof(ui_crash_signals) / sizeof(int)];

/*
 * A crash: put the terminal back first (endwin is not async-signal-safe,
 * but the process is dying and a dead terminal is worse; htop does the
 * same), then hand the signal to the handler that was there before (a
 * sanitizer's, or the default): a fault re-executes and reaches it, a
 * signal that was sent (abort, kill) is raised again.
 */
static void
ui_on_crash(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	for (size_t i = 0; i < sizeof(ui_crash_signals) / sizeof(int); i++) {
		if (ui_crash_signals[i] != sig)
			continue;
		if (ui_active) {
			ui_active = 0;
			endwin();
		}
		sigaction(sig, &ui_crash_old[i], NULL);
		if (info == NULL || info->si_code <= 0)
			raise(sig);
		return;
	}
}

static void
ui_on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	ui_quit = 1;
	if (ui_sigpipe[1] >= 0)
		(void)!write(ui_sigpipe[1], &c, 1);
	errno = saved;
}

int
ui_quit_requested(void)
{
	return ui_quit != 0;
}

static void
ui_colours_init(void)
{
	const char *nc = getenv("NO_COLOR");
	int colour = has_colors() && (nc == NULL || nc[0] == '\0');

	if (colour) {
		start_color();
		use_default_colors();
	}
	for (size_t i = 0; i < sizeof(ui_colours) / sizeof(ui_colours[0]); i++) {
		enum ui_role r = ui_colours[i].role;

		if (!colour) {
			ui_attr[r] = ui_colours[i].mono_attr;
			continue;
		}
		init_pair((short)(i + 1), ui_colours[i].fg, ui_colours[i].bg);
		ui_attr[r] = (int)COLOR_PAIR(i + 1) | ui_colours[i].colour_attr;
	}
}

int
ui_init(void)
{
	struct sigaction sa;

	setlocale(LC_ALL, "");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "autobackup: the interactive interface needs a terminal; "
		    "use --batch for scripts\n");
		return -1;
	}
	if (pipe(ui_sigpipe) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(ui_sigpipe[i], F_SETFL, O_NONBLOCK);
		fcntl(ui_sigpipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ui_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = NULL;
	sa.sa_sigaction = ui_on_crash;
	sa.sa_flags = SA_SIGINFO;
	for (size_t i = 0; i < sizeof(ui_crash_signals) / sizeof(int); i++)
		sigaction(ui_crash_signals[i], &sa, &ui_crash_old[i]);
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(25);
	if (initscr() == NULL)
		return -1;
	ui_active = 1;
	atexit(ui_end);
	cbreak();		/* ^C is SIGINT: the loop ends cleanly through the flag */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	ui_colours_init();
	return 0;
}

void
ui_end(void)
{
	if (!ui_active)
		return;
	ui_active = 0;
	curs_set(1);
	endwin();
	fflush(stdout);
}

static int
ui_translate(wint_t ch, int is_key)
{
	static const struct {
		int curses;
		int ours;
	} keys[] = {
		{ KEY_UP, UK_UP }, { KEY_DOWN, UK_DOWN }, { KEY_LEFT, UK_LEFT },
		{ KEY_RIGHT, UK_RIGHT }, { KEY_PPAGE, UK_PGUP }, { KEY_NPAGE, UK_PGDN },
		{ KEY_HOME, UK_HOME }, { KEY_END, UK_END }, { KEY_ENTER, UK_ENTER },
		{ KEY_BACKSPACE, UK_BACKSPACE }, { KEY_BTAB, UK_BTAB }, { KEY_DC, UK_DEL },
		{ KEY_RESIZE, UK_RESIZE }, { KEY_F(1), UK_F1 }, { KEY_F(2), UK_F2 },
		{ KEY_F(3), UK_F3 }, { KEY_F(4), UK_F4 }, { KEY_F(5), UK_F5 },
		{ KEY_F(6), UK_F6 }, { KEY_F(7), UK_F7 }, { KEY_F(8), UK_F8 },
		{ KEY_F(9), UK_F9 }, { KEY_F(10), UK_F10 },
	};

	if (is_key) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (keys[i].curses == (int)ch)
				return keys[i].ours;
		return UK_NONE;
	}
	switch (ch) {
	case '\r':
	case '\n':
		return UK_ENTER;
	case 27:
		return UK_ESC;
	case '\t':
		return UK_TAB;
	case 127:
	case 8:
		return UK_BACKSPACE;
	default:
		return (int)ch;
	}
}

int
ui_getkey(int wake_fd, int timeout_ms)
{
	struct pollfd pfd[3];
	wint_t ch;
	int r, n = 0;

	r = wget_wch(stdscr, &ch);
	if (r != ERR)
		return ui_translate(ch, r == KEY_CODE_YES);
	if (ui_quit)
		return UK_NONE;
	pfd[n].fd = STDIN_FILENO;
	pfd[n++].events = POLLIN;
	pfd[n].fd = ui_sigpipe[0];
	pfd[n++].events = POLLIN;
	if (wake_fd >= 0) {
		pfd[n].fd = wake_fd;
		pfd[n++].events = POLLIN;
	}
	/* bounded: a SIGWINCH between wget_wch and poll is seen soon anyway */
	if (timeout_ms < 0 || timeout_ms > 250)
		timeout_ms = 250;
	if (poll(pfd, (nfds_t)n, timeout_ms) > 0) {
		char drain[64];

		if (pfd[1].revents & POLLIN)
			while (read(ui_sigpipe[0], drain, sizeof(drain)) > 0)
				;
		if (n > 2 && (pfd[2].revents & POLLIN))
			while (read(wake_fd, drain, sizeof(drain)) > 0)
				;
	}
	r = wget_wch(stdscr, &ch);
	if (r != ERR)
		return ui_translate(ch, r == KEY_CODE_YES);
	return UK_NONE;
}

void
ui_size(int *rows, int *cols)
{
	getmaxyx(stdscr, *rows, *cols);
}

void
ui_begin(void)
{
	werase(stdscr);
}

void
ui_end_frame(int cur_y, int cur_x)
{
	if (cur_y >= 0) {
		curs_set(1);
		wmove(stdscr, cur_y, cur_x);
	} else {
		curs_set(0);
	}
	wnoutrefresh(stdscr);
	doupdate();
}

/* Append the escaped form of byte/char c (ASCII) to out; returns columns. */
static int
ui_escape(wchar_t *out, size_t *n, size_t cap, unsigned long c)
{
	char tmp[24];
	int k;

	if (c == '\n')
		snprintf(tmp, sizeof(tmp), "\\n");
	else if (c == '\t')
		snprintf(tmp, sizeof(tmp), "\\t");
	else if (c == '\r')
		snprintf(tmp, sizeof(tmp), "\\r");
	else if (c < 0x100)
		snprintf(tmp, sizeof(tmp), "\\x%02lx", c);
	else
		snprintf(tmp, sizeof(tmp), "\\u%04lx", c & 0x1fffffUL);
	for (k = 0; tmp[k] != '\0' && *n < cap; k++)
		out[(*n)++] = (wchar_t)tmp[k];
	return k;
}

/*
 * Decode s into wide characters with escapes, stopping before width
 * columns would be exceeded; returns columns used, *len wide chars.
 */
static int
ui_decode(const char *s, size_t len, int width, wchar_t *out, size_t cap, size_t *olen)
{
	mbstate_t st;
	size_t i = 0, n = 0;
	int cols = 0;

	memset(&st, 0, sizeof(st));
	while (i < len && n + 12 < cap) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, len - i, &st);
		wchar_t tmp[16];
		size_t tn = 0;
		int w;

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			/* invalid byte (or NUL): escaped, decoding restarts after it */
			memset(&st, 0, sizeof(st));
			w = ui_escape(tmp, &tn, 16, (unsigned char)s[i]);
			k = 1;
		} else if (iswcntrl((wint_t)wc) || (w = wcwidth(wc)) < 0) {
			w = ui_escape(tmp, &tn, 16, (unsigned long)wc);
		} else {
			tmp[tn++] = wc;
		}
		if (cols + w > width)
			break;
		memcpy(out + n, tmp, tn * sizeof(wchar_t));
		n += tn;
		cols += w;
		i += k;
	}
	out[n] = L'\0';
	*olen = n;
	return cols;
}

int
ui_width(const char *s, size_t len)
{
	wchar_t buf[1024];
	size_t n;

	return ui_decode(s, len, 1 << 20, buf, sizeof(buf) / sizeof(buf[0]), &n);
}

int
ui_name(int y, int x, enum ui_role r, const char *s, size_t len, int width, int pad)
{
	wchar_t buf[1200];
	size_t n;
	int cols;

	if (width <= 0)
		return 0;
	cols = ui_decode(s, len, width, buf, sizeof(buf) / sizeof(buf[0]), &n);
	wattrset(stdscr, ui_attr[r]);
	mvwaddnwstr(stdscr, y, x, buf, (int)n);
	if (pad)
		for (int c = cols; c < width; c++)
			mvwaddch(stdscr, y, x + c, ' ');
	wattrset(stdscr, A_NORMAL);
	return pad ? width : cols;
}

int
ui_text(int y, int x, enum ui_role r, const char *s, int width, int pad)
{
	return ui_name(y, x, r, s, strlen(s), width, pad);
}

void
ui_printf(int y, int x, enum ui_role r, int width, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ui_text(y, x, r, buf, width, 1);
}

void
ui_fill(int y, int x, int h, int w, enum ui_role r)
{
	wattrset(stdscr, ui_attr[r]);
	for (int i = 0; i < h; i++)
		mvwhline(stdscr, y + i, x, ' ', w);
	wattrset(stdscr, A_NORMAL);
}

void
ui_box(int y, int x, int h, int w, const char *title)
{
	ui_fill(y, x, h, w, R_DIALOG);
	wattrset(stdscr, ui_attr[R_DIALOG]);
	mvwhline(stdscr, y, x + 1, ACS_HLINE, w - 2);
	mvwhline(stdscr, y + h - 1, x + 1, ACS_HLINE, w - 2);
	mvwvline(stdscr, y + 1, x, ACS_VLINE, h - 2);
	mvwvline(stdscr, y + 1, x + w - 1, ACS_VLINE, h - 2);
	mvwaddch(stdscr, y, x, ACS_ULCORNER);
	mvwaddch(stdscr, y, x + w - 1, ACS_URCORNER);
	mvwaddch(stdscr, y + h - 1, x, ACS_LLCORNER);
	mvwaddch(stdscr, y + h - 1, x + w - 1, ACS_LRCORNER);
	wattrset(stdscr, A_NORMAL);
	if (title != NULL && title[0] != '\0') {
		mvwaddch(stdscr, y, x + 2, ' ');
		ui_text(y, x + 3, R_TITLE, title, w - 6, 0);
		mvwaddch(stdscr, y, x + 3 + ui_width(title, strlen(title)), ' ');
	}
}

void
ui_bar(int y, int x, int width, double frac)
{
	int fill;

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * width + 0.5);
	/* characters, not only colour: readable in monochrome and in captures */
	wattrset(stdscr, ui_attr[R_BAR]);
	mvwhline(stdscr, y, x, '#', fill);
	wattrset(stdscr, ui_attr[R_DIM]);
	if (width > fill)
		mvwhline(stdscr, y, x + fill, '.', width - fill);
	wattrset(stdscr, A_NORMAL);
}

const char *
ui_key_name(int key, char *buf, size_t bufsz)
{
	static const struct {
		int key;
		const char *name;
	} names[] = {
		{ UK_UP, "Up" }, { UK_DOWN, "Down" }, { UK_LEFT, "Left" }, { UK_RIGHT, "Right" },
		{ UK_PGUP, "PgUp" }, { UK_PGDN, "PgDn" }, { UK_HOME, "Home" }, { UK_END, "End" },
		{ UK_ENTER, "Enter" }, { UK_BACKSPACE, "Bksp" }, { UK_ESC, "Esc" },
		{ UK_TAB, "Tab" }, { UK_BTAB, "S-Tab" }, { UK_DEL, "Del" }, { ' ', "Space" },
		{ UK_F1, "F1" }, { UK_F2, "F2" }, { UK_F3, "F3" }, { UK_F4, "F4" },
		{ UK_F5, "F5" }, { UK_F6, "F6" }, { UK_F7, "F7" }, { UK_F8, "F8" },
		{ UK_F9, "F9" }, { UK_F10, "F10" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].key == key)
			return names[i].name;
	if (key > 0 && key < 0x80)
		snprintf(buf, bufsz, "%c", key);
	else
		snprintf(buf, bufsz, "?");
	return buf;
}
