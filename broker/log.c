// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging in the OpenBSD manner: to stderr in the foreground, to syslog once
 * daemonised. log_warn() and fatal() append strerror(errno); the *x variants
 * do not. Debug lines are printed only with -V.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "broker.h"

static int log_to_stderr = 1;
static int log_verb;
/* What fatal() ends with instead of exit(): the spawner's own end. */
static void (*fatal_end)(void);

void
log_init(int to_stderr, int verbose)
{
	log_to_stderr = to_stderr;
	log_verb = verbose;
	if (!to_stderr)
		openlog(BROKER_NAME, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/*
 * A forked process that must not run its parent's atexit handlers (the
 * spawner) says how a fatal error ends it.
 */
void
log_set_fatal_end(void (*end)(void))
{
	fatal_end = end;
}

static void __attribute__((noreturn)) fatal_exit(void)
{
	if (fatal_end != NULL)
		fatal_end();
	exit(1);
}

int
log_verbose(void)
{
	return log_verb;
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !log_verb)
		return;
	if (log_to_stderr) {
		flockfile(stderr);
		fputs(BROKER_NAME ": ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	} else
		vsyslog(prio, fmt, ap);
}

/* fmt followed by ": strerror(errno)", errno as it was on entry. */
static void
vlog_errno(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_prio(prio, "%s: %s", msg, strerror(saved));
	errno = saved;
}

void
log_prio(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	fatal_exit();
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	fatal_exit();
}
