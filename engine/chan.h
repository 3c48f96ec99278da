/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The engine's end of the channel: checks each frame from the broker in
 * full before any of it is acted on, and batches replies into one frame.
 */
#ifndef CHAN_H
#define CHAN_H

#include "engine.h"
#include "frame.h"
#include "xsp.pb-c.h"

struct out_msg;

struct chan {
	int fd;
	struct frame_in in;
	struct frame_out out;
	struct out_msg *msgs;
	size_t nmsg, msgcap;
	uint8_t *bytes; /* payloads of msgs */
	size_t blen, bcap;
	bool oom; /* a reply could not be queued: fatal */
	/* The broker reads Replies (ConnSync.features); else a Reply each. */
	bool replies;
	/* It reads RepliesFixed, which go then instead of Replies. */
	bool fixed;
	/* Messages (replies, events, logs) the last chan_flush() sent. */
	size_t flushed;
};

void chan_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	       uint32_t tx_id, const void *payload, size_t len);
void chan_log(void *arg, int level, const char *text);
/* Tells the broker the store is loaded and served (Ready). */
void chan_ready(struct chan *ch, uint64_t nodes, bool recovered);
void chan_fence(void *arg, uint64_t id);
void chan_priv(void *arg, uint32_t id, int op, uint32_t domid, uint64_t gfn,
	       uint32_t port, uint32_t features, const char *str, size_t len);

/* Decodes and checks a frame; NULL (and *why) if it is malformed. */
Xsp__BrokerFrame *chan_decode(const uint8_t *data, size_t len,
			      const char **why);
void chan_decode_done(Xsp__BrokerFrame *);
/*
 * Hands a decoded frame to the engine. Returns -1 (and *why) if a message
 * contradicts what the broker said before (an unknown connection, ...):
 * the broker is then broken and the engine must stop.
 */
int chan_apply(struct engine *e, const Xsp__BrokerFrame *f, const char **why);
/* Writes all queued replies as one frame; -1 on a channel error. */
int chan_flush(struct chan *ch);
void chan_free(struct chan *ch);

#endif
