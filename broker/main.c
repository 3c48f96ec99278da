// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-broker: options, the order in which things are opened, daemonising and
 * shutdown. Options are those of C xenstored where they exist; the broker
 * checks every value and hands the engine's own options over verbatim.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"

#define RUNDIR_DEFAULT "/var/run/xenstored"
/* The broker's own user, which must exist (scripts/users.sh makes it). */
#define BROKER_USER_DEFAULT "xs-broker"
/* The engine's user: its own if the system has one, else nobody. */
#define ENGINE_USER_DEFAULT "xs-engine"
#define ENGINE_USER_FALLBACK "nobody"
/* The engine's address space, 4 GiB: the store of a big host fits. */
#define ENGINE_AS_LIMIT_DEFAULT 4294967296ull

enum {
	OPT_SOCKET_ONLY = 256,
	OPT_ENGINE,
	OPT_XSD_KVA,
	OPT_XSD_PORT,
	OPT_SPIN_US,
	OPT_CONN_ID_START,
	OPT_ENGINE_USER,
	OPT_ENGINE_AS_LIMIT,
	OPT_UNSAFE_NO_SANDBOX,
	OPT_PRINT_POLICY,
	OPT_AUDIT_LOG,
	OPT_AUDIT_SYSLOG,
	OPT_AUDIT_POLICY,
	OPT_AUDIT_KEY,
	OPT_ENGINE_RESTARTS,
	OPT_RESTORE,
	OPT_BROKER_USER,
	OPT_UNSAFE_BROKER_ROOT,
};

static const struct option longopts[] = {
	{"no-domain-init", no_argument, NULL, 'D'},
	{"entry-nb", required_argument, NULL, 'E'},
	{"pid-file", required_argument, NULL, 'F'},
	{"help", no_argument, NULL, 'H'},
	{"keep-orphans", no_argument, NULL, 'K'},
	{"no-fork", no_argument, NULL, 'N'},
	{"output-pid", no_argument, NULL, 'P'},
	{"entry-size", required_argument, NULL, 'S'},
	{"transaction", required_argument, NULL, 't'},
	{"perm-nb", required_argument, NULL, 'A'},
	{"path-max", required_argument, NULL, 'M'},
	{"quota", required_argument, NULL, 'Q'},
	{"quota-soft", required_argument, NULL, 'q'},
	{"timeout", required_argument, NULL, 'w'},
	{"watch-nb", required_argument, NULL, 'W'},
	{"verbose", no_argument, NULL, 'V'},
	{"socket-only", no_argument, NULL, OPT_SOCKET_ONLY},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"xsd-kva", required_argument, NULL, OPT_XSD_KVA},
	{"xsd-port", required_argument, NULL, OPT_XSD_PORT},
	{"spin-us", required_argument, NULL, OPT_SPIN_US},
	{"conn-id-start", required_argument, NULL, OPT_CONN_ID_START},
	{"engine-user", required_argument, NULL, OPT_ENGINE_USER},
	{"engine-as-limit", required_argument, NULL, OPT_ENGINE_AS_LIMIT},
	{"unsafe-no-sandbox", no_argument, NULL, OPT_UNSAFE_NO_SANDBOX},
	{"print-policy", no_argument, NULL, OPT_PRINT_POLICY},
	{"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
	{"audit-syslog", no_argument, NULL, OPT_AUDIT_SYSLOG},
	{"audit-policy", required_argument, NULL, OPT_AUDIT_POLICY},
	{"audit-key", required_argument, NULL, OPT_AUDIT_KEY},
	{"engine-restarts", required_argument, NULL, OPT_ENGINE_RESTARTS},
	{"restore", required_argument, NULL, OPT_RESTORE},
	{"broker-user", required_argument, NULL, OPT_BROKER_USER},
	{"unsafe-broker-root", no_argument, NULL, OPT_UNSAFE_BROKER_ROOT},
	{NULL, 0, NULL, 0},
};
/* The leading colon makes a missing value return it rather than a "?". */
static const char shortopts[] = ":DE:F:HKNPS:t:A:M:Q:q:w:W:V";

/* The names -Q, -q and -w accept before '=', as C xenstored 4.17 has them. */
static const char *const quota_names[] = {"transaction-nodes", "memory",
					  "outstanding", NULL};
static const char *const quota_soft_names[] = {"memory", NULL};
static const char *const timeout_names[] = {"watch-event", NULL};

static void usage(FILE *, int) __attribute__((noreturn));
static void bad_option(const char *, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static char *pidfile;
static int pidfile_written;

static void
usage(FILE *f, int status)
{
	fprintf(f,
		"usage: " BROKER_NAME " [options]\n"
		"\n"
		"  -N, --no-fork             stay in the foreground, log to "
		"stderr\n"
		"  -F, --pid-file FILE       write the daemon's pid to FILE\n"
		"  -P, --output-pid          print the daemon's pid on stdout\n"
		"  -D, --no-domain-init      do not serve dom0's ring (its "
		"sockets only)\n"
		"  -K, --keep-orphans        keep the nodes of a domain that "
		"is gone\n"
		"  -E, --entry-nb N          nodes per domain\n"
		"  -S, --entry-size N        bytes per node\n"
		"  -W, --watch-nb N          watches per domain\n"
		"  -t, --transaction N       open transactions per connection\n"
		"  -A, --perm-nb N           permissions per node\n"
		"  -M, --path-max N          path length below a domain's "
		"home\n"
		"  -Q, --quota WHAT=N        WHAT: transaction-nodes, memory, "
		"outstanding\n"
		"  -q, --quota-soft memory=N warn above N bytes per domain\n"
		"  -w, --timeout watch-event=SECONDS\n"
		"                            drop watch events unread this long"
		" (0: never)\n"
		"  -V, --verbose             log debug messages\n"
		"  -H, --help                print this message\n"
		"      --socket-only         serve the Unix sockets only, "
		"without Xen\n"
		"      --spin-us N           broker and engine look for more "
		"work N us before\n"
		"                            sleeping (default 50; 0: never)\n"
		"      --xsd-kva PATH        dom0's ring page "
		"(default /proc/xen/xsd_kva)\n"
		"      --xsd-port PATH       dom0's event channel port "
		"(default /proc/xen/xsd_port)\n"
		"      --engine PATH         the engine binary "
		"(default: " ENGINE_NAME " next to " BROKER_NAME ")\n"
		"      --engine-user NAME    the engine's user\n"
		"                            (default: " ENGINE_USER_DEFAULT
		" if it exists, else " ENGINE_USER_FALLBACK ")\n"
		"      --engine-as-limit BYTES\n"
		"                            the engine's address space\n"
		"                            (default 4294967296; 0: none)\n"
		"      --engine-restarts N   past N restarts in any 60 s, "
		"restart a dead\n"
		"                            engine only every 5 s (default "
		"10)\n"
		"      --restore FILE        start from a dump (xs-engine "
		"--dump, "
		"a xenstore\n"
		"                            migration stream); refused if "
		"corrupt\n"
		"      --unsafe-no-sandbox   the engine runs unconfined\n"
		"                            (development only)\n"
		"      --broker-user NAME    the broker's user once it serves "
		"(default " BROKER_USER_DEFAULT ")\n"
		"      --unsafe-broker-root  the broker stays root, without "
		"capabilities\n"
		"                            (development only)\n"
		"      --conn-id-start N     the first connection id (tests of "
		"their reuse)\n"
		"      --print-policy        print what each process runs "
		"with\n"
		"      --audit-log FILE      record every request, reply, "
		"watch event and\n"
		"                            connection in FILE (JSON lines; "
		"reopened on SIGHUP)\n"
		"      --audit-syslog        send the same records to syslog "
		"(authpriv)\n"
		"      --audit-policy FILE   what to record (default: the "
		"built-in\n"
		"                            policy/audit.policy; re-read on "
		"SIGHUP)\n"
		"      --audit-key FILE      hash values kept out of the log "
		"with HMAC-SHA256\n"
		"                            under the key in FILE (mode "
		"600; re-read on SIGHUP)\n"
		"\n"
		"The sockets are $XENSTORED_RUNDIR/socket and socket_ro "
		"(default " RUNDIR_DEFAULT ").\n"
		"SIGHUP reopens the audit log and re-reads its key and policy; "
		"SIGUSR1 logs its status and counters.\n");
	exit(status);
}

static void
bad_option(const char *fmt, ...)
{
	va_list ap;

	fputs(BROKER_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	exit(2);
}

/* A count or size as C xenstored takes it: decimal, 0 to INT_MAX. */
static long
parse_count(int opt, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    v > INT_MAX)
		bad_option("-%c: \"%s\" is not a number from 0 to %d", opt, arg,
			   INT_MAX);
	return v;
}

/* WHAT=N with WHAT from names. Returns N. */
static long
parse_named(int opt, const char *arg, const char *const names[])
{
	const char *eq = strchr(arg, '=');
	size_t i;

	if (eq == NULL)
		bad_option("-%c: \"%s\" is not of the form WHAT=N", opt, arg);
	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == (size_t)(eq - arg) &&
		    strncmp(names[i], arg, (size_t)(eq - arg)) == 0)
			break;
	if (names[i] == NULL)
		bad_option("-%c: unknown name \"%.*s\"", opt, (int)(eq - arg),
			   arg);
	return parse_count(opt, eq + 1);
}

static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *s;

	if (path[0] == '/')
		s = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("getcwd");
	else if (asprintf(&s, "%s/%s", cwd, path) == -1)
		s = NULL;
	if (s == NULL)
		fatal("path");
	return s;
}

static unsigned long long
parse_bytes(const char *opt, const char *arg)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0)
		bad_option("%s: \"%s\" is not a number of bytes", opt, arg);
	return v;
}

/*
 * The engine cannot read /etc/passwd: its user is resolved here. It must not
 * be root, or the sandbox would keep the one thing it exists to take away.
 */
static void
engine_user(struct engine_opts *eo, const char *name)
{
	struct passwd *pw;

	errno = 0;
	if (name != NULL)
		pw = getpwnam(name);
	else if ((pw = getpwnam(ENGINE_USER_DEFAULT)) == NULL)
		pw = getpwnam(name = ENGINE_USER_FALLBACK);
	if (pw == NULL)
		bad_option("--engine-user: no user \"%s\"%s%s",
			   name ? name : ENGINE_USER_DEFAULT, errno ? ": " : "",
			   errno ? strerror(errno) : "");
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		bad_option("--engine-user: \"%s\" has uid or gid 0; the engine "
			   "must not run as root",
			   pw->pw_name);
	if ((eo->user = strdup(pw->pw_name)) == NULL)
		fatal("strdup");
	eo->uid = pw->pw_uid;
	eo->gid = pw->pw_gid;
}

/*
 * The broker's own user, resolved while /etc/passwd can be read: never
 * root, never the engine's (a subverted engine could then signal or trace
 * the broker). A broker not started as root has no user to switch to.
 */
static void
broker_user(struct broker_user *bu, const char *name, int stay_root,
	    const struct engine_opts *eo)
{
	struct passwd *pw;

	bu->name = name != NULL ? name : BROKER_USER_DEFAULT;
	bu->stay_root = stay_root || geteuid() != 0;
	if (bu->stay_root)
		return;
	errno = 0;
	if ((pw = getpwnam(bu->name)) == NULL)
		bad_option(
			"--broker-user: no user \"%s\"%s%s; create it with "
			"scripts/users.sh (useradd --system --no-create-home "
			"--home-dir /nonexistent --shell /usr/sbin/nologin "
			"%s), or develop with --unsafe-broker-root",
			bu->name, errno ? ": " : "",
			errno ? strerror(errno) : "", bu->name);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		bad_option("--broker-user: \"%s\" has uid or gid 0; the broker "
			   "must not keep root",
			   pw->pw_name);
	if (pw->pw_uid == eo->uid)
		bad_option("--broker-user: \"%s\" is also the engine's user "
			   "(uid %lu); the two must differ",
			   pw->pw_name, (unsigned long)pw->pw_uid);
	if ((bu->name = strdup(pw->pw_name)) == NULL)
		fatal("strdup");
	bu->uid = pw->pw_uid;
	bu->gid = pw->pw_gid;
}

/* xs-engine lives next to xs-broker unless --engine says otherwise. */
static char *
engine_default(void)
{
	char exe[PATH_MAX];
	char *s;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		fatal("readlink /proc/self/exe");
	exe[n] = '\0';
	if (asprintf(&s, "%s/" ENGINE_NAME, dirname(exe)) == -1)
		fatal("engine path");
	return s;
}

/* The daemon must not hand out fds 0-2 to sockets it opens later. */
static void
stdio_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd == -1)
		fatal("/dev/null");
	close(fd);
}

static int
null_open(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	return fd;
}

/* fd is /dev/null, opened before the seccomp filter. */
static void
stdio_null(int fd)
{
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		fatal("dup2");
	close(fd);
}

/*
 * Forks into the background. The parent stays until the daemon serves (or
 * fails), so that whoever started it can use the sockets once it returns.
 * Returns the fd on which the daemon says it is ready.
 */
static int
daemonise(int verbose)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;
	char c;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe2");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		if (n == 1)
			_exit(0);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0
			      ? WEXITSTATUS(status)
			      : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	log_init(0, verbose);
	return p[1];
}

static void
pidfile_write(void)
{
	int fd;

	if (pidfile == NULL)
		return;
	if ((fd = open(pidfile,
		       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		       0644)) == -1)
		fatal("%s", pidfile);
	pidfile_written = 1;
	if (dprintf(fd, "%ld\n", (long)getpid()) < 0 || close(fd) == -1)
		fatal("%s", pidfile);
}

/*
 * Whatever ends the daemon, it leaves no sockets, pid file or engine: the
 * spawner removes them once it runs, since the broker may not.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BROKER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BROKER_ASAN 1
#endif

static void
cleanup(void)
{
#ifdef BROKER_ASAN
	/*
	 * LeakSanitizer's check, after this, stops the process with ptrace
	 * from a clone of it, which a non-dumpable process refuses. Sanitizer
	 * builds only; policy/broker-sanitizer.seccomp lets this through.
	 */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	if (spawn_running()) {
		engine_stop();
		return;
	}
	listen_unlink();
	if (pidfile_written && unlink(pidfile) == -1 && errno != ENOENT)
		log_warn("unlink %s", pidfile);
	pidfile_written = 0;
}

/* SIGHUP: the spawner opens the audit files again; the broker may not. */
static void
audit_reopen(void)
{
	int fds[SPAWN_AUDIT_N], errs[SPAWN_AUDIT_N];

	if (!audit_enabled())
		return;
	spawn_audit_open(fds, errs);
	audit_reload(fds, errs);
}

static void
signal_event(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	const char *name;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			audit_reopen();
			break;
		case SIGUSR1:
			status_log();
			audit_stats();
			break;
		case SIGTERM:
		case SIGINT:
			name = sigabbrev_np((int)si.ssi_signo);
			log_info("SIG%s: shutting down", name ? name : "?");
			exit(0);
		}
	}
}

static void
signal_setup(void)
{
	static struct bevent ev;
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	loop_add(&ev, fd, EPOLLIN, signal_event, NULL);
}

int
main(int argc, char *argv[])
{
	struct engine_opts eo = {.as_limit = ENGINE_AS_LIMIT_DEFAULT,
				 .sandboxed = 1};
	struct xen_handles xh;
	struct guest_opts go = {0, 0, "/proc/xen/xsd_kva",
				"/proc/xen/xsd_port"};
	struct spawner_cfg sc = {0};
	struct broker_user bu;
	const char *rundir_env, *euser = NULL, *buser = NULL;
	char **eargv, *sandbox[8], *engine = NULL, *rundir;
	char *audit_log = NULL, *audit_policy = NULL, *audit_key = NULL;
	int audit_syslog = 0;
	int ch, eargc = 0, no_fork = 0, output_pid = 0, verbose = 0;
	int socket_only = 0, ready_fd = -1, print_policy = 0, broker_root = 0;
	int null_fd;
	int nsandbox = 0;
	long watch_timeout = WATCH_EVENT_TIMEOUT_DEFAULT;
	unsigned int engine_restarts = ENGINE_RESTARTS_DEFAULT;
	uint32_t conn_id_start = 1;
	const char *restore = NULL;

	/*
	 * Room for the engine's name, --fd 3, --state-fd 4 --state-fd 5,
	 * every option and its value; the sandbox's options are apart, since
	 * the spawner puts them last.
	 */
	if ((eargv = calloc((size_t)argc * 2 + 16, sizeof(*eargv))) == NULL)
		fatal("calloc");
	eargv[eargc++] = NULL; /* the engine path, once known */
	eargv[eargc++] = "--fd";
	eargv[eargc++] = "3";
	/* Where it keeps its store across restarts (engine_life.c). */
	eargv[eargc++] = "--state-fd";
	eargv[eargc++] = "4";
	eargv[eargc++] = "--state-fd";
	eargv[eargc++] = "5";

	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'D':
			go.no_dom0 = 1;
			break;
		case 'N':
			no_fork = 1;
			break;
		case 'F':
			pidfile = absolute(optarg);
			break;
		case 'P':
			output_pid = 1;
			break;
		case 'H':
			usage(stdout, 0);
		case 'E':
		case 'S':
		case 'W':
		case 't':
		case 'A':
		case 'M':
			parse_count(ch, optarg);
			goto pass_value;
		case 'Q':
			if (strncmp(optarg, "outstanding=", 12) == 0)
				conn_set_outstanding((unsigned int)parse_named(
					ch, optarg, quota_names));
			else
				parse_named(ch, optarg, quota_names);
			goto pass_value;
		case 'q':
			parse_named(ch, optarg, quota_soft_names);
			goto pass_value;
		case 'w':
			watch_timeout = parse_named(ch, optarg, timeout_names);
		pass_value:
			/* The engine gets the short form with the value. */
			if (asprintf(&eargv[eargc++], "-%c", ch) == -1)
				fatal("asprintf");
			eargv[eargc++] = optarg;
			break;
		case 'V':
			verbose = 1;
			/* FALLTHROUGH */
		case 'K':
			if (asprintf(&eargv[eargc++], "-%c", ch) == -1)
				fatal("asprintf");
			break;
		case OPT_SOCKET_ONLY:
			socket_only = 1;
			break;
		case OPT_SPIN_US: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || v > 1000000)
				bad_option(
					"--spin-us: \"%s\" is not a number of "
					"microseconds up to 1000000",
					optarg);
			loop_set_spin(v);
			/* The engine waits for frames the same way. */
			eargv[eargc++] = "--spin-us";
			eargv[eargc++] = optarg;
			break;
		}
		case OPT_XSD_KVA:
			go.xsd_kva = optarg;
			break;
		case OPT_XSD_PORT:
			go.xsd_port = optarg;
			break;
		case OPT_ENGINE:
			engine = absolute(optarg);
			break;
		case OPT_ENGINE_USER:
			euser = optarg;
			break;
		case OPT_ENGINE_AS_LIMIT:
			eo.as_limit = parse_bytes("--engine-as-limit", optarg);
			break;
		case OPT_UNSAFE_NO_SANDBOX:
			eo.sandboxed = 0;
			break;
		case OPT_PRINT_POLICY:
			print_policy = 1;
			break;
		case OPT_AUDIT_LOG:
			audit_log = absolute(optarg);
			break;
		case OPT_AUDIT_SYSLOG:
			audit_syslog = 1;
			break;
		case OPT_AUDIT_POLICY:
			audit_policy = absolute(optarg);
			break;
		case OPT_AUDIT_KEY:
			audit_key = absolute(optarg);
			break;
		case OPT_RESTORE:
			restore = optarg;
			break;
		case OPT_BROKER_USER:
			buser = optarg;
			break;
		case OPT_UNSAFE_BROKER_ROOT:
			broker_root = 1;
			break;
		case OPT_CONN_ID_START: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (optarg[0] < '1' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || v >= UINT32_MAX)
				bad_option("--conn-id-start: \"%s\" is not a "
					   "number from 1 to %u",
					   optarg, UINT32_MAX - 1);
			conn_id_start = (uint32_t)v;
			break;
		}
		case OPT_ENGINE_RESTARTS: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 ||
			    v > ENGINE_RESTARTS_MAX)
				bad_option("--engine-restarts: \"%s\" is not a "
					   "number from 0 to %d",
					   optarg, ENGINE_RESTARTS_MAX);
			engine_restarts = (unsigned int)v;
			break;
		}
		case ':':
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				bad_option("%s needs a value",
					   argv[optind - 1]);
			bad_option("-%c needs a value", optopt);
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				bad_option("bad option %s (try --help)",
					   argv[optind - 1]);
			bad_option("unknown option -%c (try --help)", optopt);
		}
	}
	if (optind < argc)
		bad_option("unexpected argument \"%s\"", argv[optind]);
	if (audit_policy != NULL && audit_log == NULL && !audit_syslog)
		bad_option(
			"--audit-policy needs --audit-log or --audit-syslog");
	if (audit_key != NULL && audit_log == NULL && !audit_syslog)
		bad_option("--audit-key needs --audit-log or --audit-syslog");
	engine_user(&eo, euser);
	broker_user(&bu, buser, broker_root, &eo);
	if (print_policy) {
		privs_print(stdout, &bu, &eo);
		exit(fflush(stdout) == 0 ? 0 : 1);
	}
	sandbox[nsandbox++] = "--uid";
	if (asprintf(&sandbox[nsandbox++], "%lu", (unsigned long)eo.uid) == -1)
		fatal("asprintf");
	sandbox[nsandbox++] = "--gid";
	if (asprintf(&sandbox[nsandbox++], "%lu", (unsigned long)eo.gid) == -1)
		fatal("asprintf");
	sandbox[nsandbox++] = "--as-limit";
	if (asprintf(&sandbox[nsandbox++], "%llu", eo.as_limit) == -1)
		fatal("asprintf");
	if (!eo.sandboxed)
		sandbox[nsandbox++] = "--unsafe-no-sandbox";
	sandbox[nsandbox] = NULL;

	stdio_open();
	signal(SIGPIPE, SIG_IGN);
	log_init(1, verbose);
	if (!eo.sandboxed)
		log_warnx("--unsafe-no-sandbox: THE ENGINE RUNS WITHOUT ITS "
			  "SANDBOX, as root, with every file and system call "
			  "open to it: for development only, never on a host");
	if (broker_root)
		log_warnx("--unsafe-broker-root: THE BROKER STAYS ROOT, its "
			  "memory and files open to any flaw a guest finds in "
			  "it: for development only, never on a host");

	/* A dom0 must never lose its guests' rings without a word. */
	if (!socket_only && xen_open(&xh) == -1)
		exit(1);
	go.socket_only = socket_only;

	if (engine == NULL)
		engine = engine_default();
	eargv[0] = engine;
	if ((rundir_env = getenv("XENSTORED_RUNDIR")) == NULL ||
	    rundir_env[0] == '\0')
		rundir_env = RUNDIR_DEFAULT;
	rundir = absolute(rundir_env);
	conn_set_watch_timeout((unsigned int)watch_timeout);

	if (!no_fork)
		ready_fd = daemonise(verbose);
	loop_init();
	conn_init(conn_id_start);
	signal_setup();
	if (atexit(cleanup) != 0)
		fatalx("atexit");
	/* Everything that takes root is opened before the broker drops it. */
	audit_init(audit_log, audit_syslog, audit_policy, audit_key);
	listen_open(rundir);
	pidfile_write();
	engine_state_create(restore, sc.state_fd);

	sc.engine = engine;
	sc.args = eargv;
	sc.sandbox = sandbox;
	sc.sandboxed = eo.sandboxed;
	sc.xen = !socket_only;
	audit_paths(sc.audit);
	listen_paths(sc.unlink);
	sc.unlink[2] = pidfile_written ? pidfile : NULL;
	spawn_fork(&sc, no_fork);
	/* dom0's ring is mapped after the fork: the spawner has no use for it.
	 */
	guest_open(socket_only ? NULL : &go);
	privs_broker(&bu);

	engine_start(engine, engine_restarts);
	guest_init(socket_only ? NULL : &xh, &go);
	if (output_pid) {
		printf("%ld\n", (long)getpid());
		fflush(stdout);
	}
	/*
	 * From here the broker opens, execs and signals nothing: its own
	 * seccomp filter, loaded before whoever started it hears that it
	 * serves, so that a filter that cannot be loaded is a failed start.
	 */
	null_fd = ready_fd != -1 ? null_open() : -1;
	seccomp_on_report(spawn_report_violation);
	if (seccomp_broker_apply() == -1)
		fatal("loading the broker's seccomp filter");
	log_info("serving %s/socket and %s/socket_ro", rundir, rundir);
	if (ready_fd != -1) {
		if (write(ready_fd, "", 1) != 1)
			fatal("ready");
		close(ready_fd);
		stdio_null(null_fd);
	}
	loop_run();
}
