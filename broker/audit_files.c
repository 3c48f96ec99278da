// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit's files other than the log: the policy that says what is
 * recorded and the key values are hashed under, read at start and again
 * on SIGHUP (with the log, which logrotate may have moved), when the
 * spawner has opened them for the broker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_int.h"
#include "broker.h"

/* policy/audit.policy as built in: audit_policy_default[]. */
#include "audit_policy.h"

/* The largest policy file read. */
#define AUDIT_POLICY_MAX (1u << 20)

/*
 * Opens one of the audit files as the broker always has: the log to append
 * to (a FIFO read-write, which never blocks nor fails for want of a reader,
 * and non-blocking, so a slow reader costs back-pressure, never the loop),
 * the policy and the key to read (the key not through a symbolic link).
 * The spawner does this on SIGHUP, the broker having no right to any of
 * them by then. Returns the fd, or -1 with errno.
 */
int
audit_file_open(int which, const char *path)
{
	int flags = O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int lfd;

	switch (which) {
	case SPAWN_AUDIT_LOG:
		lfd = open(path, O_WRONLY | flags, 0600);
		if (lfd == -1 && errno == ENXIO)
			lfd = open(path, O_RDWR | flags, 0600);
		return lfd;
	case SPAWN_AUDIT_POLICY:
		return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	case SPAWN_AUDIT_KEY:
		return open(path,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	errno = EINVAL;
	return -1;
}

/* The policy read from pfd (or why it could not be opened: err), or NULL. */
static struct audit_policy *
policy_load(int pfd, int perr, char *err, size_t errsz)
{
	struct audit_policy *p;
	char *text;
	ssize_t n;
	size_t len = 0;

	if (audit_cfg.policy_path == NULL)
		return audit_policy_parse(audit_policy_default,
					  sizeof(audit_policy_default) - 1,
					  "(built-in policy)", err, errsz);
	if (pfd == -1) {
		snprintf(err, errsz, "%s: %s", audit_cfg.policy_path,
			 strerror(perr));
		return NULL;
	}
	if ((text = malloc(AUDIT_POLICY_MAX + 1)) == NULL)
		fatal("audit policy");
	while ((n = read(pfd, text + len, AUDIT_POLICY_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(pfd);
	if (n == -1 || len > AUDIT_POLICY_MAX) {
		snprintf(err, errsz, "%s: %s", audit_cfg.policy_path,
			 n == -1 ? strerror(errno) : "larger than 1 MiB");
		free(text);
		return NULL;
	}
	p = audit_policy_parse(text, len, audit_cfg.policy_path, err, errsz);
	free(text);
	return p;
}

/*
 * The --audit-key file: at least AUDIT_KEY_MIN bytes, used as they are, in
 * a regular file that only its owner (root, who started the broker) may
 * read or change: a key others can read protects nothing.
 */
static int
key_load(struct audit_hash *h, int kfd, int kerr, char *err, size_t errsz)
{
	uint8_t key[AUDIT_KEY_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;

	if (kfd == -1) {
		snprintf(err, errsz, "%s: %s", audit_cfg.key_path,
			 strerror(kerr));
		return -1;
	}
	if (fstat(kfd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != audit_cfg.key_owner ||
	    (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errsz,
			 "%s: must be a regular file that only its owner, "
			 "uid %ld, may read or write (chmod 600)",
			 audit_cfg.key_path, (long)audit_cfg.key_owner);
		close(kfd);
		return -1;
	}
	while ((n = read(kfd, key + len, sizeof(key) - len)) > 0)
		len += (size_t)n;
	close(kfd);
	if (n == -1 || len < AUDIT_KEY_MIN || len > AUDIT_KEY_MAX) {
		if (n == -1)
			snprintf(err, errsz, "%s: %s", audit_cfg.key_path,
				 strerror(errno));
		else
			snprintf(err, errsz,
				 "%s: a key is %d to %d bytes, not %zu",
				 audit_cfg.key_path, AUDIT_KEY_MIN,
				 AUDIT_KEY_MAX, len);
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	audit_hash_init(h, key, len);
	explicit_bzero(key, sizeof(key));
	return 0;
}

/* opened[which] of a file named at start, or -1 with errno. */
static int
open_at_start(int which, const char *path)
{
	return path == NULL ? -1 : audit_file_open(which, path);
}

/* At start: the policy and the key, read as the broker's starter may. */
void
files_init(const char *policy_file, const char *key_file)
{
	char err[512];
	int pfd, kfd;

	audit_cfg.key_owner = geteuid();
	if (policy_file != NULL &&
	    (audit_cfg.policy_path = strdup(policy_file)) == NULL)
		fatal("strdup");
	pfd = open_at_start(SPAWN_AUDIT_POLICY, policy_file);
	if ((audit_cfg.policy = policy_load(pfd, errno, err, sizeof(err))) ==
	    NULL)
		fatalx("audit: %s", err);
	if (key_file != NULL) {
		if ((audit_cfg.key_path = strdup(key_file)) == NULL)
			fatal("strdup");
		kfd = open_at_start(SPAWN_AUDIT_KEY, key_file);
		if (key_load(&audit_cfg.hash, kfd, errno, err, sizeof(err)) ==
		    -1)
			fatalx("audit: %s", err);
	}
}

/* The files named at start, for the spawner to open again: path or NULL. */
void
audit_paths(const char *paths[SPAWN_AUDIT_N])
{
	paths[SPAWN_AUDIT_LOG] = audit_cfg.enabled && sink_has_file()
					 ? audit_cfg.log_path
					 : NULL;
	paths[SPAWN_AUDIT_POLICY] = audit_cfg.policy_path;
	paths[SPAWN_AUDIT_KEY] = audit_cfg.key_path;
}

/*
 * SIGHUP: a new key replaces the old one for the records made from here on,
 * the first of which says so; a key that cannot be used leaves the old one.
 */
static void
key_reload(int kfd, int kerr)
{
	struct audit_hash nh;
	char err[512];

	if (key_load(&nh, kfd, kerr, err, sizeof(err)) == -1) {
		log_warnx("audit: key not reloaded: %s; keeping the previous "
			  "key",
			  err);
		audit_note("audit", "key-rejected", err);
		return;
	}
	if (strcmp(nh.id, audit_cfg.hash.id) != 0) {
		/* What was answered before the signal, under the old key. */
		audit_drain();
		explicit_bzero(&audit_cfg.hash, sizeof(audit_cfg.hash));
		audit_cfg.hash = nh;
		log_info("audit: key reloaded from %s, key id %s",
			 audit_cfg.key_path, audit_cfg.hash.id);
		audit_note_key("audit", "key-loaded", audit_cfg.key_path);
	}
	explicit_bzero(&nh, sizeof(nh));
}

/*
 * SIGHUP: take the reopened file (logrotate moved it), re-read the key and
 * the policy. fds[i] is the file the spawner opened again, or -1 with
 * errs[i] saying why; each is closed here.
 */
void
audit_reload(const int fds[SPAWN_AUDIT_N], const int errs[SPAWN_AUDIT_N])
{
	struct audit_policy *np;
	char err[512];

	if (!audit_cfg.enabled)
		return;
	if (sink_has_file()) {
		/* What the old file takes now goes there; the rest follows. */
		sink_write();
		errno = errs[SPAWN_AUDIT_LOG];
		if (fds[SPAWN_AUDIT_LOG] == -1 ||
		    sink_use(fds[SPAWN_AUDIT_LOG]) == -1) {
			log_warn("audit: reopening %s, still writing to the "
				 "old file",
				 audit_cfg.log_path);
			audit_note("audit", "reopen-failed", strerror(errno));
		} else
			audit_note_key("audit", "reopened", audit_cfg.log_path);
	}
	if (audit_cfg.key_path != NULL)
		key_reload(fds[SPAWN_AUDIT_KEY], errs[SPAWN_AUDIT_KEY]);
	if (audit_cfg.policy_path == NULL)
		return;
	np = policy_load(fds[SPAWN_AUDIT_POLICY], errs[SPAWN_AUDIT_POLICY], err,
			 sizeof(err));
	if (np == NULL) {
		log_warnx("audit: policy not reloaded: %s; keeping the "
			  "previous policy",
			  err);
		audit_note("audit", "policy-rejected", err);
		return;
	}
	audit_policy_free(audit_cfg.policy);
	audit_cfg.policy = np;
	snprintf(err, sizeof(err), "%s (%zu rules)", audit_cfg.policy_path,
		 audit_policy_nrules(audit_cfg.policy));
	log_info("audit: policy reloaded from %s", err);
	audit_note("audit", "policy-loaded", err);
}
