/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The xenstore wire protocol as clients speak it (docs/misc/xenstore.txt):
 * message types, limits and error names, including the types Xen 4.22
 * added after the xs_wire.h that Debian 12 ships.
 */
#ifndef XS_PROTO_H
#define XS_PROTO_H

#include <stdint.h>

enum xs_type {
	XS_CONTROL = 0,
	XS_DIRECTORY = 1,
	XS_READ = 2,
	XS_GET_PERMS = 3,
	XS_WATCH = 4,
	XS_UNWATCH = 5,
	XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7,
	XS_INTRODUCE = 8,
	XS_RELEASE = 9,
	XS_GET_DOMAIN_PATH = 10,
	XS_WRITE = 11,
	XS_MKDIR = 12,
	XS_RM = 13,
	XS_SET_PERMS = 14,
	XS_WATCH_EVENT = 15,
	XS_ERROR = 16,
	XS_IS_DOMAIN_INTRODUCED = 17,
	XS_RESUME = 18,
	XS_SET_TARGET = 19,
	/* 20 was XS_RESTRICT, removed from the protocol. */
	XS_RESET_WATCHES = 21,
	XS_DIRECTORY_PART = 22,
	XS_GET_FEATURE = 23,
	XS_SET_FEATURE = 24,
	XS_GET_QUOTA = 25,
	XS_SET_QUOTA = 26,
	XS_TYPE_COUNT
};

/*
 * The name of a type as xenstore.txt, the logs and the audit give it, or
 * NULL for a number the protocol does not have: the one list of names the
 * engine's request table and the broker's audit share.
 */
static inline const char *
xs_type_name(uint32_t type)
{
	switch (type) {
	case XS_CONTROL:
		return "CONTROL";
	case XS_DIRECTORY:
		return "DIRECTORY";
	case XS_READ:
		return "READ";
	case XS_GET_PERMS:
		return "GET_PERMS";
	case XS_WATCH:
		return "WATCH";
	case XS_UNWATCH:
		return "UNWATCH";
	case XS_TRANSACTION_START:
		return "TRANSACTION_START";
	case XS_TRANSACTION_END:
		return "TRANSACTION_END";
	case XS_INTRODUCE:
		return "INTRODUCE";
	case XS_RELEASE:
		return "RELEASE";
	case XS_GET_DOMAIN_PATH:
		return "GET_DOMAIN_PATH";
	case XS_WRITE:
		return "WRITE";
	case XS_MKDIR:
		return "MKDIR";
	case XS_RM:
		return "RM";
	case XS_SET_PERMS:
		return "SET_PERMS";
	case XS_WATCH_EVENT:
		return "WATCH_EVENT";
	case XS_ERROR:
		return "ERROR";
	case XS_IS_DOMAIN_INTRODUCED:
		return "IS_DOMAIN_INTRODUCED";
	case XS_RESUME:
		return "RESUME";
	case XS_SET_TARGET:
		return "SET_TARGET";
	case XS_RESET_WATCHES:
		return "RESET_WATCHES";
	case XS_DIRECTORY_PART:
		return "DIRECTORY_PART";
	case XS_GET_FEATURE:
		return "GET_FEATURE";
	case XS_SET_FEATURE:
		return "SET_FEATURE";
	case XS_GET_QUOTA:
		return "GET_QUOTA";
	case XS_SET_QUOTA:
		return "SET_QUOTA";
	}
	return NULL;
}

/* The header in front of every message, on sockets and rings alike. */
struct xs_hdr {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};

#define XS_HDR_SIZE 16u
#define XS_PAYLOAD_MAX 4096u
#define XS_ABS_PATH_MAX 3072u
#define XS_REL_PATH_MAX 2048u

/* Ring page layout constants (docs/misc/xenstore-ring.txt). */
#define XS_RING_SIZE 1024u
#define XS_FEATURE_RECONNECTION 1u
#define XS_FEATURE_ERROR 2u
/* Every feature both halves know; a domain has them unless SET_FEATURE. */
#define XS_FEATURES_SUPPORTED (XS_FEATURE_RECONNECTION | XS_FEATURE_ERROR)

#define XS_DOMID_FIRST_RESERVED 0x7ff0u
#define XS_DOMID_SELF 0x7ff0u

/* The shared ring page, struct xenstore_domain_interface of xs_wire.h. */
struct xs_ring {
	volatile char req[XS_RING_SIZE]; /* requests to the daemon */
	volatile char rsp[XS_RING_SIZE]; /* replies and watch events */
	volatile uint32_t req_cons, req_prod;
	volatile uint32_t rsp_cons, rsp_prod;
	volatile uint32_t server_features;
	volatile uint32_t connection;
	volatile uint32_t error;
};

#define XS_RING_CONNECTED 0u
#define XS_RING_RECONNECT 1u
#define XS_RING_ERROR_NONE 0u
#define XS_RING_ERROR_COMM 1u
#define XS_RING_ERROR_RINGIDX 2u
#define XS_RING_ERROR_PROTO 3u

#endif
