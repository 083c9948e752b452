/*
 * progress_line.c - the status line of `autobackup --batch` (progress_line.h).
 * Widths are counted in display columns with a small built-in UTF-8 decoder
 * (no setlocale: the batch front end keeps the C locale so that fnmatch and
 * friends treat names as bytes).
 */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress_line.h"
#include "strutil.h"

static volatile sig_atomic_t winch_seen;

static void
on_winch(int sig)
{
	(void)sig;
	winch_seen = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
term_width(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

void
progress_line_init(struct progress_line *pl, int force, int quiet, int json)
{
	memset(pl, 0, sizeof(*pl));
	pl->out = stderr;
	pl->transfer_word = "sending";
	pl->tty = isatty(STDERR_FILENO);
	pl->enabled = force || (!quiet && !json && pl->tty && isatty(STDOUT_FILENO));
	pl->width = pl->tty ? term_width(STDERR_FILENO) : 100;
	if (pl->enabled && pl->tty) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_winch;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGWINCH, &sa, NULL);
	}
}

/* Display columns of a code point: combining marks 0, East Asian wide 2. */
static int
cp_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* One display unit of s: its bytes (clean: control/bad → "?"), its columns. */
struct glyph {
	size_t in_len;		/* bytes consumed from the source */
	char out[4];
	size_t out_len;
	int cols;
};

static void
glyph_at(const char *s, size_t n, struct glyph *g)
{
	uint32_t cp;
	size_t len = abk_utf8_decode((const unsigned char *)s, n, &cp);

	if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
		g->in_len = len ? len : 1;
		g->out[0] = '?';
		g->out_len = 1;
		g->cols = 1;
		return;
	}
	g->in_len = len;
	memcpy(g->out, s, len);
	g->out_len = len;
	g->cols = cp_width(cp);
}

/* Columns of the clean form of s. */
int
term_text_cols(const char *s)
{
	size_t n = strlen(s);
	int cols = 0;

	for (size_t i = 0; i < n;) {
		struct glyph g;

		glyph_at(s + i, n - i, &g);
		cols += g.cols;
		i += g.in_len;
	}
	return cols;
}

/* Append the clean form of s, at most max columns of it, to buf at *len. */
static int
append_cut(char *buf, size_t bufsz, size_t *len, const char *s, size_t n, int max)
{
	int cols = 0;

	for (size_t i = 0; i < n;) {
		struct glyph g;

		glyph_at(s + i, n - i, &g);
		if (cols + g.cols > max || *len + g.out_len + 1 > bufsz)
			break;
		memcpy(buf + *len, g.out, g.out_len);
		*len += g.out_len;
		cols += g.cols;
		i += g.in_len;
	}
	buf[*len] = '\0';
	return cols;
}

/*
 * Append path in at most max columns: whole if it fits, else its head and
 * its tail (the file name matters most) around "...".
 */
static void
append_middle(char *buf, size_t bufsz, size_t *len, const char *path, int max)
{
	size_t n = strlen(path), start;
	int total = term_text_cols(path), tail_cols, cols;

	if (total <= max) {
		append_cut(buf, bufsz, len, path, n, max);
		return;
	}
	if (max < 5) {
		append_cut(buf, bufsz, len, path, n, max);
		return;
	}
	tail_cols = (max - 3) * 2 / 3;	/* more of the end: it names the file */
	/* find where the tail starts: skip glyphs until the rest fits */
	start = 0;
	cols = total;
	while (start < n && cols > tail_cols) {
		struct glyph g;

		glyph_at(path + start, n - start, &g);
		cols -= g.cols;
		start += g.in_len;
	}
	/* a wide glyph may leave the tail narrower: give the head the rest */
	append_cut(buf, bufsz, len, path, start, max - 3 - cols);
	if (*len + 4 <= bufsz) {
		memcpy(buf + *len, "...", 4);
		*len += 3;
	}
	append_cut(buf, bufsz, len, path + start, n - start, cols);
}

static const char *
eta_text(const struct abk_progress *p, char *buf, size_t bufsz)
{
	uint64_t left, s;

	if (p->rate < 1.0 || p->bytes_total <= p->bytes_done) {
		snprintf(buf, bufsz, "--:--");
		return buf;
	}
	left = p->bytes_total - p->bytes_done;
	s = (uint64_t)((double)left / p->rate);
	if (s >= 100 * 3600)
		snprintf(buf, bufsz, ">99h");
	else if (s >= 3600)
		snprintf(buf, bufsz, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
	else
		snprintf(buf, bufsz, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
	return buf;
}

static unsigned
percent(uint64_t done, uint64_t total)
{
	if (total == 0)
		return 100;
	if (done >= total)
		return 100;
	return (unsigned)((double)done * 100.0 / (double)total);
}

/*
 * The fields after the phase, from the fullest to the shortest: the first
 * that leaves room for a useful part of the current file's name is used.
 */
static void
head_text(const struct abk_progress *p, const char *phase, int variant, char *buf,
    size_t bufsz)
{
	char done[32], total[32], rate[32], eta[16];

	if (p->phase == ABK_PHASE_SCAN) {
		snprintf(buf, bufsz, "%s", phase);
		return;
	}
	abk_format_size(p->bytes_done, done, sizeof(done));
	abk_format_size(p->bytes_total, total, sizeof(total));
	abk_format_size((uint64_t)p->rate, rate, sizeof(rate));
	eta_text(p, eta, sizeof(eta));
	if (variant == 0)
		snprintf(buf, bufsz, "%s %u%% %s/%s, files %u%% %llu/%llu, %s/s, ETA %s", phase,
		    percent(p->bytes_done, p->bytes_total), done, total,
		    percent(p->files_done, p->files_total), (unsigned long long)p->files_done,
		    (unsigned long long)p->files_total, rate, eta);
	else if (variant == 1)
		snprintf(buf, bufsz, "%s %u%% %s/%s %llu/%llu files %s/s ETA %s", phase,
		    percent(p->bytes_done, p->bytes_total), done, total,
		    (unsigned long long)p->files_done, (unsigned long long)p->files_total, rate,
		    eta);
	else
		snprintf(buf, bufsz, "%s %u%% %s/%s ETA %s", phase,
		    percent(p->bytes_done, p->bytes_total), done, total, eta);
}

/*
 * The text of the line, at most width display columns, into buf
 * (NUL-terminated, control bytes and bad UTF-8 shown as '?').
 */
static void
progress_line_format(const struct abk_progress *p, const char *transfer_word, int width,
    char *buf, size_t bufsz)
{
	static const char *const phases[] = { "scanning", "comparing", NULL, "committing",
	    "done" };
	char head[256];
	const char *phase = p->phase == ABK_PHASE_TRANSFER ? transfer_word :
	    (unsigned)p->phase < 5 ? phases[p->phase] : "";
	int with_file = p->current != NULL && *p->current && p->phase == ABK_PHASE_TRANSFER;
	size_t len = 0;
	int cols = 0;

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	if (width < 1)
		return;
	if (p->source != NULL && *p->source) {
		cols = append_cut(buf, bufsz, &len, p->source, strlen(p->source), width / 4);
		if (cols + 2 <= width && len + 3 <= bufsz) {
			memcpy(buf + len, ": ", 3);
			len += 2;
			cols += 2;
		}
	}
	for (int v = 0; v < 3; v++) {
		head_text(p, phase, v, head, sizeof(head));
		if (cols + term_text_cols(head) + (with_file ? 2 + 16 : 0) <= width)
			break;
	}
	cols += append_cut(buf, bufsz, &len, head, strlen(head), width - cols);
	if (with_file && width - cols > 8 && len + 3 <= bufsz) {
		memcpy(buf + len, "  ", 3);
		len += 2;
		cols += 2;
		append_middle(buf, bufsz, &len, p->current, width - cols);
	}
}

void
progress_line_draw(struct progress_line *pl, const struct abk_progress *p)
{
	char line[2048];

	if (!pl->enabled)
		return;
	if (!pl->tty) {
		long long now = now_ms();

		/* a log, not a display: one line every 2 s and at phase ends */
		if (p->phase == ABK_PHASE_TRANSFER && now - pl->last_plain_ms < 2000)
			return;
		pl->last_plain_ms = now;
		progress_line_format(p, pl->transfer_word, pl->width, line, sizeof(line));
		fprintf(pl->out, "%s\n", line);
		fflush(pl->out);
		return;
	}
	if (winch_seen) {
		winch_seen = 0;
		pl->width = term_width(STDERR_FILENO);
	}
	/* one column short of the edge: writing the last column wraps on some
	 * terminals */
	progress_line_format(p, pl->transfer_word, pl->width > 1 ? pl->width - 1 : 1, line,
	    sizeof(line));
	fprintf(pl->out, "\r\033[K%s", line);
	fflush(pl->out);
	pl->shown = 1;
}

void
progress_line_clear(struct progress_line *pl)
{
	if (pl->shown) {
		fputs("\r\033[K", pl->out);
		fflush(pl->out);
		pl->shown = 0;
	}
}
