/*
 * schedule.h - `autobackup --batch schedule add|list|remove` (issue 10,
 * item 8): scheduled pushes as a systemd user timer, or a crontab line where
 * there is no user systemd, always with a token file; and the status file a
 * scheduled run leaves (`push --record-status NAME`).
 */
#ifndef ABT_SCHEDULE_H
#define ABT_SCHEDULE_H

#include "batch.h"

/* The schedule command (no server connection); exit status. */
int schedule_run(struct batch_opts *o);

/* Record how a run named name ended (exit status ex) in its status file. */
void schedule_record_status(const char *name, int ex);

#endif
