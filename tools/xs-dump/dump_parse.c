// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sandboxed part of xs-dump: the state an engine wrote is
 * parsed, and the migration stream written, by a child with the engine's
 * user, no capabilities, no_new_privs, its rlimits and its seccomp filter
 * (sandbox.c), so that a state crafted to break the parser gains what a
 * subverted engine already has, and no more. It has four fds: the channel
 * to its parent, the two copies of the state and the output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dump_tool.h"
#include "journal.h"
#include "sandbox.h"
#include "state.h"

/* The stream comes in small records: the output gets them in big pieces. */
struct out {
	int fd;
	size_t len;
	int err;
	uint8_t buf[1 << 16];
};

static void
quiet_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	   uint32_t tx_id, const void *payload, size_t len)
{
}

static void
quiet_log(void *arg, int level, const char *text)
{
}

/* Returns 0, or the errno of the write that failed (EIO: none). */
int
dump_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line to the parent, which prints it. */
static void
say(int chan, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	dump_write_all(chan, line, (size_t)n);
}

static int
out_flush(struct out *o)
{
	if (o->err == 0 && o->len > 0)
		o->err = dump_write_all(o->fd, o->buf, o->len);
	o->len = 0;
	return o->err ? -EIO : 0;
}

static int
out_put(void *arg, const void *buf, size_t len)
{
	struct out *o = arg;

	if (len > sizeof(o->buf) - o->len && out_flush(o) != 0)
		return -EIO;
	if (len > sizeof(o->buf)) {
		o->err = dump_write_all(o->fd, buf, len);
		return o->err ? -EIO : 0;
	}
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

/* Parses and writes; returns the exit status. */
static int
parse(const struct dump_child *c)
{
	static struct out o;
	struct engine *like, *e;
	struct journal_slot js;
	char why[256];
	int r;

	if ((like = engine_new(quiet_emit, quiet_log, NULL)) == NULL) {
		say(c->chan, "out of memory");
		return 1;
	}
	e = journal_load(like, c->state[0], c->state[1], &js, why, sizeof(why));
	if (e == NULL) {
		say(c->chan, "the state is unreadable: %s", why);
		return 1;
	}
	if (js.slot < 0) {
		say(c->chan, "no store recorded yet");
		return 1;
	}
	o.fd = c->out;
	r = state_dump(e, out_put, &o, false);
	if (out_flush(&o) != 0 || r != 0) {
		say(c->chan, "writing the stream: %s",
		    strerror(o.err ? o.err : EIO));
		return 1;
	}
	return 0;
}

_Noreturn void
dump_parse(const struct dump_child *c)
{
	struct sandbox_cfg cfg = {
		.channel = c->chan,
		.state = {c->state[0], c->state[1]},
		.output = c->out,
		.uid = c->uid,
		.gid = c->gid,
		/*
		 * No address-space limit: the parser holds the state whole,
		 * and the state is as big as the broker let the engine make
		 * it.
		 */
		.as_limit = 0,
	};
	struct sandbox_state st;
	char why[256], go;

	if (sandbox_apply(&cfg, &st, why, sizeof(why)) == -1) {
		say(c->chan, "sandbox: %s; not parsing", why);
		_exit(1);
	}
	/* The parent looks at what the kernel says we are before we start. */
	go = DUMP_SANDBOXED;
	if (dump_write_all(c->chan, &go, 1) != 0 ||
	    read(c->chan, &go, 1) != 1 || go != DUMP_GO)
		_exit(1);
	/* _exit: nothing of the parent's may run here, flushing or at exit. */
	_exit(parse(c));
}
