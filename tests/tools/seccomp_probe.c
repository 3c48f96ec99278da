// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_probe ROLE CALL: makes one system call inside the real filter of
 * ROLE (broker: policy/broker.seccomp as xs-broker loads it; engine: the
 * whole sandbox xs-engine builds, run as root like the engine's start) and
 * prints what the role's report said and how the process ended:
 *
 *   report: NAME       the name the filter's report gave (none: "report: -")
 *   end: signal SYS    or "end: exit N"
 *
 * CALL is one of the classes a subverted process would try: exec, open,
 * socket, ptrace, mount, ioctl (a request that is no Xen device's), kill;
 * "allowed", a call the role does make, which must go through; "xen-ioctl",
 * an event channel notification (the broker's, on an fd that is no event
 * channel: the filter lets it through, the kernel says ENOTTY);
 * "hypercall", a privcmd hypercall (domain information is the spawner's:
 * the broker may make none); "unix-socket", the socket glibc's syslog() reopens
 * (refused with EACCES in the broker: exit 13).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

#include "broker.h"
#include "sandbox.h"

static int report_fd = -1;

/* The broker's report hook: only write(), as in a signal handler. */
static void
broker_report(const char *name, int nr, uint64_t arg1)
{
	if (name != NULL)
		(void)!write(report_fd, name, strlen(name));
}

static void
apply_broker(void)
{
	seccomp_on_report(broker_report);
	if (seccomp_broker_apply() == -1) {
		perror("seccomp_broker_apply");
		_exit(2);
	}
}

static void
apply_engine(void)
{
	struct sandbox_cfg cfg = {.channel = report_fd,
				  .state = {-1, -1},
				  .output = -1,
				  .uid = 65534,
				  .gid = 65534,
				  .as_limit = 0};
	struct sandbox_state st;
	char why[256];

	if (sandbox_apply(&cfg, &st, why, sizeof(why)) == -1) {
		fprintf(stderr, "sandbox: %s\n", why);
		_exit(2);
	}
}

/* Returns only if the call was let through. */
static void
call(const char *what, const char *role)
{
	static char *const argv[] = {"true", NULL};
	struct termios t;

	if (strcmp(what, "exec") == 0)
		execve("/bin/true", argv, argv + 1);
	else if (strcmp(what, "open") == 0)
		open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	else if (strcmp(what, "socket") == 0)
		socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(what, "ptrace") == 0)
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(what, "mount") == 0)
		mount("none", "/", "tmpfs", 0, NULL);
	else if (strcmp(what, "ioctl") == 0)
		ioctl(report_fd, TCGETS, &t);
	else if (strcmp(what, "xen-ioctl") == 0) {
		struct ioctl_evtchn_notify nt = {.port = 1};

		ioctl(report_fd, IOCTL_EVTCHN_NOTIFY, &nt);
	} else if (strcmp(what, "hypercall") == 0) {
		privcmd_hypercall_t hc = {0};

		ioctl(report_fd, IOCTL_PRIVCMD_HYPERCALL, &hc);
	} else if (strcmp(what, "unix-socket") == 0) {
		if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) == -1 &&
		    errno == EACCES)
			_exit(13);
	} else if (strcmp(what, "kill") == 0)
		kill(1, SIGTERM);
	else if (strcmp(what, "allowed") == 0) {
		/* The broker writes to its fds; so does the engine to its
		 * channel (a byte the parent ignores). */
		(void)!write(report_fd, "", 0);
		(void)role;
	} else {
		fprintf(stderr, "unknown call %s\n", what);
		_exit(2);
	}
}

/* The engine's report is a Violation frame: its syscall number. */
static const char *
engine_name(const uint8_t *p, size_t n)
{
	static char buf[64];
	uint64_t nr = 0;
	size_t i;
	int shift = 0;
	char *name;

	/* [4-byte length] 0a len 1a len 08 NR...: every length here is one
	 * byte, a Violation being a few. */
	if (n < 10 || p[4] != 0x0a || p[6] != 0x1a || p[8] != 0x08)
		return "?";
	for (i = 9; i < n; i++) {
		nr |= (uint64_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if (!(p[i] & 0x80))
			break;
	}
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);
	snprintf(buf, sizeof(buf), "%s", name ? name : "?");
	free(name);
	return buf;
}

int
main(int argc, char *argv[])
{
	uint8_t buf[256];
	size_t len = 0;
	ssize_t n;
	int p[2], status, broker;
	pid_t pid;

	if (argc != 3 || (strcmp(argv[1], "broker") != 0 &&
			  strcmp(argv[1], "engine") != 0)) {
		fprintf(stderr, "usage: seccomp_probe broker|engine CALL\n");
		return 2;
	}
	broker = strcmp(argv[1], "broker") == 0;
	if (pipe(p) == -1)
		return perror("pipe"), 1;
	if ((pid = fork()) == -1)
		return perror("fork"), 1;
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		if (broker)
			apply_broker();
		else
			apply_engine();
		call(argv[2], argv[1]);
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(buf) &&
	       (n = read(p[0], buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (waitpid(pid, &status, 0) == -1)
		return perror("waitpid"), 1;
	if (len == 0)
		printf("report: -\n");
	else if (broker)
		printf("report: %.*s\n", (int)len, (const char *)buf);
	else
		printf("report: %s\n", engine_name(buf, len));
	if (WIFSIGNALED(status))
		printf("end: signal %s\n", sigabbrev_np(WTERMSIG(status)));
	else
		printf("end: exit %d\n", WEXITSTATUS(status));
	return 0;
}
