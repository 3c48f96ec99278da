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

#include "engine_opts.h"

enum lu_option {
	LU_OPT_NO,    /* not allowed */
	LU_OPT_ALONE, /* allowed, takes no value */
	LU_OPT_VALUE, /* allowed, the next word is its value */
};

/*
 * Exact words only: getopt_long would take "--unsafe" for a longer name.
 * The options with a value are those of include/engine_opts.h.
 */
static inline enum lu_option
lu_option(const char *w)
{
	static const char *const alone[] = {"-K", "-V", "--keep-orphans",
					    "--verbose", NULL};
	size_t i;

	if (engine_opt_word(w) != NULL)
		return LU_OPT_VALUE;
	for (i = 0; alone[i] != NULL; i++)
		if (strcmp(w, alone[i]) == 0)
			return LU_OPT_ALONE;
	return LU_OPT_NO;
}

/*
 * The value of option opt as the engine's own command line takes it: one
 * the next engine would refuse must not get as far as starting it. Never
 * an option itself, which getopt might read as one.
 */
static inline int
lu_value_ok(const char *opt, const char *v)
{
	const struct engine_opt *row;
	unsigned long n;

	return engine_opt_parse(engine_opt_word(opt), v, &row, &n) == EOPT_OK;
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
			if (i + 1 == n || !lu_value_ok(words[i], words[i + 1]))
				return 0;
			i++;
			break;
		}
	}
	return 1;
}

#endif
