/*
 * adapt.c - --compress auto's measuring (see adapt.h).
 */
#include "config.h"

#include <string.h>

#include "adapt.h"

void
adapt_init(struct adapt *ad, int enabled, int mode, unsigned warmup)
{
	memset(ad, 0, sizeof(*ad));
	ad->enabled = enabled;
	ad->mode = mode != 0;
	ad->decided = -1;
	ad->held = warmup;
}

/*
 * Windows of the two modes alternate (store, deflate, store, deflate) so that
 * both see similar data; the faster mode over all of them is then kept for
 * a hold of ADAPT_HOLD_STORE or ADAPT_HOLD_DEFLATE batches, doubled each
 * time the same answer comes again.
 */
int
adapt_batch_sent(struct adapt *ad, int level_used, uint64_t bytes, double seconds)
{
	if (!ad->enabled || (level_used != 0) != ad->mode)
		return ad->mode;
	if (ad->held > 0) {
		if (--ad->held == 0) {
			memset(ad->secs, 0, sizeof(ad->secs));
			memset(ad->bytes, 0, sizeof(ad->bytes));
			ad->windows = 0;
		}
		return ad->mode;
	}
	ad->secs[ad->mode] += seconds;
	ad->bytes[ad->mode] += bytes;
	if (++ad->counted < ADAPT_WINDOW)
		return ad->mode;
	ad->counted = 0;
	if (++ad->windows < 2 * ADAPT_ROUNDS) {
		ad->mode = !ad->mode;
	} else {
		double r1 = ad->secs[1] > 0 ? (double)ad->bytes[1] / ad->secs[1] : 0;
		double r0 = ad->secs[0] > 0 ? (double)ad->bytes[0] / ad->secs[0] : 0;
		int mode = r1 > r0 * ADAPT_DEFLATE_MARGIN ? 1 : 0;

		/* the same answer again: measure less often (measuring costs) */
		if (mode == ad->decided)
			ad->hold = ad->hold * 2 > ADAPT_HOLD_MAX ? ADAPT_HOLD_MAX : ad->hold * 2;
		else
			ad->hold = mode ? ADAPT_HOLD_DEFLATE : ADAPT_HOLD_STORE;
		ad->decided = mode;
		ad->mode = mode;
		ad->held = ad->hold;
	}
	return ad->mode;
}
