// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's life: starting it with nothing but its channel and its two
 * state memfds, noticing at once when it dies or misbehaves, and starting
 * the next one, which recovers the store from those memfds while every
 * client and guest ring stays connected. Also live update: replacing the
 * running engine with another binary on the engine's request.
 *
 * The broker never reads the state memfds: what is in them is the engine's
 * business, and a compromised engine can only spoil its own successor's
 * store, never the broker. It creates them before it forks the spawner,
 * which holds them from then on; the spawner runs each engine, the broker
 * only says when, and which of the binaries the spawner knows.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"
#include "mono.h"

/* How long a stopping engine gets before SIGKILL. */
#define ENGINE_STOP_MS 5000
/* How long an engine that closed its channel gets to finish dying. */
#define ENGINE_GONE_MS 1000

/* The binary the engine runs, for the log: the spawner holds the file. */
static char *cur_name;
/* After a live update, until the new engine first answers: the old one. */
static char *prev_name;
/* The updated engine died before it answered: the next runs prev_name. */
static int revert;

static struct backoff backoff;
static unsigned int restarts;
static int restart_due;   /* restart in this iteration's life_flush() */
static int timer_fd = -1; /* the back-off: restart when it fires */
static struct bevent timer_ev;
static struct timespec noticed; /* when the last death was noticed */
static int update_failed;       /* for the next ConnSync */

/* Live update: the binary LIVE_UPDATE_FILE named, and EXEC's args. */
static char *next_path;
static int next_kind; /* enum spawn_lu_kind of next_path */
static char **exec_args;
static size_t exec_nargs;
static int exec_asked;
/*
 * Whether the engine on the channel said Ready, and how many engines in a
 * row died before they did: they could not load the store.
 */
static int ready_said;
static unsigned int unready_deaths;
/* xs-broker --restore: until the first engine is ready, its death is ours. */
static const char *restoring;

static void engine_died(void);
static void live_update_start(void);

static void
engine_describe(int status)
{
	const char *name;

	audit_engine_exit(status);
	if (WIFEXITED(status))
		log_warnx("engine exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		name = sigabbrev_np(WTERMSIG(status));
		if (name != NULL)
			log_warnx("engine killed by signal SIG%s%s", name,
				  WCOREDUMP(status) ? " (core dumped)" : "");
		else
			log_warnx("engine killed by signal %d",
				  WTERMSIG(status));
	}
}

/*
 * Starts an engine with a new channel, ConnSync queued first. Returns 0, or
 * the errno of what failed.
 */
static int
engine_run(enum spawn_binary which, char *const args[], size_t nargs,
	   int sync_update_failed)
{
	int chan, err;
	pid_t pid;

	if ((err = spawn_start(which, args, nargs, &pid, &chan)) != 0)
		return err;
	proc_started(pid);
	chan_open(chan, sync_update_failed);
	ready_said = 0;
	log_debug("engine %s started, pid %ld", cur_name, (long)pid);
	return 0;
}

/*
 * A new engine takes over: it is told the connections and the requests to
 * answer again, and then what happened to domains while none ran.
 */
static void
engine_takeover(void)
{
	guest_domains_changed();
	chan_pump();
}

static void
engine_restart(void)
{
	char detail[96];
	long ms;
	int err;

	restart_due = 0;
	err = engine_run(revert ? SPAWN_RUN_PREVIOUS : SPAWN_RUN_CURRENT, NULL,
			 0, update_failed);
	/* The spawner went back to the old binary, whether it runs or not. */
	revert = 0;
	if (err != 0) {
		/* Out of memory or processes, say: tried again, backing off. */
		errno = err;
		log_warn("cannot execute %s", cur_name);
		clock_gettime(CLOCK_MONOTONIC, &noticed);
		engine_died();
		return;
	}
	update_failed = 0;
	ms = mono_us_since(&noticed) / 1000;
	restarts++;
	log_info("engine restarted in %ld ms (restart %u)", ms, restarts);
	snprintf(detail, sizeof(detail), "in %ld ms (restart %u)", ms,
		 restarts);
	audit_engine_event("restarted", detail);
	engine_takeover();
}

static void
timer_event(int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	engine_restart();
}

/*
 * Connections whose request was in flight at REPLAY_POISON deaths in a
 * row go: whoever sent it would otherwise crash every engine that follows.
 * A guest's ring would only send it again, so its domain is quarantined;
 * dom0's ring and the sockets lose only the connection.
 */
static void
drop_poisoned(void)
{
	struct replay_req *q;
	struct xs_hdr hdr;
	uint32_t id, domid;

	for (q = replay_first(&engine_replay); q != NULL;) {
		if (q->deaths < REPLAY_POISON) {
			q = replay_after(q);
			continue;
		}
		id = q->conn;
		domid = q->domid;
		hdr = q->hdr;
		if (domid != 0)
			quarantine_domain(domid, id, &hdr);
		else
			log_warnx("conn %u: request %u (type %u) was being "
				  "handled at %u engine deaths in a row: "
				  "dropping the connection",
				  id, hdr.req_id, hdr.type, q->deaths);
		/* Quarantine dropped a ring's; a socket's goes here. */
		conn_drop_id(id, "request crashed the engine");
		/* Dropping it freed its requests: start over. */
		q = replay_first(&engine_replay);
	}
}

/*
 * Engines die past --engine-restarts in a window: restarts slow down to
 * BACKOFF_SLOW_MS, and an operator hears of it once a window.
 */
static void
restart_limit_news(int64_t now_ms)
{
	char detail[128];

	if (!backoff_limit_news(&backoff, now_ms))
		return;
	snprintf(detail, sizeof(detail),
		 "more than %u restarts within %d s: one every %d s at most",
		 backoff.max, BACKOFF_WINDOW_MS / 1000, BACKOFF_SLOW_MS / 1000);
	log_warnx("engine died again: %s (--engine-restarts); every socket "
		  "and ring stays open",
		  detail);
	audit_engine_event("restart-limit", detail);
}

/*
 * An engine died before it said Ready: it could not load the store from
 * the state memfds (or died of something else first). Said loudly, at the
 * first death and at every tenth, and recorded; the memfds are kept as
 * they are and the next engine tries again: the broker never gives up the
 * store, and `xs-engine --dump` can still take what is in them.
 */
static void
unready_news(void)
{
	char detail[96];

	unready_deaths++;
	if (unready_deaths != 1 && unready_deaths % 10 != 0)
		return;
	snprintf(detail, sizeof(detail),
		 "%u engines in a row died before they had the store",
		 unready_deaths);
	log_prio(LOG_ERR,
		 "%s: the store may not load; it is kept, and the next engine "
		 "tries again",
		 detail);
	audit_engine_event("store-not-loaded", detail);
}

/*
 * The engine is gone and reaped. Clients stay; a new engine follows at
 * once, or after a back-off if engines die in quick succession, however
 * often they die.
 */
static void
engine_died(void)
{
	struct itimerspec it = {{0, 0}, {0, 0}};
	int64_t now_ms;
	long delay;

	if (restoring != NULL) {
		/* The engine said why (a truncated or corrupt dump) above. */
		log_warnx("%s: refused by the engine; not starting", restoring);
		exit(1);
	}
	if (replay_engine_gone(&engine_replay, 1) > 0)
		drop_poisoned();
	if (!ready_said)
		unready_news();
	if (prev_name != NULL) {
		/* The updated engine never answered: back to the old one. */
		log_warnx("live update: the new engine %s died before it "
			  "answered; going back to %s",
			  cur_name, prev_name);
		audit_engine_event("live-update-failed", "new engine died");
		free(cur_name);
		cur_name = prev_name;
		prev_name = NULL;
		revert = 1;
		update_failed = 1;
	}
	now_ms = (int64_t)noticed.tv_sec * 1000 + noticed.tv_nsec / 1000000;
	delay = backoff_death(&backoff, now_ms);
	restart_limit_news(now_ms);
	if (delay == 0) {
		restart_due = 1;
		return;
	}
	log_info("engine died %u times in quick succession: restarting it in "
		 "%ld ms",
		 backoff.streak + 1, delay);
	it.it_value.tv_sec = delay / 1000;
	it.it_value.tv_nsec = (delay % 1000) * 1000000;
	if (timerfd_settime(timer_fd, 0, &it, NULL) == -1)
		fatal("timerfd_settime");
}

/*
 * The engine is gone, reaped (status is -1 if someone else reaped it).
 * One that asked for a live update made way for the new binary, whether it
 * left by itself or was ended; any other died.
 */
static void
engine_gone(int status)
{
	if (exec_asked) {
		log_debug("engine left for the live update");
		live_update_start();
		return;
	}
	if (status != -1)
		engine_describe(status);
	engine_died();
}

/*
 * The channel hit its end: the engine is leaving. It gets ENGINE_GONE_MS
 * to be gone, without the loop waiting for it; what comes next waits for
 * its exit (life_exited()), so that no two engines share the state.
 */
void
life_channel_end(void)
{
	clock_gettime(CLOCK_MONOTONIC, &noticed);
	chan_close(1);
	if (proc_pid() == -1)
		engine_gone(-1);
	else
		proc_end_within(ENGINE_GONE_MS,
				"closed its channel but did not exit");
}

void
life_exited(int status)
{
	/* Dead before its channel said so: act on what it left there. */
	if (chan_is_open()) {
		clock_gettime(CLOCK_MONOTONIC, &noticed);
		chan_close(1);
	}
	engine_gone(status);
}

/* A broken engine is not worth another word: kill it and replace it. */
void
life_broken(const char *why)
{
	clock_gettime(CLOCK_MONOTONIC, &noticed);
	log_warnx("engine is broken (%s): killing it", why);
	audit_engine_broken(why);
	/* Not even a live update it asked for counts any more. */
	exec_asked = 0;
	chan_close(0);
	if (proc_pid() == -1)
		engine_gone(-1);
	else
		proc_kill();
}

void
life_ready(uint64_t nodes, int recovered)
{
	ready_said = 1;
	if (unready_deaths > 0)
		log_info("engine ready after %u engines died before they had "
			 "the store",
			 unready_deaths);
	unready_deaths = 0;
	if (restoring != NULL) {
		log_info("store restored from %s: %llu nodes", restoring,
			 (unsigned long long)nodes);
		restoring = NULL;
	} else if (recovered) {
		log_info("engine ready: store recovered, %llu nodes",
			 (unsigned long long)nodes);
	} else {
		log_debug("engine ready: %llu nodes",
			  (unsigned long long)nodes);
	}
}

void
life_first_reply(void)
{
	if (prev_name == NULL)
		return;
	log_info("live update: %s answers; %s is no longer needed", cur_name,
		 prev_name);
	free(prev_name);
	prev_name = NULL;
}

/*
 * Ends the engine in order: its channel closes, on which it leaves; then
 * the spawner sends SIGTERM, waits, sends SIGKILL, and exits. The end of
 * its channel is what stops an engine that is pid 1 of its own namespace:
 * such a process ignores every signal it has no handler for, SIGKILL
 * apart.
 */
static void
engine_end(void)
{
	chan_shutdown();
	spawn_shutdown();
}

/*
 * LIVE_UPDATE_EXEC, after the frame that asked: the engine has recorded
 * its state and the answer to the live-update request, which the next
 * engine gives from its journal. If the new binary cannot be executed,
 * the old one runs again and is told so.
 */
static void
live_update_start(void)
{
	char *old = cur_name;
	char detail[256];
	long ms;
	int err = ENOENT;

	exec_asked = 0;
	replay_engine_gone(&engine_replay, 0);
	if (next_path != NULL &&
	    (next_kind == SPAWN_LU_DAEMON || next_kind == SPAWN_LU_BROKER)) {
		/* Returns only if the store stays here. */
		char why[512];

		log_info("live update: handing the store to %s", next_path);
		handover_run(next_kind == SPAWN_LU_BROKER, exec_args,
			     exec_nargs, why, sizeof(why));
		log_warnx("live update: %s", why);
		audit_engine_event("live-update-failed", why);
		free(next_path);
		next_path = NULL;
		if ((err = engine_run(SPAWN_RUN_CURRENT, NULL, 0, 1)) != 0) {
			errno = err;
			fatal("cannot execute %s", cur_name);
		}
		liveupdate_argv_free(exec_args);
		exec_args = NULL;
		engine_takeover();
		return;
	}
	if (next_path != NULL)
		err = engine_run(SPAWN_RUN_UPDATE, exec_args, exec_nargs, 0);
	if (err != 0) {
		errno = err;
		log_warn("live update: cannot execute %s; the engine "
			 "stays %s",
			 next_path != NULL ? next_path : "(no file named)",
			 old);
		snprintf(detail, sizeof(detail), "%s -> %s: %s", old,
			 next_path != NULL ? next_path : "(none)",
			 strerror(err));
		audit_engine_event("live-update-failed", detail);
		free(next_path);
		if ((err = engine_run(SPAWN_RUN_CURRENT, NULL, 0, 1)) != 0) {
			errno = err;
			fatal("cannot execute %s", cur_name);
		}
	} else {
		/* Kept until the new engine answers, in case it cannot. */
		free(prev_name);
		prev_name = old;
		cur_name = next_path;
		ms = mono_us_since(&noticed) / 1000;
		log_info("live update: engine %s replaced by %s in %ld ms", old,
			 cur_name, ms);
		snprintf(detail, sizeof(detail), "%s -> %s in %ld ms", old,
			 cur_name, ms);
		audit_engine_event("live-update", detail);
	}
	next_path = NULL;
	liveupdate_argv_free(exec_args);
	exec_args = NULL;
	engine_takeover();
}

/*
 * The engine is ended as engine_end() does, but the loop goes on: the new
 * one starts once the old one is gone (engine_gone()).
 */
static void
live_update(void)
{
	clock_gettime(CLOCK_MONOTONIC, &noticed);
	chan_close(1);
	if (proc_pid() == -1) {
		live_update_start();
		return;
	}
	proc_term();
	proc_end_within(ENGINE_STOP_MS, "ignored SIGTERM");
}

void
life_live_update(const Xsp__PrivRequest *p)
{
	char **args, shown[256];
	size_t i;
	int err;

	if (p->op == XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE) {
		log_sanitize(shown, sizeof(shown), (const uint8_t *)p->path,
			     strlen(p->path));
		/* A refused file leaves the spawner's last one, if any. */
		if ((err = spawn_update_file(p->path, &next_kind)) != 0) {
			errno = err;
			log_warn("live update: %s refused", shown);
			if (p->id != 0)
				engine_send_priv_reply(p->id, err, 0, 0, 0);
			return;
		}
		free(next_path);
		if ((next_path = strdup(shown)) == NULL)
			fatal("live update");
		log_info(next_kind == SPAWN_LU_DAEMON
				 ? "live update: the store goes to %s"
			 : next_kind == SPAWN_LU_BROKER
				 ? "live update: the broker is replaced by %s"
				 : "live update: next engine binary %s",
			 shown);
		if (p->id != 0)
			engine_send_priv_reply(p->id, 0, 0, 0, 0);
		return;
	}
	/* An engine that is gone asks nothing: its successor will again. */
	if (!chan_is_open())
		return;
	if ((args = calloc(p->n_args + 1, sizeof(*args))) == NULL)
		fatal("live update");
	for (i = 0; i < p->n_args; i++)
		if ((args[i] = strdup(p->args[i])) == NULL)
			fatal("live update");
	liveupdate_argv_free(exec_args);
	exec_args = args;
	exec_nargs = p->n_args;
	exec_asked = 1;
}

void
life_flush(void)
{
	spawn_deferred();
	if (exec_asked && chan_is_open())
		live_update();
	if (restart_due)
		engine_restart();
}

/*
 * The state memfds: created once, before the spawner is forked, which
 * hands them to every engine and holds them so that they outlive every
 * engine. Nobody but the engines reads them.
 */
static int
state_memfd(const char *name)
{
	int fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		fatal("memfd_create %s", name);
	return fd_above(fd);
}

/*
 * A dump file becomes the first engine's state, as it is: the engine
 * checks every record (the broker does not read them) and says why it
 * refuses one.
 */
static void
restore_from(const char *file, int memfd, int checked)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s", file);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (pwrite(memfd, buf, (size_t)n, off) != n)
			fatal("copying %s", file);
		off += n;
	}
	if (n == -1)
		fatal("%s", file);
	close(fd);
	/* A live update's stream was restored once already (takeover_run.c):
	 * an engine that dies on it is restarted, as after any crash. */
	if (!checked)
		restoring = file;
}

/*
 * The two state memfds, the first holding restore's dump if it is named;
 * checked: the engine restored it once already.
 */
void
engine_state_create(const char *restore, int checked, int fds[2])
{
	fds[0] = state_memfd("xs-state-a");
	fds[1] = state_memfd("xs-state-b");
	if (restore != NULL)
		restore_from(restore, fds[0], checked);
}

/* The first engine, through the spawner; path is its binary's name. */
void
engine_start(const char *path, unsigned int max_restarts)
{
	int err;

	if (backoff_init(&backoff, max_restarts) == -1)
		fatal("restart limit");
	if ((cur_name = strdup(path)) == NULL)
		fatal("engine");
	if ((timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		fatal("timerfd_create");
	loop_add(&timer_ev, timer_fd, EPOLLIN, timer_event, NULL);
	if ((err = engine_run(SPAWN_RUN_CURRENT, NULL, 0, 0)) != 0) {
		errno = err;
		fatal("cannot execute %s", path);
	}
}

/* For an orderly shutdown of the broker. */
void
engine_stop(void)
{
	engine_end();
}
