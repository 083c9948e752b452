/*
 * adapt.h - whether a push deflates, decided by measuring instead of
 * guessing (--compress auto).  The rate of the whole pipeline (input bytes
 * per second of the sending thread's wall time, waiting for builders
 * included) is measured over windows of batches built with deflate and
 * without, alternating; the faster mode is then held for a number of
 * batches before both are measured again.  On a fast link the builders'
 * deflate (~100 MB/s per core) is the bottleneck and storing wins; on a
 * slow one deflate wins.  Pure arithmetic, no clock and no threads: the
 * caller measures and tells the builders the mode.
 */
#ifndef ABK_ADAPT_H
#define ABK_ADAPT_H

#include <stdint.h>

#define ADAPT_WINDOW 4			/* batches measured per window */
#define ADAPT_ROUNDS 2			/* deflate/store windows before deciding */
/* Batches before measuring again, doubling while the answer stays the same.
 * Deflate is held for less at first: batches differ (a log deflates ten
 * times faster than a database dump), and a wrong deflate costs more than
 * a wrong store on a fast link. */
#define ADAPT_HOLD_STORE 32
#define ADAPT_HOLD_DEFLATE 8
#define ADAPT_HOLD_MAX 1024
/*
 * Deflate must beat store by this factor: its windows do not show the CPU
 * it takes from the rest of the pipeline (on a machine shared with the
 * server, or with the cipher on the sending thread), and a measuring window
 * with deflate is itself expensive.  On a slow link deflate wins by 2-5x.
 */
#define ADAPT_DEFLATE_MARGIN 1.15

struct adapt {
	int enabled;			/* 0: mode never changes */
	int mode;			/* 1 deflate, 0 store: what builders use now */
	double secs[2];			/* measured time per mode (this round set) */
	uint64_t bytes[2];		/* input bytes per mode */
	unsigned windows;		/* windows measured since the last decision */
	unsigned counted;		/* batches in the current window */
	unsigned held;			/* batches left before measuring again */
	unsigned hold;			/* length of the last hold */
	int decided;			/* -1 before the first decision, else the mode */
};

/*
 * Start in mode (0 store, 1 deflate); measuring begins after warmup batches
 * (the first ones are built ahead and look free).  enabled 0 keeps mode.
 */
void adapt_init(struct adapt *ad, int enabled, int mode, unsigned warmup);

/*
 * One batch was sent: built with level_used (0/1), bytes of input, seconds
 * of the sender's time.  Returns the mode the builders should use now.
 * Batches built before a switch (level_used != the current mode) are not
 * counted.
 */
int adapt_batch_sent(struct adapt *ad, int level_used, uint64_t bytes, double seconds);

#endif
