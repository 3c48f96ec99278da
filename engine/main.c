// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-engine: the store. Started by xs-broker with one socket (fd 3 by
 * default) and nothing else; everything it learns and says goes through it.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "engine_note.h"
#include "engine_opts.h"
#include "hmap.h"
#include "journal.h"
#include "sandbox.h"
#include "spin.h"
#include "state.h"

/* What the broker looks for in a binary a live update names. */
XS_ENGINE_NOTE;

/* How the engine waits for frames (--spin-us). */
static struct spin spin = {.us = SPIN_US_DEFAULT};

static void
usage(void)
{
	fprintf(stderr,
		"usage: xs-engine --fd N [-E nodes] [-S size] [-W watches] "
		"[-t transactions]\n"
		"                 [-A perms] [-M path-max] [-Q what=N] "
		"[-q memory=N]\n"
		"                 [-w watch-event=SECONDS] [-K] [-V]\n"
		"                 --uid UID --gid GID [--as-limit BYTES]\n"
		"                 [--state-fd A --state-fd B] "
		"[--spin-us N] [--unsafe-no-sandbox]\n"
		"                 [--check-state | --write-stream c417|split]\n"
		"It is started by xs-broker, not by hand; xs-dump(8) writes "
		"the store of a\nrunning broker as a xenstore migration "
		"stream.\n");
	exit(2);
}

static uint32_t
num(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end || errno || v > UINT32_MAX)
		usage();
	return (uint32_t)v;
}

/* The quotas the engine keeps, by their row in include/engine_opts.h. */
static const enum quota_id quota_of[] = {
	[EOPT_ENTRY_NB] = Q_NODES,
	[EOPT_ENTRY_SIZE] = Q_NODE_SIZE,
	[EOPT_WATCH_NB] = Q_WATCHES,
	[EOPT_TRANSACTION] = Q_TRANSACTIONS,
	[EOPT_PERM_NB] = Q_PERMS,
	[EOPT_PATH_MAX] = Q_PATH_MAX,
	[EOPT_TXN_NODES] = Q_TXN_NODES,
	[EOPT_MEMORY] = Q_MEMORY,
	[EOPT_OUTSTANDING] = Q_OUTSTANDING,
	[EOPT_MEMORY_SOFT] = Q_MEMORY_SOFT,
	[EOPT_WATCH_EVENT] = Q_WATCH_EVENT_TIMEOUT,
};

/* An option of include/engine_opts.h, checked as the broker checked it. */
static void
engine_opt(struct engine *e, const struct engine_opt *o, const char *arg)
{
	const struct engine_opt *row;
	unsigned long v;

	if (engine_opt_parse(o, arg, &row, &v) != EOPT_OK)
		usage();
	switch (row->id) {
	case EOPT_SPIN_US:
		spin.us = (long)v;
		break;
	case EOPT_WATCH_EVENT:
		/* Seconds on the command line, milliseconds in the engine. */
		engine_set_quota(e, quota_of[row->id], (uint32_t)v * 1000);
		break;
	default:
		engine_set_quota(e, quota_of[row->id], (uint32_t)v);
	}
}

static void
fatal_chan(struct chan *ch, const char *why)
{
	chan_log(ch, LOG_LVL_ERR, why);
	chan_flush(ch);
	exit(1);
}

/* Nothing is read from the broker before this has succeeded. */
static void
sandbox(struct chan *ch, struct sandbox_cfg *sb, bool disabled)
{
	struct sandbox_state st;
	char why[256], msg[512];

	if (disabled) {
		chan_log(ch, LOG_LVL_ERR,
			 "running WITHOUT a sandbox (--unsafe-no-sandbox): "
			 "for development only");
		chan_flush(ch);
		return;
	}
	sb->channel = ch->fd;
	if (sandbox_apply(sb, &st, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "sandbox: %s; refusing to run", why);
		fatal_chan(ch, msg);
	}
	snprintf(msg, sizeof(msg),
		 "sandbox: uid %u gid %u, no capabilities, seccomp filter%s",
		 (unsigned int)sb->uid, (unsigned int)sb->gid,
		 sandbox_describe(&st));
	chan_log(ch, st.empty_root ? LOG_LVL_INFO : LOG_LVL_WARN, msg);
}

/*
 * The store the previous engine left, if any, is ours now. The broker's
 * first message (ConnSync) says which requests it sends again: only their
 * recorded replies are worth keeping.
 */
static void
attach(struct engine **ep, struct chan *ch, const struct sandbox_cfg *sb,
       const Xsp__BrokerFrame *f)
{
	const Xsp__ConnSync *s;
	char why[256], msg[300];

	if (f->n_msgs == 0 || f->msgs[0]->msg_case != XSP__TO_ENGINE__MSG_SYNC)
		fatal_chan(ch, "the broker's first message is not ConnSync");
	ch->replies = f->msgs[0]->sync->has_features &&
		      (f->msgs[0]->sync->features & FRAME_FEATURE_REPLIES);
	ch->fixed = f->msgs[0]->sync->has_features &&
		    (f->msgs[0]->sync->features & FRAME_FEATURE_REPLIES_FIXED);
	if (sb->state[0] < 0)
		return; /* no state: a store of our own, lost with us */
	s = f->msgs[0]->sync;
	/* The sandbox's RLIMIT_FSIZE on each memfd (engine/sandbox.c). */
	journal_limit(sb->as_limit);
	if (journal_attach(ep, sb->state[0], sb->state[1], s->resend,
			   s->n_resend, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "state: %s", why);
		fatal_chan(ch, msg);
	}
	if (journal_restored(*ep))
		elog(*ep, LOG_LVL_INFO, "store recovered (engine start %u)",
		     journal_boots(*ep) + 1);
}

/* What the command line asks for, beyond the engine's own limits. */
struct args {
	struct sandbox_cfg sb;
	bool have_uid, have_gid, no_sandbox, check, c417, split;
	int nstate;
};

static const struct option longopts[] = {
	{"fd", required_argument, NULL, 'f'},
	{"entry-nb", required_argument, NULL, 'E'},
	{"entry-size", required_argument, NULL, 'S'},
	{"watch-nb", required_argument, NULL, 'W'},
	{"transaction", required_argument, NULL, 't'},
	{"perm-nb", required_argument, NULL, 'A'},
	{"path-max", required_argument, NULL, 'M'},
	{"quota", required_argument, NULL, 'Q'},
	{"quota-soft", required_argument, NULL, 'q'},
	{"timeout", required_argument, NULL, 'w'},
	{"keep-orphans", no_argument, NULL, 'K'},
	{"verbose", no_argument, NULL, 'V'},
	{"uid", required_argument, NULL, 'u'},
	{"gid", required_argument, NULL, 'g'},
	{"as-limit", required_argument, NULL, 'a'},
	{"unsafe-no-sandbox", no_argument, NULL, 'X'},
	{"state-fd", required_argument, NULL, 's'},
	{"spin-us", required_argument, NULL, 'y'},
	{"check-state", no_argument, NULL, 'c'},
	{"write-stream", required_argument, NULL, 'o'},
	{NULL, 0, NULL, 0},
};

static void
parse_args(struct engine *e, struct chan *ch, struct args *a, int argc,
	   char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "E:S:W:t:A:M:Q:q:w:KV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'f':
			ch->fd = (int)num(optarg);
			break;
		case 'E':
		case 'S':
		case 'W':
		case 't':
		case 'A':
		case 'M':
		case 'Q':
		case 'q':
		case 'w':
			engine_opt(e, engine_opt_letter(c), optarg);
			break;
		case 'K':
			e->keep_orphans = true;
			break;
		case 'V':
			e->verbose = true;
			break;
		case 'u':
			a->sb.uid = num(optarg);
			a->have_uid = true;
			break;
		case 'g':
			a->sb.gid = num(optarg);
			a->have_gid = true;
			break;
		case 'a':
			a->sb.as_limit = strtoull(optarg, NULL, 10);
			break;
		case 'X':
			a->no_sandbox = true;
			break;
		case 'y':
			engine_opt(e, engine_opt_word("--spin-us"), optarg);
			break;
		case 'c':
			a->check = true;
			break;
		case 'o':
			/* The streams another daemon reads: C 4.17's, or a
			 * broker's that replaces this one (all of it). */
			if (strcmp(optarg, "c417") == 0)
				a->c417 = true;
			else if (strcmp(optarg, "split") == 0)
				a->c417 = a->split = true;
			else
				usage();
			break;
		case 's':
			if (a->nstate == 2)
				usage();
			a->sb.state[a->nstate++] = (int)num(optarg);
			break;
		default:
			usage();
		}
	}
}

/*
 * Every frame the channel holds: the first attaches the engine to the
 * broker's state (attach()). Returns 0, or -1 when the broker closed the
 * channel.
 */
static int
take_frames(struct engine **ep, struct chan *ch, const struct args *a,
	    bool *attached)
{
	const uint8_t *data;
	const char *why;
	size_t len;
	ssize_t n;
	int r;

	if ((n = frame_in_fill(&ch->in, ch->fd)) == 0)
		return -1;
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		exit(1);
	}
	while ((r = frame_in_next(&ch->in, &data, &len)) == 1) {
		Xsp__BrokerFrame *f = chan_decode(data, len, &why);

		if (f == NULL)
			fatal_chan(ch, why);
		if (!*attached) {
			attach(ep, ch, &a->sb, f);
			chan_ready(ch, engine_nodes(*ep),
				   journal_restored(*ep));
		}
		*attached = true;
		r = chan_apply(*ep, f, &why);
		chan_decode_done(f);
		if (r == -1)
			fatal_chan(ch, why);
	}
	if (r == -1)
		fatal_chan(ch, "frame larger than the limit");
	return 0;
}

/* The loop: frames in, replies out, until the broker closes the channel. */
static void
serve(struct engine **ep, struct chan *ch, const struct args *a)
{
	bool attached = false;
	ssize_t n;

	for (;;) {
		struct pollfd pfd = {ch->fd, POLLIN, 0};

		/*
		 * Wait in poll, not in read: a reader blocked in read() is
		 * woken each time the broker drains our replies (the socket's
		 * write space), poll only when there is something to read.
		 */
		n = spin_wait(&spin, &pfd, ch->flushed, conflict_wait_ms(*ep));
		if (n == -1 && errno != EINTR)
			exit(1);
		/* n == 0: only the time of held changes came. */
		if (n > 0 && take_frames(ep, ch, a, &attached) == -1)
			return;
		/* Changes a protected transaction held back, now it ended. */
		conflict_tick(*ep);
		if (ch->oom)
			fatal_chan(ch, "out of memory queueing replies");
		/* Changes are in the broker's memory before their replies. */
		if (journal_flush(*ep) == -1)
			fatal_chan(ch, "cannot write the journal");
		if (chan_flush(ch) == -1)
			exit(1);
		engine_idle(*ep);
		if (journal_compact(*ep) == -1)
			fatal_chan(ch, "cannot write a snapshot");
	}
}

/*
 * --check-state: a live update's broker has the store it is handed restored
 * here, in the sandbox, before it touches anything, so that a stream the
 * store refuses leaves the daemon that wrote it free to take it back. The
 * state fds are copies, as the restore writes a snapshot; the verdict is
 * one line of text on the channel ("ok NODES" or "state: why").
 */
static int
check_state(struct engine **ep, struct chan *ch, const struct args *a)
{
	char why[256], msg[320];
	int n, ok;

	if (a->nstate != 2)
		usage();
	journal_limit(a->sb.as_limit);
	ok = journal_attach(ep, a->sb.state[0], a->sb.state[1], NULL, 0, why,
			    sizeof(why)) == 0;
	if (ok)
		n = snprintf(msg, sizeof(msg), "ok %llu",
			     (unsigned long long)engine_nodes(*ep));
	else
		n = snprintf(msg, sizeof(msg), "state: %s", why);
	if (write(ch->fd, msg, (size_t)n) != n)
		return 1;
	return ok ? 0 : 1;
}

/*
 * --write-stream c417: a broker handing the host back to C xenstored 4.17
 * has the store it holds restored here, in the sandbox, and written to the
 * channel (a memfd) as 4.17 reads it (state_c417.c); split: whole, as the
 * engine's own snapshots hold it, for a broker replacing itself. The state fds
 * are copies, as for --check-state. A store that does not restore is said as
 * --check-state says it; a stream cut short ends with exit status 1.
 */
static int
write_stream(struct engine **ep, struct chan *ch, const struct args *a)
{
	char why[256], msg[320];
	int n;

	if (a->nstate != 2)
		usage();
	journal_limit(a->sb.as_limit);
	if (journal_attach(ep, a->sb.state[0], a->sb.state[1], NULL, 0, why,
			   sizeof(why)) == -1) {
		n = snprintf(msg, sizeof(msg), "state: %s", why);
		(void)!write(ch->fd, msg, (size_t)n);
		return 1;
	}
	if (a->split)
		return state_dump_fd(*ep, ch->fd) == 0 ? 0 : 1;
	return state_dump_c417_fd(*ep, ch->fd) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct chan ch = {.fd = -1};
	struct args a = {
		.sb = {.channel = -1, .state = {-1, -1}, .output = -1}};
	struct engine *e;

	/* Before any map holds a key: their hashes depend on it. */
	if (hmap_key_random() == -1) {
		perror("xs-engine: getrandom");
		return 1;
	}
	e = engine_new(chan_emit, chan_log, &ch);
	if (e == NULL)
		return 1;
	e->priv = chan_priv;
	e->fence = chan_fence;
	e->defer_free = true;
	parse_args(e, &ch, &a, argc, argv);
	if (ch.fd < 0 || optind != argc || a.nstate == 1 ||
	    (a.check && a.c417) ||
	    /* Its log line would go where the stream goes. */
	    (a.c417 && a.no_sandbox) ||
	    (!a.no_sandbox && !(a.have_uid && a.have_gid)))
		usage();
	/* The broker is the only reader; a dead broker must not kill us
	 * with SIGPIPE before we notice the error and leave. */
	signal(SIGPIPE, SIG_IGN);
	spin_check_cpus(&spin);
	sandbox(&ch, &a.sb, a.no_sandbox);
	/*
	 * One-shot modes leave with _exit(): what they say is written, and
	 * nothing at exit (LeakSanitizer's check, in the sanitizer build) may
	 * make a call the filter forbids.
	 */
	if (a.check)
		_exit(check_state(&e, &ch, &a));
	if (a.c417)
		_exit(write_stream(&e, &ch, &a));
	serve(&e, &ch, &a);
	engine_free(e);
	chan_free(&ch);
	return 0;
}
