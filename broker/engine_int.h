/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between the two halves of the engine's keeping: engine_chan.c moves
 * frames on the channel, engine_life.c starts, restarts and replaces the
 * process behind it.
 */
#ifndef ENGINE_INT_H
#define ENGINE_INT_H

#include "broker.h"

/* engine_chan.c */
extern struct replay engine_replay;
/* Opens the channel on fd, queueing ConnSync first. */
void chan_open(int fd, int update_failed);
/* Reads and acts on what the channel still holds, then closes it. */
void chan_close(int drain);
int chan_is_open(void);
void chan_pump(void);
void chan_shutdown(void);

/* engine_proc.c: the engine process, watched from the loop. */
void proc_started(pid_t);
pid_t proc_pid(void);
void proc_end_within(int ms, const char *why);
void proc_term(void);
void proc_kill(void);

/* engine_life.c */
/* The engine process exited (status -1: someone else reaped it). */
void life_exited(int status);
/* The channel hit its end: the engine is dying or gave up on us. */
void life_channel_end(void);
/* The engine said something it may not: it is killed and replaced. */
void life_broken(const char *why);
/* LIVE_UPDATE_FILE and LIVE_UPDATE_EXEC. */
void life_live_update(const Xsp__PrivRequest *);
/* The engine answered a request: it works. */
void life_first_reply(void);
/* The engine has its store and serves (Ready). */
void life_ready(uint64_t nodes, int recovered);
/* Once per loop iteration, before the batch goes: a due restart. */
void life_flush(void);

#endif
