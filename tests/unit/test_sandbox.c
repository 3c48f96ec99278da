// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's real sandbox code, applied in a child process that then
 * tries one forbidden thing. Each attempt must end in death by SIGSYS, with
 * the engine's report naming the call on the channel, never in success.
 * Needs root, as the broker does to start the engine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "engine.h"
#include "sandbox.h"
#include "xsp.pb-c.h"

#define NOBODY 65534

/* AddressSanitizer reserves terabytes of address space up front. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AS_LIMIT 0
#endif
#endif
#ifndef AS_LIMIT
#define AS_LIMIT (1u << 30)
#endif

typedef void (*attempt_fn)(int chan);

/* In the child: how the sandbox reached its empty root. */
static enum sandbox_root sandbox_root;

/* Where the child is chrooted before the sandbox, if anywhere. */
static const char *start_root;

/*
 * Forks a child that applies the sandbox with the channel on fd 3 and then
 * runs fn. Returns its pid; *chan is the parent's end of the channel.
 */
static pid_t
spawn_sandboxed(attempt_fn fn, int *chan)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sandbox_cfg cfg = {.channel = 3,
					  .state = {-1, -1},
					  .output = -1,
					  .uid = NOBODY,
					  .gid = NOBODY,
					  .as_limit = AS_LIMIT};
		struct sandbox_state st;
		char why[256];

		if (dup2(sv[1], 3) == -1)
			_exit(100);
		if (start_root != NULL &&
		    (chroot(start_root) == -1 || chdir("/") == -1))
			_exit(102);
		if (sandbox_apply(&cfg, &st, why, sizeof(why)) == -1)
			_exit(101);
		sandbox_root = st.root;
		fn(3);
		_exit(0);
	}
	close(sv[1]);
	*chan = sv[0];
	return pid;
}

/* Runs fn sandboxed; returns its wait status and the call it reported. */
static int
run_sandboxed(attempt_fn fn, int *report_nr)
{
	int chan, status;
	uint8_t buf[256];
	ssize_t n;
	pid_t pid = spawn_sandboxed(fn, &chan);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	*report_nr = -1;
	n = read(chan, buf, sizeof(buf));
	if (n > 4) {
		Xsp__EngineFrame *f =
			xsp__engine_frame__unpack(NULL, (size_t)n - 4, buf + 4);

		assert_non_null(f);
		assert_int_equal(f->n_msgs, 1);
		assert_int_equal(f->msgs[0]->msg_case,
				 XSP__TO_BROKER__MSG_VIOLATION);
		assert_int_equal(f->msgs[0]->violation->arch,
				 seccomp_arch_native());
		*report_nr = (int)f->msgs[0]->violation->syscall;
		xsp__engine_frame__free_unpacked(f, NULL);
	}
	close(chan);
	return status;
}

static void
expect_sigsys(attempt_fn fn, const char *name, const char *alt)
{
	int nr, status = run_sandboxed(fn, &nr);

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("%s: wanted death by SIGSYS, got status 0x%x", name,
			 status);
	if (nr != seccomp_syscall_resolve_name(name) &&
	    (alt == NULL || nr != seccomp_syscall_resolve_name(alt)))
		fail_msg("%s: the report named system call %d", name, nr);
}

static void
try_open(int chan)
{
	open("/etc/passwd", O_RDONLY);
}

static void
try_openat(int chan)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
}

static void
try_creat(int chan)
{
	open("/tmp/xs-sandbox-test", O_WRONLY | O_CREAT, 0600);
}

static void
try_execve(int chan)
{
	char *const argv[] = {"true", NULL};

	execve("/bin/true", argv, argv + 1);
}

static void
try_socket(int chan)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

static void
try_connect(int chan)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	connect(chan, (struct sockaddr *)&sa, sizeof(sa));
}

static void
try_ptrace(int chan)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
try_mprotect_exec(int chan)
{
	void *p = malloc(8192);
	uintptr_t page = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;

	mprotect((void *)page, 4096, PROT_READ | PROT_EXEC);
}

static void
try_mmap_exec(int chan)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	     0);
}

static void
try_fork(int chan)
{
	if (fork() == 0)
		_exit(0);
}

static pid_t test_pid;

static void
try_kill(int chan)
{
	/* Signal 0 only asks whether the pid exists: harmless if it ran. */
	kill(test_pid, 0);
}

static void
try_setuid(int chan)
{
	/* The filter kills the process in the call; glibc with
	 * _FORTIFY_SOURCE still wants its result taken. */
	int r = setuid(0);

	(void)r;
}

static void
test_forbidden(void **state)
{
	expect_sigsys(try_open, "openat", "open");
	expect_sigsys(try_openat, "openat", NULL);
	expect_sigsys(try_creat, "openat", "open");
	expect_sigsys(try_execve, "execve", NULL);
	expect_sigsys(try_socket, "socket", NULL);
	expect_sigsys(try_connect, "connect", NULL);
	expect_sigsys(try_ptrace, "ptrace", NULL);
	expect_sigsys(try_mprotect_exec, "mprotect", NULL);
	expect_sigsys(try_mmap_exec, "mmap", NULL);
	expect_sigsys(try_fork, "clone", "clone3");
	test_pid = getpid();
	expect_sigsys(try_kill, "kill", NULL);
	expect_sigsys(try_setuid, "setuid", NULL);
}

/* What the engine does all day must still work under the filter. */
static void
do_work(int chan)
{
	char *big, *small = malloc(100);
	char b;

	big = malloc(1 << 20);       /* mmap */
	big = realloc(big, 4 << 20); /* mremap */
	memset(big, 1, 4 << 20);
	free(big); /* munmap */
	free(small);
	if (write(chan, "ok", 2) != 2 || read(chan, &b, 1) != 0)
		_exit(3);
	_exit(0);
}

static void
test_allowed(void **state)
{
	int chan, status;
	char buf[2];
	pid_t pid = spawn_sandboxed(do_work, &chan);

	assert_int_equal(read(chan, buf, 2), 2);
	assert_memory_equal(buf, "ok", 2);
	close(chan);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A snapshot lists the domains the engine knows, sorted by id: glibc's
 * qsort asks the kernel how much memory there is (sysinfo) once the array
 * passes 1 KiB, 128 domains, which the filter forbids.
 */
#define MANY_DOMAINS 300
static struct engine *many;

static void
list_domains(int chan)
{
	size_t i, n;
	struct domain **v = domain_list(many, &n);

	if (v == NULL || n != many->doms.used)
		_exit(5);
	for (i = 1; i < n; i++)
		if (v[i - 1]->domid >= v[i]->domid)
			_exit(6);
	free(v);
	_exit(0);
}

static void
test_many_domains(void **state)
{
	int nr, status;
	uint32_t i;

	many = engine_new(NULL, NULL, NULL);
	assert_non_null(many);
	for (i = 0; i < MANY_DOMAINS; i++)
		assert_non_null(
			domain_get(many, (i * 7919u) % 32000u + 1, true));
	status = run_sandboxed(list_domains, &nr);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("domain_list of %d domains: status 0x%x, system call "
			 "%d",
			 MANY_DOMAINS, status, nr);
	engine_free(many);
}

/* Waits while the parent reads /proc/<pid>/status, then leaves. */
static void
report_status(int chan)
{
	char b;

	if (write(chan, "r", 1) != 1 || read(chan, &b, 1) != 1)
		_exit(4);
	_exit(0);
}

static void
status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], buf[8192], *p, *e;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strstr(buf, key);
	assert_non_null(p);
	p += strlen(key);
	while (*p == '\t' || *p == ' ')
		p++;
	e = strchr(p, '\n');
	snprintf(out, len, "%.*s", (int)(e - p), p);
}

static void
test_status(void **state)
{
	int chan, status;
	char buf[1], v[128];
	pid_t pid = spawn_sandboxed(report_status, &chan);

	assert_int_equal(read(chan, buf, 1), 1);
	status_field(pid, "Uid:", v, sizeof(v));
	assert_string_equal(v, "65534\t65534\t65534\t65534");
	status_field(pid, "Gid:", v, sizeof(v));
	assert_string_equal(v, "65534\t65534\t65534\t65534");
	status_field(pid, "Groups:", v, sizeof(v));
	assert_string_equal(v, "");
	status_field(pid, "CapEff:", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapPrm:", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapBnd:", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapAmb:", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "NoNewPrivs:", v, sizeof(v));
	assert_string_equal(v, "1");
	status_field(pid, "Seccomp:", v, sizeof(v));
	assert_string_equal(v, "2");
	assert_int_equal(write(chan, "x", 1), 1);
	close(chan);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Tells the parent how the root was reached, then waits while it looks. */
static void
report_root(int chan)
{
	char b = (char)sandbox_root;

	if (write(chan, &b, 1) != 1 || read(chan, &b, 1) != 1)
		_exit(4);
	_exit(0);
}

/* Checks the child's root holds nothing; returns how it got there. */
static enum sandbox_root
root_of_sandboxed(void)
{
	int chan, status, n = 0;
	char b, path[64];
	struct dirent *e;
	DIR *d;
	pid_t pid = spawn_sandboxed(report_root, &chan);

	if (read(chan, &b, 1) != 1) {
		assert_int_equal(waitpid(pid, &status, 0), pid);
		fail_msg("the sandbox failed: status 0x%x", status);
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	assert_int_equal(n, 0);
	assert_int_equal(write(chan, "x", 1), 1);
	close(chan);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return (enum sandbox_root)b;
}

static void
test_root_pivoted(void **state)
{
	assert_int_equal(root_of_sandboxed(), SANDBOX_ROOT_PIVOT);
}

/*
 * Started where the root cannot be pivoted away (a root that is not a
 * mount point, as inside a chroot; an initramfs refuses the same way) and
 * with no /tmp: the engine still reaches an empty root, by chroot.
 */
static void
test_root_unpivotable(void **state)
{
	char dir[] = "/tmp/xs-sandbox-root.XXXXXX";

	assert_non_null(mkdtemp(dir));
	start_root = dir;
	assert_int_equal(root_of_sandboxed(), SANDBOX_ROOT_CHROOT);
	start_root = NULL;
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_many_domains),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_root_pivoted),
		cmocka_unit_test(test_root_unpivotable),
	};

	if (geteuid() != 0) {
		fprintf(stderr,
			"test_sandbox: needs root, as xs-broker does\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
