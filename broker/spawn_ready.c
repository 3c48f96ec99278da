// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the spawner says for the broker once it serves: the pid file and
 * systemd's READY=1. Both are done here, not in the broker, because by
 * then the broker is its own user under its own seccomp filter: it can no
 * longer create a file in a root-owned directory, nor the socket that
 * sd_notify() makes for each message, and it must not do either earlier,
 * before its filter has loaded (a filter that cannot be loaded fails the
 * start, and a launcher must not have heard that it serves). The spawner
 * is root with no filter and does it on the broker's word, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "broker.h"

static const char *written;
/* sd_notify() forgets the socket after READY; a handover needs it again. */
static char *notify_socket;

/*
 * The pid in a file beside path, renamed over it: whoever looks finds no
 * file or the whole pid, never an empty one.
 */
static int
pidfile_write(const char *path, pid_t pid)
{
	char *tmp;
	int fd, err;

	if (asprintf(&tmp, "%s.XXXXXX", path) == -1)
		return ENOMEM;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		err = errno;
		free(tmp);
		return err;
	}
	if (dprintf(fd, "%ld\n", (long)pid) < 0 || fchmod(fd, 0644) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		err = errno;
		unlink(tmp);
		free(tmp);
		return err ? err : EIO;
	}
	free(tmp);
	written = path;
	return 0;
}

/*
 * The broker serves: its pid file, then systemd, which is told the broker's
 * pid (MAINPID), since the message does not come from it. Returns 0 or the
 * errno of the pid file; systemd not hearing is logged, as C xenstored
 * does not stop for it either.
 */
int
spawn_ready_announce(const struct spawner_cfg *cfg)
{
	int err, r;

	if (cfg->pidfile != NULL &&
	    (err = pidfile_write(cfg->pidfile, cfg->broker_pid)) != 0)
		return err;
	if (getenv("NOTIFY_SOCKET") != NULL &&
	    (notify_socket = strdup(getenv("NOTIFY_SOCKET"))) == NULL)
		return ENOMEM;
	r = sd_notifyf(1, "READY=1\nMAINPID=%ld", (long)cfg->broker_pid);
	if (r < 0)
		log_warnx("telling systemd the daemon is ready: %s",
			  strerror(-r));
	else if (r > 0)
		log_info("told systemd the daemon is ready");
	return 0;
}

/* At the end: the pid file goes, if it was ours. */
void
spawn_ready_withdraw(void)
{
	if (written != NULL && unlink(written) == -1 && errno != ENOENT)
		log_warn("unlink %s", written);
	written = NULL;
}

/*
 * A handover: the daemon is now process pid (the spawner, about to execute
 * another daemon; or the broker again if it could not). The pid file and
 * systemd follow it; the daemon it becomes is not told of systemd.
 */
void
spawn_ready_moved(const struct spawner_cfg *cfg, pid_t pid)
{
	int err, r;

	if (cfg->pidfile != NULL &&
	    (err = pidfile_write(cfg->pidfile, pid)) != 0)
		log_warnx("live update: pid file %s: %s", cfg->pidfile,
			  strerror(err));
	if (notify_socket == NULL)
		return;
	setenv("NOTIFY_SOCKET", notify_socket, 1);
	r = sd_notifyf(1, "MAINPID=%ld", (long)pid);
	if (r < 0)
		log_warnx("live update: telling systemd of pid %ld: %s",
			  (long)pid, strerror(-r));
}
