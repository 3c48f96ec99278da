// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update of the engine, the broker's part: the binary the engine names
 * with XS_CONTROL live-update -f is opened and checked here, by the broker,
 * since it is the broker that will run it with the engine's privileges. The
 * engine only names a path; what is run is a file root (or the broker's own
 * user) owns and nobody else can have changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"

/*
 * Opens path as the next engine binary, at fd min_fd or above. Returns the
 * fd, or -1 with the errno the engine is told: ENOENT (no such file),
 * EINVAL (not a regular file), EACCES (not executable, or someone other
 * than root or us owns it or may write it).
 */
int
liveupdate_open(const char *path, int min_fd)
{
	struct stat st;
	int fd, nfd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		errno = err == ENOENT || err == ENOTDIR ? ENOENT
			: err == EACCES || err == EPERM ? EACCES
							: EINVAL;
		return -1;
	}
	if (fstat(fd, &st) == -1)
		err = EINVAL;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0 ||
		 (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
		 (st.st_uid != 0 && st.st_uid != geteuid()))
		err = EACCES;
	else if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, min_fd)) == -1)
		err = errno == EMFILE ? EMFILE : EINVAL;
	else {
		close(fd);
		return nfd;
	}
	close(fd);
	errno = err;
	return -1;
}

/*
 * argv with args added before its terminating NULL and argv[0] replaced
 * by name: the command line of the next engine. NULL when out of memory.
 */
char **
liveupdate_argv(char *const argv[], const char *name, char *const args[],
		size_t nargs)
{
	size_t n = 0, i;
	char **v;

	while (argv[n] != NULL)
		n++;
	if ((v = calloc(n + nargs + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = i == 0 ? strdup(name) : strdup(argv[i]);
	for (i = 0; i < nargs; i++)
		v[n + i] = strdup(args[i]);
	for (i = 0; i < n + nargs; i++)
		if (v[i] == NULL)
			break;
	if (i == n + nargs)
		return v;
	for (i = 0; i < n + nargs; i++)
		free(v[i]);
	free(v);
	return NULL;
}

void
liveupdate_argv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
