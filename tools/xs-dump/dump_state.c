// SPDX-License-Identifier: GPL-2.0-only
/*
 * The privileged part of xs-dump: the two state memfds, which the
 * broker's spawner holds (or an older broker itself), found through /proc
 * (so root only) and copied, bytes only, into sealed
 * memfds of the tool's own, without disturbing the broker. The engine
 * writes a group or a snapshot in one go and the header of a snapshot
 * last, so what is copied is always a state the store was in. What the
 * bytes mean is the sandboxed parser's to find out (dump_parse.c): an
 * engine, which a guest may have subverted, wrote them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dump_tool.h"

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
		fprintf(stderr, "xs-dump: %s: %s\n", sa.sun_path,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return cred.pid;
}

/* Opens the two state memfds pid holds. */
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
		fprintf(stderr, "xs-dump: %s: %s\n", dir, strerror(errno));
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
		if (fd[0] != -1)
			close(fd[0]);
		if (fd[1] != -1)
			close(fd[1]);
		return -1;
	}
	return 0;
}

/*
 * The state memfds of the broker pid: its spawner's, a child of it, since
 * the broker keeps none once it has forked the spawner.
 */
static int
broker_state_fds(long pid, int fd[2])
{
	char path[64];
	long child;
	FILE *f;
	int r = -1;

	if (state_fds(pid, fd) == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	if ((f = fopen(path, "re")) != NULL) {
		while (r == -1 && fscanf(f, "%ld", &child) == 1)
			r = state_fds(child, fd);
		fclose(f);
	}
	if (r == -1)
		fprintf(stderr,
			"xs-dump: process %ld holds no split-xenstored "
			"state, nor does its spawner\n",
			pid);
	return r;
}

/*
 * A sealed copy of the slot in from: the parser reads bytes that nobody
 * changes under it, and holds nothing of the broker's.
 */
static int
slot_copy(int from, const char *name)
{
	static uint8_t buf[1 << 16];
	off_t off = 0;
	ssize_t n;
	int to;

	if ((to = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	for (;;) {
		n = pread(from, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && dump_write_all(to, buf, (size_t)n) != 0))
			goto fail;
		if (n == 0)
			break;
		off += n;
	}
	if (fcntl(to, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) ==
	    -1)
		goto fail;
	return to;
fail:
	close(to);
	return -1;
}

int
dump_state(long pid, int copy[2])
{
	static const char *const names[2] = {"xs-dump-a", "xs-dump-b"};
	int fd[2], i;

	copy[0] = copy[1] = -1;
	if (pid <= 0 && (pid = broker_pid()) <= 0)
		return -1;
	if (broker_state_fds(pid, fd) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if ((copy[i] = slot_copy(fd[i], names[i])) == -1) {
			fprintf(stderr, "xs-dump: copying the state: %s\n",
				strerror(errno));
			break;
		}
	}
	close(fd[0]);
	close(fd[1]);
	if (i < 2) {
		if (copy[0] != -1)
			close(copy[0]);
		copy[0] = -1;
		return -1;
	}
	return 0;
}
