// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's real handling of an engine that may say anything, in turns
 * with clients that may send anything: sequences of engine frames (raw
 * bytes, or well-formed replies and privileged requests built from the
 * input, naming the requests and connections there are), client bytes,
 * connections opened and closed, and turns of the broker's own loop. An
 * engine the broker finds broken is replaced by a fresh channel, as a
 * restart would. Whatever the sequence, the broker must not crash, and the
 * memory it holds must stay within its documented bounds.
 *
 * engine_life.c is replaced here by the life_* functions below: starting a
 * process per input is neither needed nor fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>

#include "engine_int.h"

/* 32 MiB queue to the engine, a frame and its decoding, the clients'. */
#define HELD_MAX (200u << 20)
#define CLIENTS 6
#define STEPS 256

struct in {
	const uint8_t *p;
	size_t n;
};

static int engine_fd = -1; /* the engine's end of the channel */
static int clients[CLIENTS];
static unsigned int brokens;

static uint8_t
take8(struct in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint32_t
take32(struct in *in)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | take8(in);
	return v;
}

static size_t
take_bytes(struct in *in, const uint8_t **p, size_t max)
{
	size_t n = take8(in) | (size_t)take8(in) << 8;

	if (n > max)
		n = max;
	if (n > in->n)
		n = in->n;
	*p = in->p;
	in->p += n;
	in->n -= n;
	return n;
}

static void
channel_new(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	engine_fd = sv[1];
	chan_open(sv[0], 0);
}

static void
channel_end(void)
{
	chan_close(0);
	if (engine_fd != -1)
		close(engine_fd);
	engine_fd = -1;
}

/* engine_life.c's part: a broken engine is replaced at once. */
void
life_exited(int status)
{
}

void
life_channel_end(void)
{
	channel_end();
	replay_engine_gone(&engine_replay, 1);
	channel_new();
}

void
life_broken(const char *why)
{
	brokens++;
	life_channel_end();
}

void
life_live_update(const Xsp__PrivRequest *p)
{
}

void
life_first_reply(void)
{
}

void
life_ready(uint64_t nodes, int recovered)
{
}

void
life_flush(void)
{
}

/* What the broker sent: read and dropped, or left to pile up. */
static void
engine_drain(void)
{
	uint8_t buf[65536];

	while (engine_fd != -1 && read(engine_fd, buf, sizeof(buf)) > 0)
		;
}

static void
engine_send(const void *frame, size_t len)
{
	uint8_t hdr[4] = {len >> 24, len >> 16, len >> 8, len};

	if (engine_fd == -1)
		return;
	/* A full channel is the engine's problem: what fits goes. */
	if (write(engine_fd, hdr, 4) == 4)
		(void)!write(engine_fd, frame, len);
}

static void
engine_send_msg(Xsp__ToBroker *m)
{
	Xsp__EngineFrame f = XSP__ENGINE_FRAME__INIT;
	uint8_t buf[8192];
	size_t len;

	f.n_msgs = 1;
	f.msgs = &m;
	if (xsp__engine_frame__get_packed_size(&f) > sizeof(buf))
		return;
	len = xsp__engine_frame__pack(&f, buf);
	engine_send(buf, len);
}

/* A reply to the oldest request there is, or to a made-up one. */
static void
engine_reply(struct in *in)
{
	struct replay_req *q = replay_first(&engine_replay);
	Xsp__ToBroker m = XSP__TO_BROKER__INIT;
	Xsp__Reply r = XSP__REPLY__INIT;
	uint8_t skip = take8(in) & 7;

	while (q != NULL && skip-- > 0)
		q = replay_after(q);
	r.conn = q != NULL && !(skip & 1) ? q->conn : take8(in);
	r.req_id = q != NULL ? q->hdr.req_id : take32(in);
	r.tx_id = q != NULL ? q->hdr.tx_id : 0;
	r.type = take8(in) & 1 ? XS_WATCH_EVENT
			       : (q != NULL ? q->hdr.type : take8(in));
	r.payload.len = take_bytes(in, (const uint8_t **)&r.payload.data,
				   XS_PAYLOAD_MAX + 8);
	m.msg_case = XSP__TO_BROKER__MSG_REPLY;
	m.reply = &r;
	engine_send_msg(&m);
}

/* A privileged request, about a domain and port the input names. */
static void
engine_priv(struct in *in)
{
	static char *const no_args[1];
	Xsp__ToBroker m = XSP__TO_BROKER__INIT;
	Xsp__PrivRequest p = XSP__PRIV_REQUEST__INIT;
	char path[64];

	p.id = take8(in);
	p.op = (Xsp__PrivRequest__Op)(take8(in) % 6);
	p.domid = take8(in) & 15;
	p.has_gfn = p.has_port = 1;
	p.gfn = take8(in);
	p.port = take8(in) & 15;
	snprintf(path, sizeof(path), "/nonexistent/%u", take8(in) & 3);
	p.path = path;
	p.n_args = 0;
	p.args = (char **)no_args;
	m.msg_case = XSP__TO_BROKER__MSG_PRIV;
	m.priv = &p;
	engine_send_msg(&m);
}

/* A client's request whose payload the broker reads (INTRODUCE...). */
static void
client_priv_request(struct in *in, int fd)
{
	uint8_t buf[XS_HDR_SIZE + 64];
	struct xs_hdr h;
	int n;

	n = snprintf((char *)buf + XS_HDR_SIZE, 64, "%u%c%u%c%u%c",
		     take8(in) & 15, 0, take8(in), 0, take8(in) & 15, 0);
	h.type = take8(in) & 1 ? XS_INTRODUCE : XS_RELEASE;
	h.req_id = take8(in);
	h.tx_id = 0;
	h.len = (uint32_t)n;
	memcpy(buf, &h, sizeof(h));
	(void)!write(fd, buf, XS_HDR_SIZE + (size_t)n);
}

static void
client_open(int i, int readonly)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	clients[i] = sv[1];
	conn_new(sv[0], readonly);
}

static void
client_close(int i)
{
	if (clients[i] != -1)
		close(clients[i]);
	clients[i] = -1;
}

static void
client_drain(int i)
{
	uint8_t buf[65536];

	while (clients[i] != -1 && read(clients[i], buf, sizeof(buf)) > 0)
		;
}

static uint32_t ids[CLIENTS + 64];
static size_t nids;

static void
note_id(uint32_t id, uint32_t domid, int privileged, int readonly)
{
	if (nids < sizeof(ids) / sizeof(ids[0]))
		ids[nids++] = id;
}

static void
setup(void)
{
	static const struct guest_opts go = {.socket_only = 1};
	int i;

	/* As the broker does: a peer gone is seen in errno, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	log_init(0, 0);
	loop_init();
	loop_set_spin(0);
	guest_init(NULL, &go);
	audit_init("/dev/null", 0, NULL, NULL);
	for (i = 0; i < CLIENTS; i++)
		clients[i] = -1;
	channel_new();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct in in = {data, size};
	const uint8_t *p;
	int step, i, fd;
	size_t n;

	if (!ready++)
		setup();
	for (step = 0; step < STEPS && in.n > 0; step++) {
		i = take8(&in);
		fd = clients[(i >> 4) % CLIENTS];
		switch (i & 15) {
		case 0:
			if (fd == -1)
				client_open((i >> 4) % CLIENTS, take8(&in) & 1);
			break;
		case 1:
			n = take_bytes(&in, &p, 8192);
			if (fd != -1)
				(void)!write(fd, p, n);
			break;
		case 2:
			if (fd != -1)
				client_priv_request(&in, fd);
			break;
		case 3:
			client_close((i >> 4) % CLIENTS);
			break;
		case 4:
			client_drain((i >> 4) % CLIENTS);
			break;
		case 5:
			n = take_bytes(&in, &p, 65535);
			engine_send(p, n);
			break;
		case 6:
			engine_reply(&in);
			break;
		case 7:
			engine_priv(&in);
			break;
		case 8:
			engine_drain();
			break;
		default:
			loop_turn(0);
			break;
		}
		if (__sanitizer_get_current_allocated_bytes() > HELD_MAX)
			abort();
	}
	loop_turn(0);
	/* The next input starts with no client and a fresh engine. */
	for (i = 0; i < CLIENTS; i++)
		client_close(i);
	nids = 0;
	conn_each(note_id);
	for (n = 0; n < nids; n++)
		conn_drop_id(ids[n], "fuzz input done");
	conn_reap();
	channel_end();
	replay_engine_gone(&engine_replay, 0);
	channel_new();
	engine_flush();
	return 0;
}
