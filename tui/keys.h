/*
 * keys.h - the one key table: each row is a key (and an alternative, so
 * F-keys and letters both work), the screens it works on, a short name for
 * the status line, the help text, and the action.  Screens dispatch through
 * keys_dispatch; the `?` overlay and the status line are generated from the
 * same rows, so help can never disagree with what a key does.
 */
#ifndef ABT_KEYS_H
#define ABT_KEYS_H

#include <stddef.h>

struct app;

/* Run the action bound to key on screen; K_UNBOUND if none. */
int keys_dispatch(struct app *a, int screen, int key);
/* The status line's hints for screen into buf. */
void keys_status(int screen, char *buf, size_t bufsz);
/* The help overlay for screen (drawn over it). */
void keys_help_draw(struct app *a, int screen);
int keys_help_key(struct app *a, int key);

#endif
