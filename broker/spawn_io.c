// SPDX-License-Identifier: GPL-2.0-only
/*
 * One message of the spawner's control channel (include/spawn_msg.h) in or
 * out, with its fds. Shared by both ends; neither trusts what it reads.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"

/* Sends msg (len bytes) with nfds fds. Returns 0 or -1 with errno. */
int
spawn_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {(void *)msg, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	ssize_t n;

	if (nfds < 0 || nfds > (int)SPAWN_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/*
 * Receives one message into buf (size bytes) and up to SPAWN_FDS_MAX fds,
 * close-on-exec, into fds (*nfds of them). Returns its length, 0 at the
 * end of the channel, or -1 with errno; EMSGSIZE if it or its fds were cut
 * short (whatever fds came are closed then). A message's length is only
 * what was read: the caller checks it against its type.
 */
ssize_t
spawn_recv(int sock, void *buf, size_t size, int *fds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, size};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	size_t k, got;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < got; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
			       sizeof(fd));
			if (*nfds < (int)SPAWN_FDS_MAX)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		spawn_close_fds(fds, *nfds);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

void
spawn_close_fds(int *fds, int nfds)
{
	int i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}
