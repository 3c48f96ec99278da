// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference mode only (XS_REFERENCE=1): an LD_PRELOAD stand-in for the
 * hypervisor libraries, so that Debian's C xenstored 4.17 starts on a
 * machine without Xen and serves its Unix socket.  Dom0's ring and port
 * come from plain files in $XENSTORED_RUNDIR; no event ever fires on them.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
static int dummy;
static int efd = -1;
void *
xc_interface_open(void *a, void *b, unsigned f)
{
	return &dummy;
}
int
xc_interface_close(void *x)
{
	return 0;
}
int
xc_domain_getinfo(void *x, uint32_t first, unsigned max, void *info)
{
	return 0;
}
void *
xenevtchn_open(void *l, unsigned f)
{
	if (efd < 0)
		efd = eventfd(0, EFD_NONBLOCK);
	return &dummy;
}
void *
xenevtchn_fdopen(void *l, int fd, unsigned f)
{
	return xenevtchn_open(l, f);
}
int
xenevtchn_fd(void *x)
{
	return efd;
}
int
xenevtchn_bind_virq(void *x, unsigned v)
{
	return 1;
}
int
xenevtchn_bind_interdomain(void *x, uint32_t d, unsigned p)
{
	return 2;
}
int
xenevtchn_notify(void *x, unsigned p)
{
	return 0;
}
int
xenevtchn_pending(void *x)
{
	uint64_t v;
	read(efd, &v, 8);
	return -1;
}
int
xenevtchn_unbind(void *x, unsigned p)
{
	return 0;
}
int
xenevtchn_unmask(void *x, unsigned p)
{
	return 0;
}
void *
xengnttab_open(void *l, unsigned f)
{
	return &dummy;
}
int
xengnttab_close(void *x)
{
	return 0;
}
void *
xengnttab_map_grant_ref(void *x, uint32_t d, uint32_t r, int p)
{
	return NULL;
}
int
xengnttab_set_max_grants(void *x, uint32_t n)
{
	return 0;
}
int
xengnttab_unmap(void *x, void *a, uint32_t c)
{
	return 0;
}
#include <fcntl.h>
#include <stdarg.h>
#include <dlfcn.h>
#include <stdio.h>
static const char *
redir(const char *p, char *buf)
{
	if (strcmp(p, "/proc/xen/xsd_port") == 0 ||
	    strcmp(p, "/proc/xen/xsd_kva") == 0) {
		const char *d = getenv("XENSTORED_RUNDIR");
		snprintf(buf, 512, "%s/fake_%s", d ? d : "/tmp",
			 strrchr(p, '/') + 1);
		if (access(buf, F_OK) != 0) {
			int fd = ((int (*)(const char *, int, ...))dlsym(
				RTLD_NEXT, "open"))(buf, O_RDWR | O_CREAT,
						    0600);
			if (strstr(p, "port"))
				write(fd, "1", 1);
			else
				ftruncate(fd, 4096);
			close(fd);
		}
		return buf;
	}
	return p;
}
int
open(const char *p, int fl, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fl);
	int m = va_arg(ap, int);
	va_end(ap);
	return ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open"))(
		redir(p, buf), fl, m);
}
int
open64(const char *p, int fl, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fl);
	int m = va_arg(ap, int);
	va_end(ap);
	return ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64"))(
		redir(p, buf), fl, m);
}
