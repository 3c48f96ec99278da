/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The user the engine's code runs as when nobody names one: the broker's
 * engine, and the parser of xs-engine --dump, which reads what an engine
 * wrote and so deserves no more.
 */
#ifndef XS_ENGINE_USER_H
#define XS_ENGINE_USER_H

#include <pwd.h>
#include <stddef.h>

/* Its own if the system has one, else nobody. */
#define ENGINE_USER_DEFAULT "xs-engine"
#define ENGINE_USER_FALLBACK "nobody"

/*
 * The entry of name, or of the default when name is NULL; NULL if there is
 * none (with errno set when the lookup failed rather than found nothing:
 * clear it first). *used is the name looked up last. The caller refuses
 * uid or gid 0: the sandbox would keep what it exists to take away.
 */
static inline struct passwd *
engine_user_lookup(const char *name, const char **used)
{
	struct passwd *pw;

	*used = name != NULL ? name : ENGINE_USER_DEFAULT;
	pw = getpwnam(*used);
	if (pw == NULL && name == NULL)
		pw = getpwnam(*used = ENGINE_USER_FALLBACK);
	return pw;
}

#endif
