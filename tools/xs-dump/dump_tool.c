// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-dump FILE: the running store as a xenstore migration stream,
 * the format Xen's daemons use for live update. This, the privileged
 * parent, only moves bytes: it copies the broker's state (dump_state.c),
 * opens the output, and starts a child that parses the copy in the
 * engine's sandbox (dump_parse.c), whose confinement it checks with the
 * kernel (dump_check.c) before the child reads a byte of it. The child's
 * words reach the terminal through the parent, printable bytes only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump_tool.h"
#include "engine_user.h"

/* The most of the child's words that are printed. */
#define SAID_MAX 2048

static int
engine_ids(uid_t *uid, gid_t *gid)
{
	const char *name;
	struct passwd *pw;

	errno = 0;
	if ((pw = engine_user_lookup(NULL, &name)) == NULL) {
		fprintf(stderr, "xs-dump: no user \"%s\"%s%s\n", name,
			errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		fprintf(stderr,
			"xs-dump: \"%s\" has uid or gid 0; the parser must "
			"not run as root\n",
			pw->pw_name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* The child's words, line by line, as "xs-dump: parser: ...". */
static void
print_said(const char *said, size_t len)
{
	bool start = true;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)said[i];

		if (start)
			fputs("xs-dump: sandboxed parser: ", stderr);
		start = ch == '\n';
		fputc(ch == '\n' || (ch >= 0x20 && ch < 0x7f) ? ch : '?',
		      stderr);
	}
	if (!start)
		fputc('\n', stderr);
}

/* Reads what the child says until it closes the channel; keeps the start. */
static size_t
hear(int chan, char *said, size_t have)
{
	char buf[512];
	ssize_t n;

	while ((n = read(chan, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (have < SAID_MAX) {
			size_t k = (size_t)n < SAID_MAX - have
					   ? (size_t)n
					   : SAID_MAX - have;

			memcpy(said + have, buf, k);
			have += k;
		}
	}
	return have;
}

/* The child's wait status, or -1. */
static int
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

/*
 * Lets the child parse once the kernel says it is sandboxed, then waits
 * for it. Returns its exit status, 1 if it did not exit by itself.
 */
static int
supervise(pid_t pid, int chan, const struct dump_child *c, bool verbose)
{
	char said[SAID_MAX], why[256], go = DUMP_GO;
	size_t have = 0;
	ssize_t n;
	int status;

	while ((n = read(chan, said, 1)) == -1 && errno == EINTR)
		;
	if (n == 1 && said[0] == DUMP_SANDBOXED) {
		if (dump_check(pid, c->uid, c->gid, why, sizeof(why)) == -1) {
			fprintf(stderr,
				"xs-dump: the parser is not sandboxed: %s\n",
				why);
			kill(pid, SIGKILL);
			reap(pid);
			return 1;
		}
		if (verbose)
			fprintf(stderr,
				"xs-dump: parsing in process %ld as uid %u "
				"gid %u, with no capabilities, no_new_privs "
				"and a seccomp filter\n",
				(long)pid, (unsigned int)c->uid,
				(unsigned int)c->gid);
		/* A child that died must not take us with SIGPIPE. */
		send(chan, &go, 1, MSG_NOSIGNAL);
	} else if (n == 1) {
		have = 1; /* it had something else to say */
	}
	have = hear(chan, said, have);
	if ((status = reap(pid)) == -1)
		return 1;
	if (WIFSIGNALED(status)) {
		/* Its words may be the filter's report, not text. */
		fprintf(stderr, "xs-dump: the sandboxed parser died of %s%s\n",
			strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGSYS
				? " (a system call outside its filter)"
				: "");
		return 1;
	}
	print_said(said, have);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Starts the parser on the state copies and the output; returns its status. */
static int
run_parser(struct dump_child *c, bool verbose)
{
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("xs-dump: socketpair");
		return 1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		perror("xs-dump: fork");
		close(sv[0]);
		close(sv[1]);
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		c->chan = sv[1];
		dump_parse(c);
	}
	close(sv[1]);
	r = supervise(pid, sv[0], c, verbose);
	close(sv[0]);
	return r;
}

static int
write_failed(const char *file)
{
	fprintf(stderr, "xs-dump: writing %s: %s\n", file, strerror(errno));
	return 1;
}

/* Whole or not at all: written aside, then renamed. */
static int
to_file(struct dump_child *c, const char *file, bool verbose)
{
	char tmp[4200];
	int r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	c->out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (c->out == -1) {
		fprintf(stderr, "xs-dump: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	r = run_parser(c, verbose);
	if (r == 0 && fsync(c->out) != 0)
		r = write_failed(file);
	if (close(c->out) != 0 && r == 0)
		r = write_failed(file);
	if (r == 0 && rename(tmp, file) == -1)
		r = write_failed(file);
	if (r != 0)
		unlink(tmp);
	return r;
}

int
dump_tool(const char *file, long pid, bool verbose)
{
	struct dump_child c = {.chan = -1, .out = -1};
	int r;

	if (engine_ids(&c.uid, &c.gid) == -1 || dump_state(pid, c.state) == -1)
		return 1;
	if (strcmp(file, "-") == 0) {
		c.out = STDOUT_FILENO;
		r = run_parser(&c, verbose);
	} else {
		r = to_file(&c, file, verbose);
	}
	close(c.state[0]);
	close(c.state[1]);
	return r;
}
