// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update of the engine, the broker's part: the binary the engine names
 * with XS_CONTROL live-update -f is opened and checked here, by the broker,
 * since it is the broker that will run it with the engine's privileges. The
 * engine only names a path; what is run is a file root (or the broker's own
 * user) owns and nobody else can have changed, and an engine build: it
 * carries the note of include/engine_note.h.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "engine_note.h"

/* The most program headers, and bytes of notes, looked through. */
#define NOTE_PHDRS_MAX 64
#define NOTE_BYTES_MAX 4096

static size_t
align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Whether the notes in p[0..len) include ours with description desc. */
static int
has_note(const uint8_t *p, size_t len, const char *desc)
{
	static const char name[] = XS_NOTE_NAME;
	size_t desclen = strlen(desc) + 1;
	Elf64_Nhdr nh;
	size_t off = 0, nsz, dsz;

	while (len - off >= sizeof(nh)) {
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		nsz = align4(nh.n_namesz);
		dsz = align4(nh.n_descsz);
		if (nh.n_namesz > len - off || nsz > len - off ||
		    nh.n_descsz > len - off - nsz || dsz > len - off - nsz)
			return 0;
		if (nh.n_type == XS_NOTE_TYPE && nh.n_namesz == sizeof(name) &&
		    memcmp(p + off, name, sizeof(name)) == 0 &&
		    nh.n_descsz == desclen &&
		    memcmp(p + off + nsz, desc, desclen) == 0)
			return 1;
		off += nsz + dsz;
	}
	return 0;
}

/*
 * Whether fd is a 64-bit ELF file of this machine's byte order with our
 * note, description desc, in a PT_NOTE segment. Every size in the file is
 * checked before it is used.
 */
int
liveupdate_is_build(int fd, const char *desc)
{
	uint8_t notes[NOTE_BYTES_MAX];
	Elf64_Phdr ph[NOTE_PHDRS_MAX];
	Elf64_Ehdr eh;
	size_t i, n;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] !=
		    (htole16(1) == 1 ? ELFDATA2LSB : ELFDATA2MSB) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > NOTE_PHDRS_MAX)
		return 0;
	n = eh.e_phnum * sizeof(Elf64_Phdr);
	if (pread(fd, ph, n, (off_t)eh.e_phoff) != (ssize_t)n)
		return 0;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof(notes))
			continue;
		n = (size_t)ph[i].p_filesz;
		if (pread(fd, notes, n, (off_t)ph[i].p_offset) == (ssize_t)n &&
		    has_note(notes, n, desc))
			return 1;
	}
	return 0;
}

/*
 * Opens path as the next engine binary, at fd min_fd or above, or as a
 * broker build to replace the broker with, or as a xenstore daemon to
 * hand the store to if it is neither but one of daemons[] (the list fixed
 * at start); *kind says which. Returns the
 * fd, or -1 with the errno the engine is told: ENOENT (no such file),
 * EINVAL (not a regular file, or a symbolic link), EACCES (not executable,
 * or someone other than root or us owns it or may write it), ENOEXEC
 * (neither an engine nor a daemon of the list).
 *
 * The path is first opened without being opened: O_PATH reads nothing and
 * has no effect on a FIFO (whose open would block the broker) or a device
 * (a watchdog that reboots the host when closed without its magic write).
 * Only a regular file is then opened for reading, through /proc/self/fd, so
 * that it is the very file that was checked.
 */
static int
listed(const char *path, char *const daemons[])
{
	size_t i;

	for (i = 0; daemons != NULL && daemons[i] != NULL; i++)
		if (strcmp(daemons[i], path) == 0)
			return 1;
	return 0;
}

int
liveupdate_open(const char *path, int min_fd, char *const daemons[], int *kind)
{
	char self[64];
	struct stat st;
	int pfd, fd = -1, nfd, err;

	if ((pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err = errno;
		errno = err == ENOENT || err == ENOTDIR ? ENOENT
			: err == EACCES || err == EPERM ? EACCES
							: EINVAL;
		return -1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	if (fstat(pfd, &st) == -1 || !S_ISREG(st.st_mode))
		err = EINVAL;
	else if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0 ||
		 (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
		 (st.st_uid != 0 && st.st_uid != geteuid()))
		err = EACCES;
	else if ((fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY |
					  O_CLOEXEC)) == -1)
		err = EINVAL;
	else if ((*kind = liveupdate_is_build(fd, XS_NOTE_DESC)
				  ? SPAWN_LU_ENGINE
			  : liveupdate_is_build(fd, XS_NOTE_DESC_BROKER)
				  ? SPAWN_LU_BROKER
			  : listed(path, daemons) ? SPAWN_LU_DAEMON
						  : 0) == 0)
		err = ENOEXEC;
	else if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, min_fd)) == -1)
		err = errno == EMFILE ? EMFILE : EINVAL;
	else {
		close(fd);
		close(pfd);
		return nfd;
	}
	if (fd != -1)
		close(fd);
	close(pfd);
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
