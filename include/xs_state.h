/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The xenstore migration stream (Xen's docs/designs/xenstore-migration.md):
 * its preamble and record types, which the engine writes and restores and
 * the broker reads the fds of in a live update (broker/takeover.c). Every
 * record is a type and a length, its body padded to 8 bytes, in the
 * writer's byte order (flags bit 0: big-endian).
 */
#ifndef XS_STATE_H
#define XS_STATE_H

#define ST_IDENT 0x78656e73746f7265ull /* "xenstore", big-endian */
#define ST_VERSION 2u

enum {
	REC_END = 0,
	REC_GLOBAL_DATA = 1,
	REC_CONNECTION_DATA = 2,
	REC_WATCH_DATA = 3,
	REC_TRANSACTION_DATA = 4,
	REC_NODE_DATA = 5,
	REC_GLOBAL_QUOTA_DATA = 6,
	REC_DOMAIN_DATA = 7,
	REC_WATCH_DATA_EXTENDED = 8,
};

/*
 * Records of split-xenstored's own, in the range the format leaves free:
 * X_CONN (the engine's: a connection's domain and flags, after its
 * CONNECTION_DATA) and X_LISTEN and X_LU (the broker's, in a handover to
 * another broker: its socket_ro listening fd, the live update's request),
 * which the engine passes over.
 */
#define REC_X_CONN 0x5801u
/* The engine's answer to a request the broker would send again (by its
 * sequence number, which means nothing to another broker). */
#define REC_X_REPLY 0x5808u
#define REC_X_LISTEN 0x5810u
/*
 * REC_X_LU (the broker's, a handover to another broker): conn id, req_id
 * of the live-update request whose answer ends that connection's output,
 * for a broker that refuses the stream and runs the old one again, which
 * answers with the reason instead.
 */
#define REC_X_LU 0x5811u
#define XCONN_PRIV 1u
#define XCONN_RO 2u

/* CONNECTION_DATA's conn-type. */
#define CONN_RING 0u
#define CONN_SOCKET 1u
#define DOMID_INVALID 0x7ff4u

/* NODE_DATA's permission flags: an entry older than its domain. */
#define NODE_PERM_IGNORE 0x01u

#endif
