/*
 * progress_line.h - the batch front end's one-line status display (issue 10,
 * item 4): phase, % of bytes and files, bytes done/total, rate, ETA and the
 * current file, cut to the terminal's width so it never wraps, redrawn at
 * the new width after SIGWINCH.  Single-threaded: the engine calls progress
 * callbacks on the batch thread.
 */
#ifndef ABT_PROGRESS_LINE_H
#define ABT_PROGRESS_LINE_H

#include <stddef.h>
#include <stdio.h>

#include "engine.h"

struct progress_line {
	FILE *out;		/* stderr */
	int enabled;		/* draw at all */
	int tty;		/* out is a terminal: redraw in place, else plain lines */
	int shown;		/* a line is on screen (cleared before other output) */
	int width;		/* columns */
	long long last_plain_ms;
	const char *transfer_word;	/* "sending" (push) or "receiving" (restore) */
};

/*
 * Shown when standard output and standard error are terminals (not with
 * --quiet or --json), or always with force (--progress); without a terminal
 * it prints a plain line every 2 s instead of redrawing.
 */
void progress_line_init(struct progress_line *pl, int force, int quiet, int json);
void progress_line_draw(struct progress_line *pl, const struct abk_progress *p);
/* Erase the line (before any other output on the terminal). */
void progress_line_clear(struct progress_line *pl);

/* Display columns of s as this file shows it (UTF-8; control bytes 1). */
int term_text_cols(const char *s);


#endif
