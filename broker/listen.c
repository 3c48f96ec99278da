// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two Unix sockets of dom0's toolstack, where C xenstored has them:
 * RUNDIR/socket (0600) for privileged clients and RUNDIR/socket_ro (0660),
 * whose clients the engine refuses every change.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"

/* Accepts per wake-up, so a connection storm cannot hog an iteration. */
#define ACCEPT_BURST 32
/*
 * socket_ro's clients are untrusted and each may make the engine hold up to
 * its quotas (and the broker a queue of replies): so many at once, no more.
 */
#define READONLY_CONN_MAX 128

struct listener {
	struct bevent ev;
	int fd;
	int readonly;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static struct listener listeners[2];
static int nlisteners;
static int accept_paused;
static int readonly_full_logged;

static void
mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		fatalx("run directory name too long: %s", dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", buf);
}

/* Past the bound, a new socket_ro client is closed at once; logged once. */
static int
listen_readonly_room(void)
{
	if (conn_readonly_count() < READONLY_CONN_MAX) {
		readonly_full_logged = 0;
		return 1;
	}
	if (!readonly_full_logged)
		log_warnx("%d socket_ro clients: refusing more until one "
			  "leaves",
			  READONLY_CONN_MAX);
	readonly_full_logged = 1;
	return 0;
}

static void
listen_accept(int fd, uint32_t events, void *arg)
{
	struct listener *l = arg;
	int i, c;

	for (i = 0; i < ACCEPT_BURST; i++) {
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/*
				 * Level-triggered epoll would wake us again
				 * at once: stop listening for a second.
				 */
				log_warn("accept on %s", l->path);
				for (i = 0; i < nlisteners; i++)
					loop_set(&listeners[i].ev, 0);
				accept_paused = 1;
				return;
			}
			fatal("accept on %s", l->path);
		}
		if (l->readonly && !listen_readonly_room()) {
			close(c);
			continue;
		}
		conn_new(c, l->readonly);
	}
}

static void
listen_one(struct listener *l, const char *rundir, const char *name,
	   mode_t mode, int readonly)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t omask;
	int fd;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", rundir,
		     name) >= (int)sizeof(sun.sun_path))
		fatalx("socket path too long: %s/%s", rundir, name);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) == -1)
		fatal("socket");
	/* A stale socket of a dead daemon would make bind fail. */
	if (unlink(sun.sun_path) == -1 && errno != ENOENT)
		fatal("unlink %s", sun.sun_path);
	/* Never let the socket exist with wider permissions than asked. */
	omask = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", sun.sun_path);
	umask(omask);
	if (chmod(sun.sun_path, mode) == -1)
		fatal("chmod %s", sun.sun_path);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen %s", sun.sun_path);
	l->fd = fd;
	l->readonly = readonly;
	memcpy(l->path, sun.sun_path, sizeof(l->path));
	nlisteners++;
	loop_add(&l->ev, fd, EPOLLIN, listen_accept, l);
}

/*
 * A live update hands over RUNDIR/socket listening (sock_fd, else -1):
 * clients waiting in its backlog are served as if nothing happened; and
 * socket_ro (ro_fd) if an older broker had it (C xenstored 4.17 has none).
 */
static void
listen_adopt(struct listener *l, const char *rundir, const char *name, int fd,
	     int readonly)
{
	if (snprintf(l->path, sizeof(l->path), "%s/%s", rundir, name) >=
	    (int)sizeof(l->path))
		fatalx("socket path too long: %s/%s", rundir, name);
	l->fd = fd;
	l->readonly = readonly;
	nlisteners++;
	loop_add(&l->ev, fd, EPOLLIN, listen_accept, l);
}

void
listen_open(const char *rundir, int sock_fd, int ro_fd)
{
	mkdir_p(rundir);
	if (sock_fd == -1)
		listen_one(&listeners[0], rundir, "socket", 0600, 0);
	else
		listen_adopt(&listeners[0], rundir, "socket", sock_fd, 0);
	if (ro_fd == -1)
		listen_one(&listeners[1], rundir, "socket_ro", 0660, 1);
	else
		listen_adopt(&listeners[1], rundir, "socket_ro", ro_fd, 1);
}

void
listen_unlink(void)
{
	int i;

	for (i = 0; i < nlisteners; i++)
		if (unlink(listeners[i].path) == -1 && errno != ENOENT)
			log_warn("unlink %s", listeners[i].path);
	nlisteners = 0;
}

/* The sockets' paths, for the spawner to remove at the end. */
void
listen_paths(const char *paths[2])
{
	paths[0] = nlisteners > 0 ? listeners[0].path : NULL;
	paths[1] = nlisteners > 1 ? listeners[1].path : NULL;
}

void
listen_resume(void)
{
	int i;

	if (!accept_paused)
		return;
	accept_paused = 0;
	for (i = 0; i < nlisteners; i++)
		loop_set(&listeners[i].ev, EPOLLIN);
}

int
listen_paused(void)
{
	return accept_paused;
}

/* RUNDIR/socket's (or socket_ro's) listening fd, for a handover. */
int
listen_fd(int readonly)
{
	int i = readonly ? 1 : 0;

	return nlisteners > i ? listeners[i].fd : -1;
}
