// SPDX-License-Identifier: GPL-2.0-only
/*
 * The spawner, run for real in a child, fed what a broken or subverted
 * broker might send: it answers what it may (a live update's binary that
 * is not one is refused, and it goes on), and leaves on anything out of
 * shape, without running anything: a START the spawner accepted would
 * show as STARTED before the end of the channel. One update it must
 * accept shows that the refusals are the checks', not a spawner that
 * runs nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"

/* How long the spawner has to answer or leave, in ms. */
#define DEADLINE_MS 10000

static char *const engine_args[] = {"engine", "--fd", "3", NULL};
/*
 * A whole command line, so that the engine a test starts waits on its
 * channel instead of leaving at once with a usage error (before the test
 * has read its command line).
 */
static char *const sandbox_args[] = {
	"--uid", "65534", "--gid", "65534", "--unsafe-no-sandbox", NULL};
static char tmpdir[64];

struct spawner {
	pid_t pid;
	int sock;
};

static struct spawner
spawner_start(void)
{
	static struct spawner_cfg cfg;
	struct spawner s;
	int sv[2];

	memset(&cfg, 0, sizeof(cfg));
	cfg.engine = "/bin/true";
	cfg.args = engine_args;
	cfg.sandbox = sandbox_args;
	cfg.sandboxed = 0;
	cfg.state_fd[0] = fd_above(memfd_create("xs-state-a", MFD_CLOEXEC));
	cfg.state_fd[1] = fd_above(memfd_create("xs-state-b", MFD_CLOEXEC));
	assert_int_equal(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	s.pid = fork();
	assert_true(s.pid != -1);
	if (s.pid == 0) {
		close(sv[0]);
		spawner_main(&cfg, sv[1], 1);
	}
	close(sv[1]);
	close(cfg.state_fd[0]);
	close(cfg.state_fd[1]);
	s.sock = sv[0];
	return s;
}

/* The next message, or 0 at the end of the channel; never STARTED. */
static ssize_t
next_msg(struct spawner *s, void *buf, size_t size)
{
	struct pollfd p = {s->sock, POLLIN, 0};
	int fds[SPAWN_FDS_MAX], nfds;
	struct spawn_hdr h;
	ssize_t n;

	assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
	n = spawn_recv(s->sock, buf, size, fds, &nfds);
	assert_true(n >= 0);
	spawn_close_fds(fds, nfds);
	if (n > 0) {
		memcpy(&h, buf, sizeof(h));
		assert_int_not_equal(h.type, SPAWN_STARTED);
	}
	return n;
}

/* The spawner leaves, with status 1, having started nothing. */
static void
expect_refusal(struct spawner *s)
{
	char buf[SPAWN_MSG_MAX];
	int status;

	assert_int_equal(next_msg(s, buf, sizeof(buf)), 0);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(s->sock);
}

static void
send_raw(struct spawner *s, const void *m, size_t len)
{
	assert_int_equal(spawn_send(s->sock, m, len, NULL, 0), 0);
}

static void
start_msg(struct spawn_start *m, uint32_t binary, char *const words[])
{
	size_t i, len;

	memset(m, 0, sizeof(*m));
	m->h.type = SPAWN_START;
	m->h.len = sizeof(*m);
	m->binary = binary;
	for (i = 0; words != NULL && words[i] != NULL; i++) {
		len = strlen(words[i]) + 1;
		memcpy(m->args + m->args_len, words[i], len);
		m->args_len += (uint32_t)len;
		m->nargs++;
	}
}

/* UPDATE_FILE of path: the errno it is answered with. */
static int
update_file(struct spawner *s, const char *path)
{
	static struct spawn_update_file m;
	struct spawn_update_result r;

	memset(&m, 0, sizeof(m));
	m.h.type = SPAWN_UPDATE_FILE;
	m.h.len = sizeof(m);
	m.path_len = (uint32_t)strlen(path);
	memcpy(m.path, path, m.path_len);
	send_raw(s, &m, sizeof(m));
	assert_int_equal(next_msg(s, &r, sizeof(r)), sizeof(r));
	assert_int_equal(r.h.type, SPAWN_UPDATE_FILE_RESULT);
	return r.err;
}

static void
shutdown_ok(struct spawner *s)
{
	struct spawn_hdr m = {SPAWN_SHUTDOWN, sizeof(m)};
	char buf[SPAWN_MSG_MAX];
	int status;

	send_raw(s, &m, sizeof(m));
	assert_int_equal(next_msg(s, buf, sizeof(buf)), 0);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(s->sock);
}

/* The engine built beside this test: build/tests/.. /bin/xs-engine. */
static const char *
built_engine(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../bin/xs-engine", dirname(exe));
	return path;
}

static void
test_wrong_size(void **state)
{
	static struct spawn_start m;
	struct spawner s = spawner_start();

	start_msg(&m, SPAWN_RUN_CURRENT, NULL);
	send_raw(&s, &m, sizeof(m) - 1);
	expect_refusal(&s);
}

static void
test_header_says_other_size(void **state)
{
	struct spawn_stop m = {{SPAWN_STOP, sizeof(m) + 4}, SPAWN_STOP_TERM};
	struct spawner s = spawner_start();

	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_unknown_type(void **state)
{
	struct spawn_hdr m = {77, sizeof(m)};
	struct spawner s = spawner_start();

	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_short_message(void **state)
{
	uint32_t type = SPAWN_SHUTDOWN;
	struct spawner s = spawner_start();

	send_raw(&s, &type, sizeof(type));
	expect_refusal(&s);
}

static void
test_message_with_fd(void **state)
{
	struct spawn_hdr m = {SPAWN_AUDIT_OPEN, sizeof(m)};
	struct spawner s = spawner_start();
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_int_equal(spawn_send(s.sock, &m, sizeof(m), &fd, 1), 0);
	close(fd);
	expect_refusal(&s);
}

static void
test_stop_unknown_signal(void **state)
{
	struct spawn_stop m = {{SPAWN_STOP, sizeof(m)}, 9};
	struct spawner s = spawner_start();

	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_path_without_its_nul(void **state)
{
	static struct spawn_update_file m;
	struct spawner s = spawner_start();

	memset(&m, 'a', sizeof(m));
	m.h.type = SPAWN_UPDATE_FILE;
	m.h.len = sizeof(m);
	m.path_len = 4;
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_words_without_their_nul(void **state)
{
	static struct spawn_start m;
	char *const words[] = {"-E", "100", NULL};
	struct spawner s = spawner_start();

	assert_int_equal(update_file(&s, built_engine()), 0);
	start_msg(&m, SPAWN_RUN_UPDATE, words);
	m.args_len--;
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_too_many_words(void **state)
{
	static struct spawn_start m;
	struct spawner s = spawner_start();

	assert_int_equal(update_file(&s, built_engine()), 0);
	start_msg(&m, SPAWN_RUN_UPDATE, NULL);
	m.nargs = SPAWN_ARGS_MAX + 1;
	memset(m.args, 0, m.nargs);
	m.args_len = m.nargs;
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

/* Words the broker never passes on: each makes the spawner leave. */
static void
expect_words_refused(char *const words[])
{
	static struct spawn_start m;
	struct spawner s = spawner_start();

	assert_int_equal(update_file(&s, built_engine()), 0);
	start_msg(&m, SPAWN_RUN_UPDATE, words);
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_words_outside_the_allow_list(void **state)
{
	char *const no_sandbox[] = {"--unsafe-no-sandbox", NULL};
	char *const uid[] = {"--uid", "0", NULL};
	char *const gid[] = {"-E", "5", "--gid", "0", NULL};
	char *const as[] = {"--as-limit", "0", NULL};
	char *const fd[] = {"--fd", "0", NULL};
	char *const state_fd[] = {"--state-fd", "0", NULL};
	char *const dump[] = {"--dump", "/etc/shadow", NULL};
	char *const value[] = {"-E", "--uid", NULL};
	char *const prefix[] = {"--unsafe", NULL};

	expect_words_refused(no_sandbox);
	expect_words_refused(uid);
	expect_words_refused(gid);
	expect_words_refused(as);
	expect_words_refused(fd);
	expect_words_refused(state_fd);
	expect_words_refused(dump);
	expect_words_refused(value);
	expect_words_refused(prefix);
}

static void
test_words_only_for_an_update(void **state)
{
	static struct spawn_start m;
	char *const words[] = {"-E", "100", NULL};
	struct spawner s = spawner_start();

	start_msg(&m, SPAWN_RUN_CURRENT, words);
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_update_without_a_checked_file(void **state)
{
	static struct spawn_start m;
	struct spawner s = spawner_start();

	start_msg(&m, SPAWN_RUN_UPDATE, NULL);
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_previous_without_an_update(void **state)
{
	static struct spawn_start m;
	struct spawner s = spawner_start();

	start_msg(&m, SPAWN_RUN_PREVIOUS, NULL);
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
}

static void
test_update_file_refusals(void **state)
{
	struct spawner s = spawner_start();
	static struct spawn_start m;
	char fifo[128], link[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xs-spawner-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(mkfifo(fifo, 0700), 0);
	assert_int_equal(symlink(built_engine(), link), 0);
	/* A FIFO would block an open for reading: it is never opened. */
	assert_int_equal(update_file(&s, fifo), EINVAL);
	assert_int_equal(update_file(&s, link), EINVAL);
	assert_int_equal(update_file(&s, "/bin/true"), ENOEXEC);
	assert_int_equal(update_file(&s, "/nonexistent/xs-engine"), ENOENT);
	/* None of them became the next binary. */
	start_msg(&m, SPAWN_RUN_UPDATE, NULL);
	send_raw(&s, &m, sizeof(m));
	expect_refusal(&s);
	unlink(fifo);
	unlink(link);
	rmdir(tmpdir);
}

/* Without Xen (cfg.xen 0) no domain exists; the answer still has its shape. */
static void
test_dominfo_without_xen(void **state)
{
	struct spawner s = spawner_start();
	struct spawn_dominfo_req q = {{SPAWN_DOMINFO, sizeof(q)}, 1};
	static struct spawn_dominfo r;

	send_raw(&s, &q, sizeof(q));
	assert_int_equal(next_msg(&s, &r, sizeof(r)), sizeof(r));
	assert_int_equal(r.h.type, SPAWN_DOMINFO_LIST);
	assert_int_equal(r.n, 0);
	shutdown_ok(&s);
}

/* A domain id no domain can have is the broker's error, not a question. */
static void
test_dominfo_past_the_last_domain(void **state)
{
	struct spawner s = spawner_start();
	struct spawn_dominfo_req q = {{SPAWN_DOMINFO, sizeof(q)},
				      XS_DOMID_FIRST_RESERVED};

	send_raw(&s, &q, sizeof(q));
	expect_refusal(&s);
}

/* The broker's last word is logged; the spawner goes on until the end. */
static void
test_violation_is_no_refusal(void **state)
{
	struct spawner s = spawner_start();
	struct spawn_violation v = {{SPAWN_VIOLATION, sizeof(v)}, 59, 0, 0};

	send_raw(&s, &v, sizeof(v));
	shutdown_ok(&s);
}

static void
test_refusals_leave_it_serving(void **state)
{
	struct spawner s = spawner_start();

	assert_int_equal(update_file(&s, "/bin/true"), ENOEXEC);
	assert_int_equal(update_file(&s, built_engine()), 0);
	shutdown_ok(&s);
}

/* The words of pid's command line, NUL-separated, into buf. */
static size_t
cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	n = read(fd, buf, size);
	close(fd);
	assert_true(n > 0);
	return (size_t)n;
}

/*
 * What the allow-list lets through runs: the checked binary, the broker's
 * options, the update's words, and the sandbox's options last.
 */
static void
test_allowed_update_runs(void **state)
{
	static const char want[] = "--fd\0003\0-E\000100\0-K\0--uid\00065534"
				   "\0--gid\00065534\0--unsafe-no-sandbox";
	static struct spawn_start m;
	char *const words[] = {"-E", "100", "-K", NULL};
	struct spawner s = spawner_start();
	int fds[SPAWN_FDS_MAX], nfds;
	struct pollfd p = {s.sock, POLLIN, 0};
	struct spawn_pid r;
	char argv[512];
	size_t n;

	assert_int_equal(update_file(&s, built_engine()), 0);
	start_msg(&m, SPAWN_RUN_UPDATE, words);
	send_raw(&s, &m, sizeof(m));
	assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
	assert_int_equal(spawn_recv(s.sock, &r, sizeof(r), fds, &nfds),
			 sizeof(r));
	assert_int_equal(r.h.type, SPAWN_STARTED);
	assert_int_equal(nfds, 1);
	n = cmdline(r.pid, argv, sizeof(argv));
	assert_true(n > sizeof(want));
	assert_memory_equal(argv + n - sizeof(want), want, sizeof(want));
	/* The end of its channel ends it; the spawner says so. */
	close(fds[0]);
	assert_int_equal(next_msg(&s, &r, sizeof(r)), sizeof(r));
	assert_int_equal(r.h.type, SPAWN_EXITED);
	shutdown_ok(&s);
}

static void
test_end_of_channel(void **state)
{
	struct spawner s = spawner_start();
	int status;

	close(s.sock);
	assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrong_size),
		cmocka_unit_test(test_dominfo_without_xen),
		cmocka_unit_test(test_dominfo_past_the_last_domain),
		cmocka_unit_test(test_violation_is_no_refusal),
		cmocka_unit_test(test_header_says_other_size),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_short_message),
		cmocka_unit_test(test_message_with_fd),
		cmocka_unit_test(test_stop_unknown_signal),
		cmocka_unit_test(test_path_without_its_nul),
		cmocka_unit_test(test_words_without_their_nul),
		cmocka_unit_test(test_too_many_words),
		cmocka_unit_test(test_words_outside_the_allow_list),
		cmocka_unit_test(test_words_only_for_an_update),
		cmocka_unit_test(test_update_without_a_checked_file),
		cmocka_unit_test(test_previous_without_an_update),
		cmocka_unit_test(test_update_file_refusals),
		cmocka_unit_test(test_refusals_leave_it_serving),
		cmocka_unit_test(test_allowed_update_runs),
		cmocka_unit_test(test_end_of_channel),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
