/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The options whose values the engine takes: C xenstored 4.17's quotas
 * and --spin-us. One table, because three parties read them: the broker
 * checks them on its own command line and hands them to the engine as
 * given, the engine sets them, and a live update's -c may set them again
 * (include/lu_options.h), checked by the engine for its client and by the
 * broker and spawner, which do not trust the engine. A value one of them
 * took and another refused would start an engine that dies at once.
 */
#ifndef XS_ENGINE_OPTS_H
#define XS_ENGINE_OPTS_H

#include <limits.h>
#include <stddef.h>
#include <string.h>

enum engine_opt_id {
	EOPT_ENTRY_NB,
	EOPT_ENTRY_SIZE,
	EOPT_WATCH_NB,
	EOPT_TRANSACTION,
	EOPT_PERM_NB,
	EOPT_PATH_MAX,
	EOPT_TXN_NODES,
	EOPT_MEMORY,
	EOPT_OUTSTANDING,
	EOPT_MEMORY_SOFT,
	EOPT_WATCH_EVENT,
	EOPT_SPIN_US,
};

struct engine_opt {
	char letter;      /* the short option, or 0 */
	const char *name; /* the long option */
	const char *what; /* WHAT of WHAT=N, or NULL for N alone */
	enum engine_opt_id id;
	unsigned long max;
};

/*
 * C xenstored reads each number as an int, 0 to INT_MAX. Its watch-event
 * timeout becomes milliseconds in that int, so the most seconds it holds
 * is INT_MAX / 1000; the engine keeps the same milliseconds.
 */
static const struct engine_opt engine_opts[] = {
	{'E', "entry-nb", NULL, EOPT_ENTRY_NB, INT_MAX},
	{'S', "entry-size", NULL, EOPT_ENTRY_SIZE, INT_MAX},
	{'W', "watch-nb", NULL, EOPT_WATCH_NB, INT_MAX},
	{'t', "transaction", NULL, EOPT_TRANSACTION, INT_MAX},
	{'A', "perm-nb", NULL, EOPT_PERM_NB, INT_MAX},
	{'M', "path-max", NULL, EOPT_PATH_MAX, INT_MAX},
	{'Q', "quota", "transaction-nodes", EOPT_TXN_NODES, INT_MAX},
	{'Q', "quota", "memory", EOPT_MEMORY, INT_MAX},
	{'Q', "quota", "outstanding", EOPT_OUTSTANDING, INT_MAX},
	{'q', "quota-soft", "memory", EOPT_MEMORY_SOFT, INT_MAX},
	{'w', "timeout", "watch-event", EOPT_WATCH_EVENT, INT_MAX / 1000},
	/* The broker's and engine's wait for work: up to a second. */
	{0, "spin-us", NULL, EOPT_SPIN_US, 1000000},
};

#define ENGINE_OPTS_N (sizeof(engine_opts) / sizeof(engine_opts[0]))

/* Why a value was refused. */
enum engine_opt_err {
	EOPT_OK,
	EOPT_NOT_OURS,   /* not an option of the table */
	EOPT_NOT_NAMED,  /* WHAT=N expected, no '=' */
	EOPT_BAD_WHAT,   /* no such WHAT for this option */
	EOPT_BAD_NUMBER, /* not decimal digits from 0 to the row's max */
};

/* The first row of the option named by word: "-E", "--entry-nb". */
static inline const struct engine_opt *
engine_opt_word(const char *word)
{
	size_t i;

	for (i = 0; i < ENGINE_OPTS_N; i++) {
		if (word[0] != '-')
			break;
		if (engine_opts[i].letter != 0 &&
		    word[1] == engine_opts[i].letter && word[2] == '\0')
			return &engine_opts[i];
		if (word[1] == '-' &&
		    strcmp(word + 2, engine_opts[i].name) == 0)
			return &engine_opts[i];
	}
	return NULL;
}

/* The first row of the short option letter (a getopt return value). */
static inline const struct engine_opt *
engine_opt_letter(int letter)
{
	size_t i;

	for (i = 0; i < ENGINE_OPTS_N; i++)
		if (letter != 0 && engine_opts[i].letter == letter)
			return &engine_opts[i];
	return NULL;
}

/* Digits only, no sign or space, at most max. */
static inline int
engine_opt_number(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	return 0;
}

/*
 * The value arg of the option whose first row is o: the row it sets in
 * *row (the matching WHAT's) and the number in *v. On a bad number *row is
 * still the row, for its max.
 */
static inline enum engine_opt_err
engine_opt_parse(const struct engine_opt *o, const char *arg,
		 const struct engine_opt **row, unsigned long *v)
{
	const char *num = arg, *eq;
	size_t i, len;

	*row = o;
	if (o == NULL)
		return EOPT_NOT_OURS;
	if (o->what != NULL) {
		if ((eq = strchr(arg, '=')) == NULL)
			return EOPT_NOT_NAMED;
		len = (size_t)(eq - arg);
		for (i = (size_t)(o - engine_opts); i < ENGINE_OPTS_N; i++)
			if (strcmp(engine_opts[i].name, o->name) == 0 &&
			    strlen(engine_opts[i].what) == len &&
			    strncmp(engine_opts[i].what, arg, len) == 0)
				break;
		if (i == ENGINE_OPTS_N)
			return EOPT_BAD_WHAT;
		*row = &engine_opts[i];
		num = eq + 1;
	}
	return engine_opt_number(num, (*row)->max, v) == -1 ? EOPT_BAD_NUMBER
							    : EOPT_OK;
}

#endif
