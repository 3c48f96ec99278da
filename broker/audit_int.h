/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the audit log's three files share: audit.c makes the records,
 * audit_sink.c writes them out, audit_files.c reads the policy and the key.
 * The rest of the broker sees only the hooks in broker.h.
 */
#ifndef AUDIT_INT_H
#define AUDIT_INT_H

#include <sys/types.h>
#include <time.h>

#include "audit.h"

/* What a record is, for counting the ones dropped. */
enum rec_class { REC_REQUEST, REC_REPLY, REC_EVENT, REC_OTHER, REC_NCLASS };

struct audit_cfg {
	int enabled;
	int to_syslog;
	int exiting;
	char *log_path;    /* --audit-log, absolute, or "syslog" */
	char *policy_path; /* --audit-policy, or NULL: built in */
	char *key_path;    /* --audit-key, or NULL: plain SHA-256 */
	uid_t key_owner;   /* who must own it: who started the broker */
	struct audit_hash hash;
	struct audit_policy *policy;
};
extern struct audit_cfg audit_cfg;

/* audit.c */
int rec_begin(const char *kind, const struct timespec *wall, enum rec_class);
void audit_drain(void);
void audit_note(const char *kind, const char *event, const char *detail);
void audit_note_key(const char *kind, const char *event, const char *detail);

/* audit_sink.c: the record being made is written into audit_rec. */
extern struct audit_json audit_rec;
void sink_init(const char *path);
int sink_use(int fd);
int sink_has_file(void);
void sink_write(void);
void sink_flush(void);
void sink_exit(void);
void rec_open(const char *kind, const struct timespec *wall);
void rec_end(void);
int rec_room(enum rec_class);
unsigned long long rec_seq(void);
void gen_int(const char *key, long long v);
void gen_cstr(const char *key, const char *s);

/* audit_files.c */
void files_init(const char *policy_file, const char *key_file);

#endif
