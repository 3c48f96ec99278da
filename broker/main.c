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
#include "engine_note.h"
#include "engine_opts.h"

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
	OPT_ENGINE_CPU,
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
	OPT_LU_FALLBACK,
	OPT_LU_ALLOW,
	OPT_LU_REFUSED,
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
	{"trace-file", required_argument, NULL, 'T'},
	{"no-recovery", no_argument, NULL, 'R'},
	{"internal-db", optional_argument, NULL, 'I'},
	{"live-update", no_argument, NULL, 'U'},
	/* Long only, as in C xenstored: -e, -m and -p stay unknown. */
	{"event", required_argument, NULL, 'e'},
	{"master-domid", required_argument, NULL, 'm'},
	{"priv-domid", required_argument, NULL, 'p'},
	{"socket-only", no_argument, NULL, OPT_SOCKET_ONLY},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"xsd-kva", required_argument, NULL, OPT_XSD_KVA},
	{"xsd-port", required_argument, NULL, OPT_XSD_PORT},
	{"spin-us", required_argument, NULL, OPT_SPIN_US},
	{"engine-cpu", required_argument, NULL, OPT_ENGINE_CPU},
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
	{"live-update-fallback", required_argument, NULL, OPT_LU_FALLBACK},
	{"live-update-allow", required_argument, NULL, OPT_LU_ALLOW},
	{"live-update-refused", required_argument, NULL, OPT_LU_REFUSED},
	{"broker-user", required_argument, NULL, OPT_BROKER_USER},
	{"unsafe-broker-root", no_argument, NULL, OPT_UNSAFE_BROKER_ROOT},
	{NULL, 0, NULL, 0},
};
/* The leading colon makes a missing value return it rather than a "?". */
static const char shortopts[] = ":DE:F:HI::KNPS:t:A:M:Q:q:T:RVW:w:U";

static void usage(FILE *, int) __attribute__((noreturn));
static void bad_option(const char *, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* A live update may replace a running broker only by a build of it. */
XS_BROKER_NOTE;

static char *pidfile;
/* A live update's handles, taken before the broker knows its loop. */
static struct xen_handles xh_taken;

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
		"  -T, --trace-file FILE     the audit log, unless --audit-log "
		"names one\n"
		"  -R, --no-recovery, -I, --internal-db[=on|off]\n"
		"                            accepted and ignored (logged)\n"
		"      --event 0, --master-domid 0, --priv-domid 0\n"
		"                            accepted; another value is "
		"refused\n"
		"  -U, --live-update         take over the store, sockets and "
		"rings that\n"
		"                            RUNDIR/state_dump and its fds "
		"hand over\n"
		"  -H, --help                print this message\n"
		"      --socket-only         serve the Unix sockets only, "
		"without Xen\n"
		"      --spin-us N           broker and engine look for more "
		"work N us before\n"
		"                            sleeping (default 50; 0: never)\n"
		"      --engine-cpu same|any the engine runs on the broker's "
		"CPU, both\n"
		"                            kept on one (default same), or "
		"anywhere\n"
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
		"      --live-update-fallback PATH\n"
		"                            with -U, the daemon run again on "
		"a stream that\n"
		"                            fails "
		"(default " TAKEOVER_FALLBACK_DEFAULT ")\n"
		"      --live-update-allow PATH\n"
		"                            a daemon a live update may hand "
		"the store to\n"
		"                            (repeatable; "
		"default " TAKEOVER_FALLBACK_DEFAULT ")\n"
		"      --live-update-refused REASON\n"
		"                            with -U, answer the live update "
		"with REASON\n"
		"                            (a newer build that refused it "
		"says so)\n"
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

/*
 * An option of include/engine_opts.h, checked as the engine will check it:
 * a value it would refuse must stop the start here, with a word of why.
 */
static const struct engine_opt *
parse_engine_opt(const struct engine_opt *o, const char *arg, unsigned long *v)
{
	const struct engine_opt *row;
	char opt[32];
	const char *eq;

	if (o->letter != 0)
		snprintf(opt, sizeof(opt), "-%c", o->letter);
	else
		snprintf(opt, sizeof(opt), "--%s", o->name);
	switch (engine_opt_parse(o, arg, &row, v)) {
	case EOPT_OK:
		return row;
	case EOPT_NOT_NAMED:
		bad_option("%s: \"%s\" is not of the form WHAT=N", opt, arg);
	case EOPT_BAD_WHAT:
		eq = strchr(arg, '=');
		bad_option("%s: unknown name \"%.*s\"", opt, (int)(eq - arg),
			   arg);
	default:
		bad_option("%s: \"%s\" is not a number from 0 to %lu", opt,
			   row->what ? strchr(arg, '=') + 1 : arg, row->max);
	}
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

/*
 * Whatever ends the daemon, it leaves no sockets, pid file or engine: the
 * spawner removes them once it runs, since the broker may not. Before, there
 * is no pid file: the spawner writes it (spawn_ready.c).
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

/* What the command line asks for, once parsed and checked. */
struct options {
	struct engine_opts eo;
	struct guest_opts go;
	struct xsd_compat xc;
	const char *euser, *buser;
	char **eargv; /* the engine's command line, the spawner's to run */
	int eargc;
	char *sandbox[8]; /* the sandbox's options, which the spawner adds */
	char *engine;
	const char *audit_log, *restore;
	char *audit_policy, *audit_key, *trace;
	int audit_syslog, no_fork, output_pid, verbose, socket_only;
	int print_policy, broker_root, engine_cpu_any;
	int live_update;    /* -U: take over from the daemon that exec'd us */
	int broker_options; /* options C xenstored does not know were given */
	const char *lu_fallback; /* that daemon, should the stream fail */
	char *const *argv;       /* our own, for a build that replaces us */
	const char *lu_refused;  /* -U: the update's answer, not the OK */
	/* Daemons a live update may hand the store to (NULL-terminated). */
	char *lu_allow[LU_ALLOW_MAX + 1];
	size_t nlu_allow;
	unsigned int engine_restarts;
	uint32_t conn_id_start;
};

/*
 * The engine's command line starts with its fixed fds. Room for them, every
 * option and its value; the sandbox's options are apart, since the spawner
 * puts them last.
 */
static void
engine_argv_init(struct options *o, int argc)
{
	if ((o->eargv = calloc((size_t)argc * 2 + 16, sizeof(*o->eargv))) ==
	    NULL)
		fatal("calloc");
	o->eargv[o->eargc++] = NULL; /* the engine path, once known */
	o->eargv[o->eargc++] = "--fd";
	o->eargv[o->eargc++] = "3";
	/* Where it keeps its store across restarts (engine_life.c). */
	o->eargv[o->eargc++] = "--state-fd";
	o->eargv[o->eargc++] = "4";
	o->eargv[o->eargc++] = "--state-fd";
	o->eargv[o->eargc++] = "5";
}

/* A quota or limit of the engine's: checked here, passed on verbatim. */
static void
engine_limit(struct options *o, int ch, char *arg)
{
	const struct engine_opt *row;
	unsigned long v;

	row = parse_engine_opt(engine_opt_letter(ch), arg, &v);
	/* The broker holds the output queues these bound. */
	if (row->id == EOPT_OUTSTANDING)
		conn_set_outstanding((unsigned int)v);
	else if (row->id == EOPT_WATCH_EVENT)
		conn_set_watch_timeout((unsigned int)v);
	/* The engine gets the short form with the value. */
	if (asprintf(&o->eargv[o->eargc++], "-%c", ch) == -1)
		fatal("asprintf");
	o->eargv[o->eargc++] = arg;
}

static uint32_t
parse_conn_id_start(const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '1' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    v >= UINT32_MAX)
		bad_option("--conn-id-start: \"%s\" is not a number from 1 "
			   "to %u",
			   arg, UINT32_MAX - 1);
	return (uint32_t)v;
}

static unsigned int
parse_engine_restarts(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    v > ENGINE_RESTARTS_MAX)
		bad_option("--engine-restarts: \"%s\" is not a number from 0 "
			   "to %d",
			   arg, ENGINE_RESTARTS_MAX);
	return (unsigned int)v;
}

/* One option of the broker's own, or of C xenstored's, into o. */
static void
parse_option(struct options *o, int ch, char *arg, char *argv[])
{
	char why[512];
	unsigned long v;

	if (ch >= OPT_SOCKET_ONLY)
		o->broker_options++;
	switch (ch) {
	case 'D':
		o->go.no_dom0 = 1;
		break;
	case 'N':
		o->no_fork = 1;
		break;
	case 'F':
		pidfile = absolute(arg);
		break;
	case 'P':
		o->output_pid = 1;
		break;
	case 'H':
		usage(stdout, 0);
	case 'E':
	case 'S':
	case 'W':
	case 't':
	case 'A':
	case 'M':
	case 'Q':
	case 'q':
	case 'w':
		engine_limit(o, ch, arg);
		break;
	case 'V':
		o->verbose = 1;
		/* FALLTHROUGH */
	case 'K':
		if (asprintf(&o->eargv[o->eargc++], "-%c", ch) == -1)
			fatal("asprintf");
		break;
	case 'T':
		o->trace = absolute(arg);
		break;
	case 'U':
		o->live_update = 1;
		break;
	case 'R':
	case 'I':
	case 'e':
	case 'm':
	case 'p':
		if (xsd_compat_option(&o->xc, ch, arg, why, sizeof(why)) == -1)
			bad_option("%s", why);
		break;
	case OPT_SOCKET_ONLY:
		o->socket_only = 1;
		break;
	case OPT_SPIN_US:
		parse_engine_opt(engine_opt_word("--spin-us"), arg, &v);
		loop_set_spin((long)v);
		/* The engine waits for frames the same way. */
		o->eargv[o->eargc++] = "--spin-us";
		o->eargv[o->eargc++] = arg;
		break;
	case OPT_ENGINE_CPU:
		if (strcmp(arg, "same") != 0 && strcmp(arg, "any") != 0)
			bad_option("--engine-cpu takes same or any, not \"%s\"",
				   arg);
		o->engine_cpu_any = strcmp(arg, "any") == 0;
		break;
	case OPT_XSD_KVA:
		o->go.xsd_kva = arg;
		break;
	case OPT_XSD_PORT:
		o->go.xsd_port = arg;
		break;
	case OPT_ENGINE:
		o->engine = absolute(arg);
		break;
	case OPT_ENGINE_USER:
		o->euser = arg;
		break;
	case OPT_ENGINE_AS_LIMIT:
		o->eo.as_limit = parse_bytes("--engine-as-limit", arg);
		break;
	case OPT_UNSAFE_NO_SANDBOX:
		o->eo.sandboxed = 0;
		break;
	case OPT_PRINT_POLICY:
		o->print_policy = 1;
		break;
	case OPT_AUDIT_LOG:
		o->audit_log = absolute(arg);
		break;
	case OPT_AUDIT_SYSLOG:
		o->audit_syslog = 1;
		break;
	case OPT_AUDIT_POLICY:
		o->audit_policy = absolute(arg);
		break;
	case OPT_AUDIT_KEY:
		o->audit_key = absolute(arg);
		break;
	case OPT_RESTORE:
		o->restore = arg;
		break;
	case OPT_BROKER_USER:
		o->buser = arg;
		break;
	case OPT_UNSAFE_BROKER_ROOT:
		o->broker_root = 1;
		break;
	case OPT_LU_FALLBACK:
		o->lu_fallback = absolute(arg);
		break;
	case OPT_LU_REFUSED:
		o->lu_refused = arg;
		break;
	case OPT_LU_ALLOW:
		if (arg[0] != '/')
			bad_option("--live-update-allow: \"%s\" is not an "
				   "absolute path",
				   arg);
		if (o->nlu_allow == LU_ALLOW_MAX)
			bad_option("--live-update-allow: at most %d daemons",
				   LU_ALLOW_MAX);
		o->lu_allow[o->nlu_allow++] = arg;
		break;
	case OPT_CONN_ID_START:
		o->conn_id_start = parse_conn_id_start(arg);
		break;
	case OPT_ENGINE_RESTARTS:
		o->engine_restarts = parse_engine_restarts(arg);
		break;
	case ':':
		if (strncmp(argv[optind - 1], "--", 2) == 0)
			bad_option("%s needs a value", argv[optind - 1]);
		bad_option("-%c needs a value", optopt);
	default:
		if (strncmp(argv[optind - 1], "--", 2) == 0)
			bad_option("bad option %s (try --help)",
				   argv[optind - 1]);
		bad_option("unknown option -%c (try --help)", optopt);
	}
}

static void
parse_options(struct options *o, int argc, char *argv[])
{
	int ch;

	engine_argv_init(o, argc);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		parse_option(o, ch, optarg, argv);
	if (optind < argc)
		bad_option("unexpected argument \"%s\"", argv[optind]);
	xsd_compat_trace(&o->xc, o->trace, &o->audit_log);
	if (o->audit_policy != NULL && o->audit_log == NULL && !o->audit_syslog)
		bad_option(
			"--audit-policy needs --audit-log or --audit-syslog");
	if (o->audit_key != NULL && o->audit_log == NULL && !o->audit_syslog)
		bad_option("--audit-key needs --audit-log or --audit-syslog");
}

/* The sandbox's options for every engine: its user and its limits. */
static void
sandbox_args(struct options *o)
{
	int n = 0;

	o->sandbox[n++] = "--uid";
	if (asprintf(&o->sandbox[n++], "%lu", (unsigned long)o->eo.uid) == -1)
		fatal("asprintf");
	o->sandbox[n++] = "--gid";
	if (asprintf(&o->sandbox[n++], "%lu", (unsigned long)o->eo.gid) == -1)
		fatal("asprintf");
	o->sandbox[n++] = "--as-limit";
	if (asprintf(&o->sandbox[n++], "%llu", o->eo.as_limit) == -1)
		fatal("asprintf");
	if (!o->eo.sandboxed)
		o->sandbox[n++] = "--unsafe-no-sandbox";
	o->sandbox[n] = NULL;
}

/* The log, and what an administrator must hear of before anything runs. */
static void
log_start(const struct options *o)
{
	stdio_open();
	signal(SIGPIPE, SIG_IGN);
	log_init(1, o->verbose);
	xsd_compat_log(&o->xc);
	if (!o->eo.sandboxed)
		log_warnx("--unsafe-no-sandbox: THE ENGINE RUNS WITHOUT ITS "
			  "SANDBOX, as root, with every file and system call "
			  "open to it: for development only, never on a host");
	if (o->broker_root)
		log_warnx("--unsafe-broker-root: THE BROKER STAYS ROOT, its "
			  "memory and files open to any flaw a guest finds in "
			  "it: for development only, never on a host");
}

/*
 * Forks the spawner with what it alone will need (the engine's command
 * line, the files it reopens or removes, the pid file), once everything
 * that takes root is open.
 */
static void
spawner_start(struct options *o)
{
	struct spawner_cfg sc = {0};

	engine_state_create(o->restore, o->live_update, sc.state_fd);
	sc.engine = o->engine;
	sc.args = o->eargv;
	sc.sandbox = o->sandbox;
	sc.sandboxed = o->eo.sandboxed;
	sc.xen = !o->socket_only;
	audit_paths(sc.audit);
	listen_paths(sc.unlink);
	sc.pidfile = pidfile;
	/* C xenstored, where Debian puts it, unless the list is given. */
	if (o->nlu_allow == 0)
		o->lu_allow[o->nlu_allow++] = TAKEOVER_FALLBACK_DEFAULT;
	sc.lu_daemons = o->lu_allow;
	sc.broker_argv = o->argv;
	sc.broker_pid = getpid();
	spawn_fork(&sc, o->no_fork);
}

/*
 * xs-broker -U, before anything is touched: the stream and its fds are
 * checked, and the engine restores the store once. A stream either refuses
 * runs the daemon that wrote it again. Then the fds the stream does not
 * name are closed (the old daemon's, not ours) and the event channel
 * handle, with every port bound on it, is ours.
 */
static void
takeover_begin(struct options *o, struct takeover *tk, const char *rundir,
	       char *argv[])
{
	const char *prog = o->lu_fallback != NULL ? o->lu_fallback
						  : TAKEOVER_FALLBACK_DEFAULT;
	char why[1024];
	const char *bad;
	size_t i;

	bad = takeover_load(tk, rundir, why, sizeof(why));
	tk->refused = o->lu_refused;
	/* A broker that replaced itself left its own binary open for us. */
	if (sscanf(prog, "/proc/self/fd/%d", &tk->keep_fd) != 1)
		tk->keep_fd = -1;
	if (bad == NULL && o->socket_only)
		for (i = 0; i < tk->nconns && bad == NULL; i++)
			if (tk->conns[i].ring)
				bad = "rings, and --socket-only serves none";
	if (bad == NULL)
		bad = takeover_engine_check(tk, o->eargv, o->sandbox, why,
					    sizeof(why));
	/* Before the handles are opened: theirs are fds too. */
	if (bad == NULL)
		takeover_close_others(tk);
	if (bad == NULL && !o->socket_only &&
	    xen_open(&xh_taken, tk->evtchn_fd) == -1)
		bad = "its event channel handle cannot be taken";
	if (bad != NULL)
		takeover_fallback(tk, prog, argv, o->broker_options, bad);
	if (o->socket_only && tk->evtchn_fd != -1)
		close(tk->evtchn_fd);
	takeover_own_fds(tk);
	log_info("live update: taking over %s", tk->path);
}

/*
 * The rest of xs-broker -U, once the spawner holds the store: the stream
 * is gone from the run directory (as C xenstored removes it), the broker
 * drops root, and every connection is ours before the first engine starts.
 */
static void
takeover_finish(struct options *o, struct takeover *tk, struct xen_handles *xh,
		const struct broker_user *bu)
{
	struct guest_opts go = o->go;
	const struct takeover_conn *d0 = takeover_dom0(tk);
	char detail[sizeof(tk->path) + 64];

	if (unlink(tk->path) == -1)
		log_warn("unlink %s", tk->path);
	privs_broker(bu);
	*xh = xh_taken;
	/* dom0's ring, in the stream, keeps its bound port. */
	if (d0 != NULL)
		go.no_dom0 = 1;
	guest_init(o->socket_only ? NULL : xh, &go);
	takeover_adopt(tk);
	snprintf(detail, sizeof(detail), "%zu connections from %s", tk->nconns,
		 tk->path);
	audit_engine_event("live-update-takeover", detail);
	takeover_done(tk);
}

/*
 * From here the broker opens, execs and signals nothing: its own seccomp
 * filter, loaded before whoever started it hears that it serves, so that a
 * filter that cannot be loaded is a failed start.
 */
static void
serve(const char *rundir, int ready_fd)
{
	int null_fd = ready_fd != -1 ? null_open() : -1;

	seccomp_on_report(spawn_report_violation);
	if (seccomp_broker_apply() == -1)
		fatal("loading the broker's seccomp filter");
	log_info("serving %s/socket and %s/socket_ro", rundir, rundir);
	/*
	 * Clients that connected since listen_open() wait in the backlog and
	 * are served from here; the pid file and systemd say so only now.
	 */
	spawn_ready();
	if (ready_fd != -1) {
		if (write(ready_fd, "", 1) != 1)
			fatal("ready");
		close(ready_fd);
		stdio_null(null_fd);
	}
	loop_run();
}

int
main(int argc, char *argv[])
{
	struct options o = {
		.eo = {.as_limit = ENGINE_AS_LIMIT_DEFAULT, .sandboxed = 1},
		.go = {0, 0, "/proc/xen/xsd_kva", "/proc/xen/xsd_port"},
		.engine_restarts = ENGINE_RESTARTS_DEFAULT,
		.conn_id_start = 1};
	struct xen_handles xh;
	struct takeover tk = {0};
	struct broker_user bu;
	const char *rundir_env;
	char *rundir;
	int ready_fd = -1;

	/*
	 * Its name, whatever path ran it: an old build run again after a
	 * refused update is executed through /proc/self/fd/N.
	 */
	(void)prctl(PR_SET_NAME, BROKER_NAME, 0, 0, 0);
	parse_options(&o, argc, argv);
	o.argv = argv;
	engine_user(&o.eo, o.euser);
	broker_user(&bu, o.buser, o.broker_root, &o.eo);
	if (o.print_policy) {
		privs_print(stdout, &bu, &o.eo);
		exit(fflush(stdout) == 0 ? 0 : 1);
	}
	sandbox_args(&o);
	log_start(&o);
	if (o.engine == NULL)
		o.engine = engine_default();
	o.eargv[0] = o.engine;
	if ((rundir_env = getenv("XENSTORED_RUNDIR")) == NULL ||
	    rundir_env[0] == '\0')
		rundir_env = RUNDIR_DEFAULT;
	rundir = absolute(rundir_env);
	/*
	 * A live update's process is the daemon already, its stderr most
	 * likely /dev/null: what the takeover says, and why it may refuse the
	 * stream, goes to syslog.
	 */
	if (o.live_update && !o.no_fork)
		log_init(0, o.verbose);
	if (o.live_update)
		takeover_begin(&o, &tk, rundir, argv);

	/* A dom0 must never lose its guests' rings without a word. */
	if (!o.socket_only && !o.live_update && xen_open(&xh, -1) == -1)
		exit(1);
	o.go.socket_only = o.socket_only;

	/* A live update keeps the pid the old daemon was known by. */
	if (!o.no_fork && !o.live_update)
		ready_fd = daemonise(o.verbose);
	loop_init();
	conn_init(o.live_update && tk.max_id >= o.conn_id_start
			  ? tk.max_id + 1
			  : o.conn_id_start);
	signal_setup();
	if (atexit(cleanup) != 0)
		fatalx("atexit");
	/* Everything that takes root is opened before the broker drops it. */
	audit_init(o.audit_log, o.audit_syslog, o.audit_policy, o.audit_key);
	listen_open(rundir, o.live_update ? tk.sock_fd : -1,
		    o.live_update ? tk.ro_fd : -1);
	if (o.live_update)
		o.restore = tk.path;
	if (!o.engine_cpu_any)
		affinity_share_cpu();
	spawner_start(&o);
	/* dom0's ring is mapped after the fork: the spawner has no use for it.
	 */
	guest_open(o.socket_only ? NULL : &o.go);
	if (o.live_update)
		takeover_finish(&o, &tk, &xh, &bu);
	else
		privs_broker(&bu);

	engine_start(o.engine, o.engine_restarts);
	if (!o.live_update)
		guest_init(o.socket_only ? NULL : &xh, &o.go);
	if (o.output_pid) {
		printf("%ld\n", (long)getpid());
		fflush(stdout);
	}
	serve(rundir, ready_fd);
}
