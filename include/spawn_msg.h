/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control channel between xs-broker and its spawner: one
 * SOCK_SEQPACKET socketpair made before the fork, one message a packet,
 * each a fixed-layout struct whose size its type fixes. Both ends run the
 * same build, so the layout is the compiler's; fds go as SCM_RIGHTS.
 *
 * The spawner believes nothing it reads here: a packet of the wrong size,
 * an unknown type, a string without its NUL where the length says, a
 * count out of bounds or an fd it did not ask for means the broker is
 * broken, and the spawner stops the engine and exits. Nothing here names
 * a program, a pid or a path other than the live update's binary, which
 * the spawner checks itself (liveupdate_open()).
 */
#ifndef XS_SPAWN_MSG_H
#define XS_SPAWN_MSG_H

#include <stdint.h>

enum spawn_type {
	/* broker -> spawner */
	SPAWN_START = 1,    /* struct spawn_start */
	SPAWN_UPDATE_FILE,  /* struct spawn_update_file */
	SPAWN_STOP,         /* struct spawn_stop */
	SPAWN_AUDIT_OPEN,   /* struct spawn_hdr */
	SPAWN_SHUTDOWN,     /* struct spawn_hdr */
	SPAWN_VIOLATION,    /* struct spawn_violation: the broker's last word */
	SPAWN_DOMINFO,      /* struct spawn_dominfo_req */
	SPAWN_READY,        /* struct spawn_hdr: it serves; once */
	SPAWN_WRITE_STREAM, /* struct spawn_write_stream: the store */
	SPAWN_HANDOVER,     /* struct spawn_handover, and state_dump's memfd */
	SPAWN_HANDOVER_FDS, /* struct spawn_handover_fds, and that many fds */
	/* spawner -> broker */
	SPAWN_STARTED = 101,      /* struct spawn_pid, and the channel's fd */
	SPAWN_START_FAILED,       /* struct spawn_err */
	SPAWN_EXITED,             /* struct spawn_pid */
	SPAWN_UPDATE_FILE_RESULT, /* struct spawn_update_result */
	SPAWN_AUDIT_FDS,          /* struct spawn_audit_fds, and its fds */
	SPAWN_DOMINFO_LIST,       /* struct spawn_dominfo */
	SPAWN_READY_DONE,         /* struct spawn_err: the pid file's */
	SPAWN_STREAM,             /* struct spawn_err, and (0) two memfds */
	SPAWN_HANDOVER_FAILED,    /* struct spawn_err: it did not exec */
};

struct spawn_hdr {
	uint32_t type;
	uint32_t len; /* of the whole message, this header included */
};

/* Which binary START runs. */
enum spawn_binary {
	SPAWN_RUN_CURRENT,  /* the one the last engine ran */
	SPAWN_RUN_UPDATE,   /* the one UPDATE_FILE checked, with args */
	SPAWN_RUN_PREVIOUS, /* the one before the last update (it failed) */
};

/* What a live update may add to the command line (include/lu_options.h). */
#define SPAWN_ARGS_MAX 32u
#define SPAWN_ARG_MAX 256u
#define SPAWN_PATH_MAX 4096u

struct spawn_start {
	struct spawn_hdr h;
	uint32_t binary; /* enum spawn_binary */
	uint32_t nargs;  /* words in args; only with SPAWN_RUN_UPDATE */
	uint32_t
		args_len; /* bytes of args used: nargs words, each ending NUL */
	char args[SPAWN_ARGS_MAX * (SPAWN_ARG_MAX + 1)];
};

struct spawn_update_file {
	struct spawn_hdr h;
	uint32_t path_len; /* path[path_len] is its only NUL */
	char path[SPAWN_PATH_MAX + 1];
};

enum spawn_signal { SPAWN_STOP_TERM = 1, SPAWN_STOP_KILL };

struct spawn_stop {
	struct spawn_hdr h;
	uint32_t how; /* enum spawn_signal */
};

struct spawn_pid {
	struct spawn_hdr h;
	int32_t pid;
	int32_t status; /* EXITED: as waitpid() gives it */
};

/*
 * The broker's seccomp filter trapped a call: sent from its SIGSYS handler
 * just before it dies, for the spawner to log (the broker can no longer
 * open syslog's socket, and its stderr may be /dev/null).
 */
struct spawn_violation {
	struct spawn_hdr h;
	int32_t nr; /* the system call's number */
	uint32_t pad;
	uint64_t arg1; /* its second argument: which ioctl, say */
};

/*
 * What the hypervisor says of the domains from first on: the spawner, not
 * the broker, holds the hypercall interface (privcmd), which can make any
 * hypercall dom0 may; the broker only ever needs these flags.
 */
#define SPAWN_DOMINFO_MAX 128u
struct spawn_dominfo_req {
	struct spawn_hdr h;
	uint32_t first; /* below DOMID_FIRST_RESERVED */
};

struct spawn_dominfo {
	struct spawn_hdr h;
	uint32_t n; /* entries used; fewer than the most: no domain after */
	struct {
		uint32_t domid; /* increasing, from first on */
		uint32_t flags; /* XEN_DOMINF_* */
	} d[SPAWN_DOMINFO_MAX];
};

struct spawn_err {
	struct spawn_hdr h;
	int32_t err; /* 0 or an errno value */
};

/*
 * What a live update's file is: an engine build (the engine is replaced),
 * a broker build, or a xenstore daemon of the list fixed at start
 * (--live-update-allow); the spawner executes either of the last two in its
 * own place with the whole store, the sockets and the rings handed over (a
 * handover, broker/handover.c).
 */
enum spawn_lu_kind { SPAWN_LU_ENGINE = 1, SPAWN_LU_DAEMON, SPAWN_LU_BROKER };

/* WRITE_STREAM: in which form (xs-engine --write-stream c417 or split). */
enum spawn_stream { SPAWN_STREAM_C417 = 1, SPAWN_STREAM_SPLIT };
struct spawn_write_stream {
	struct spawn_hdr h;
	uint32_t form; /* enum spawn_stream */
};

struct spawn_update_result {
	struct spawn_hdr h;
	int32_t err;   /* 0 or the errno the engine is told */
	uint32_t kind; /* enum spawn_lu_kind, with err 0 */
};

/*
 * A handover's fds are at SPAWN_HANDOVER_FD_BASE + i in the daemon it
 * executes, i their order in the HANDOVER_FDS messages: state_dump names
 * them so. The spawner's own fds are all below it.
 */
#define SPAWN_HANDOVER_FD_BASE 64u
#define SPAWN_HANDOVER_FDS_MAX 8192u

struct spawn_handover {
	struct spawn_hdr h;
	uint32_t nfds;  /* in the HANDOVER_FDS messages that follow */
	uint32_t nargs; /* words added to the daemon's command line */
	uint32_t
		args_len; /* bytes of args used: nargs words, each ending NUL */
	char args[SPAWN_ARGS_MAX * (SPAWN_ARG_MAX + 1)];
};

struct spawn_handover_fds {
	struct spawn_hdr h;
	uint32_t n; /* fds carried, at most SPAWN_FDS_MAX */
};

/* The audit files, in this order; an entry whose err is 0 has an fd. */
enum { SPAWN_AUDIT_LOG, SPAWN_AUDIT_POLICY, SPAWN_AUDIT_KEY, SPAWN_AUDIT_N };
/* err of a file that was not named at start. */
#define SPAWN_AUDIT_UNSET (-1)

struct spawn_audit_fds {
	struct spawn_hdr h;
	int32_t err[SPAWN_AUDIT_N];
};

/* The largest message either way, for receive buffers. */
#define SPAWN_MSG_MAX sizeof(struct spawn_start)
_Static_assert(sizeof(struct spawn_update_file) <= SPAWN_MSG_MAX,
	       "receive buffers hold every message");
_Static_assert(sizeof(struct spawn_dominfo) <= SPAWN_MSG_MAX,
	       "receive buffers hold every message");
_Static_assert(sizeof(struct spawn_handover) <= SPAWN_MSG_MAX,
	       "receive buffers hold every message");
/* The most fds one message carries. */
#define SPAWN_FDS_MAX 32

#endif
