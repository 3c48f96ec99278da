// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-engine --dump FILE: the running store as a xenstore migration stream,
 * the format Xen's daemons use for live update, read from the broker's
 * state memfds through /proc (so root only) without disturbing it. The
 * engine writes a group or a snapshot in one go and the header of a
 * snapshot last, so what is read is always a state the store was in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dump_tool.h"
#include "journal.h"
#include "state.h"

static void
quiet_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	   uint32_t tx_id, const void *payload, size_t len)
{
}

static void
quiet_log(void *arg, int level, const char *text)
{
}

/* The broker is whoever serves the socket clients use. */
static long
broker_pid(void)
{
	const char *path = getenv("XENSTORED_PATH");
	const char *rundir = getenv("XENSTORED_RUNDIR");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	if (path != NULL)
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket",
			 rundir ? rundir : "/var/run/xenstored");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		fprintf(stderr, "xs-engine: %s: %s\n", sa.sun_path,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return cred.pid;
}

/* Opens the broker's two state memfds. */
static int
state_fds(long pid, int fd[2])
{
	char dir[64], link[64 + sizeof(((struct dirent *)0)->d_name)];
	char target[256];
	struct dirent *de;
	ssize_t n;
	DIR *d;

	fd[0] = fd[1] = -1;
	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "xs-engine: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		int which;

		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/memfd:xs-state-a", 17) == 0)
			which = 0;
		else if (strncmp(target, "/memfd:xs-state-b", 17) == 0)
			which = 1;
		else
			continue;
		if (fd[which] == -1)
			fd[which] = open(link, O_RDONLY | O_CLOEXEC);
	}
	closedir(d);
	if (fd[0] == -1 || fd[1] == -1) {
		fprintf(stderr,
			"xs-engine: process %ld holds no split-xenstored "
			"state\n",
			pid);
		return -1;
	}
	return 0;
}

static int
out_fd(void *arg, const void *buf, size_t len)
{
	FILE *f = arg;

	return fwrite(buf, 1, len, f) == len ? 0 : -EIO;
}

int
dump_tool(const char *file, long pid)
{
	struct engine *like, *e;
	struct journal_slot js;
	char why[256], tmp[4200];
	int fd[2], r = 1;
	FILE *f;

	if (pid <= 0 && (pid = broker_pid()) <= 0)
		return 1;
	if (state_fds(pid, fd) == -1)
		return 1;
	like = engine_new(quiet_emit, quiet_log, NULL);
	if (like == NULL)
		return 1;
	e = journal_load(like, fd[0], fd[1], &js, why, sizeof(why));
	close(fd[0]);
	close(fd[1]);
	if (e == NULL) {
		fprintf(stderr, "xs-engine: the state is unreadable: %s\n",
			why);
		engine_free(like);
		return 1;
	}
	if (js.slot < 0) {
		fprintf(stderr, "xs-engine: no store recorded yet\n");
		engine_free(like);
		return 1;
	}
	if (strcmp(file, "-") == 0) {
		r = state_dump(e, out_fd, stdout, false) != 0 ||
		    fflush(stdout) != 0;
	} else {
		/* Whole or not at all: written aside, then renamed. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", file);
		if ((f = fopen(tmp, "wxe")) == NULL) {
			fprintf(stderr, "xs-engine: %s: %s\n", tmp,
				strerror(errno));
		} else {
			r = state_dump(e, out_fd, f, false) != 0;
			r |= fflush(f) != 0 || fsync(fileno(f)) != 0;
			r |= fclose(f) != 0;
			if (r == 0 && rename(tmp, file) == -1)
				r = 1;
			if (r != 0) {
				fprintf(stderr, "xs-engine: writing %s: %s\n",
					file, strerror(errno));
				unlink(tmp);
			}
		}
	}
	if (e != like)
		engine_free(e);
	engine_free(like);
	return r;
}
