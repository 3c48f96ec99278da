/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The engine options that XS_CONTROL live-update -c may put on the next
 * engine's command line: quotas and their like, nothing that touches the
 * sandbox. The engine refuses any other for its client; the broker, which
 * starts the next engine with the privileges the sandbox then drops,
 * refuses them again from the engine, which is not trusted to have done so.
 */
#ifndef XS_LU_OPTIONS_H
#define XS_LU_OPTIONS_H

#include <string.h>

enum lu_option {
	LU_OPT_NO,    /* not allowed */
	LU_OPT_ALONE, /* allowed, takes no value */
	LU_OPT_VALUE, /* allowed, the next word is its value */
};

/* Exact words only: getopt_long would take "--unsafe" for a longer name. */
static inline enum lu_option
lu_option(const char *w)
{
	static const char *const with_value[] = {"-E",
						 "-S",
						 "-W",
						 "-t",
						 "-A",
						 "-M",
						 "-Q",
						 "-q",
						 "-w",
						 "--entry-nb",
						 "--entry-size",
						 "--watch-nb",
						 "--transaction",
						 "--perm-nb",
						 "--path-max",
						 "--quota",
						 "--quota-soft",
						 "--timeout",
						 NULL};
	static const char *const alone[] = {"-K", "-V", "--keep-orphans",
					    "--verbose", NULL};
	size_t i;

	for (i = 0; with_value[i] != NULL; i++)
		if (strcmp(w, with_value[i]) == 0)
			return LU_OPT_VALUE;
	for (i = 0; alone[i] != NULL; i++)
		if (strcmp(w, alone[i]) == 0)
			return LU_OPT_ALONE;
	return LU_OPT_NO;
}

/*
 * A value: a number or NAME=NUMBER, so letters, digits, '=', '_' and '-'
 * past the first character. Never an option itself, which getopt might
 * read as one.
 */
static inline int
lu_value_ok(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && v[0] != '-' &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789=_-") == n;
}

/* Whether words[0..n) is a command line of allowed options and values. */
static inline int
lu_args_ok(char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (lu_option(words[i])) {
		case LU_OPT_NO:
			return 0;
		case LU_OPT_ALONE:
			break;
		case LU_OPT_VALUE:
			if (++i == n || !lu_value_ok(words[i]))
				return 0;
			break;
		}
	}
	return 1;
}

#endif
