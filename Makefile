# SPDX-License-Identifier: GPL-2.0-only
#
# make            build build/bin/xs-broker and build/bin/xs-engine
# make run        install what is missing, build, run in the foreground
# make check      install what is missing, build, run every test
# make format-check  fail if a C file is not as clang-format has it
# make man-check  fail if mandoc finds a warning in a manual page
# make san        the same binaries with ASan+UBSan in build-san/
# make fuzz       the libFuzzer targets in build-fuzz/
# make format     clang-format every C file
# make bench      split-xenstored vs C xenstored vs oxenstored (~15 min)
# make bench-smoke  every benchmark workload, small, checked (~1 min)
# make soak       SOAK_DOMAINS simulated domains for SOAK_SECONDS (~12 min)
# make check-soak the soak for one minute, 100 domains, sanitizer build
# make deb        the Debian package in build/deb/ (debian/)
# make deb-check  build it, lint it, install, run and purge it in a
#                 throwaway root (tests/deb/)

B ?= build
CC ?= cc
PROTOC_C ?= protoc-c
OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
# The project's own flags come first and the user's CPPFLAGS, CFLAGS and
# LDFLAGS after them, so that a user's flags add to ours (a later -O wins)
# instead of replacing the include paths and the warnings.
XS_CPPFLAGS := -D_GNU_SOURCE -Iinclude -I$(B)/gen
XS_CFLAGS := -std=c11 $(WARN)
# Each object's headers, as the compiler saw them, in a .d file beside it.
DEPFLAGS := -MMD -MP
ALL_CPPFLAGS = $(XS_CPPFLAGS) $(HARDEN_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(XS_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)
# What a link takes from its prerequisites: the .d files add headers.
LINK_IN = $(filter %.c %.o %.a,$^)

# xs-broker starts as root and reads what guests write: stack canaries,
# probes that keep the stack from jumping over its guard page, checked
# string and memory calls, a randomised base and a read-only GOT.
# _FORTIFY_SOURCE needs the optimiser (glibc warns, and -Werror stops the
# build, without it) and gives way to the user's own choice of it. The
# sanitizer and fuzz builds go without: ASan replaces the same calls and
# checks more.
HARDEN ?= 1
ifeq ($(HARDEN),1)
HARDEN_CFLAGS := -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
HARDEN_OPT = $(lastword $(filter -O%,$(CFLAGS)))
HARDEN_FORTIFY = $(if $(filter-out -O0,$(HARDEN_OPT)),-D_FORTIFY_SOURCE=2)
HARDEN_CPPFLAGS = $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,$(HARDEN_FORTIFY))
endif
LDLIBS_PB := -lprotobuf-c
# The engine's compressed snapshots (engine/zsnap.c).
LDLIBS_ZSTD := -lzstd
LDLIBS_XEN := -lxenctrl -lxenevtchn -lxengnttab
# sd_notify(), from the spawner once the broker serves.
LDLIBS_SYSTEMD := -lsystemd
LDLIBS_SANDBOX := -lseccomp -lcap-ng
LDLIBS_YAJL := -lyajl
# The audit log's SHA-256.
LDLIBS_CRYPTO := -lnettle
# The engine's seccomp allow-list; the sanitizer build adds what its
# runtime needs.
SECCOMP_POLICY ?= policy/engine.seccomp
# The broker's; the same way.
BROKER_SECCOMP_POLICY ?= policy/broker.seccomp

RUNDIR ?= $(CURDIR)/run
FUZZ_SECONDS ?= 20

ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c))
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c))
PROTO_SRC := $(wildcard proto/*.c)
GEN_C := $(B)/gen/xsp.pb-c.c
GEN_H := $(B)/gen/xsp.pb-c.h $(B)/gen/seccomp_policy.h \
	$(B)/gen/broker_seccomp.h $(B)/gen/broker_xensim_seccomp.h \
	$(B)/gen/spawner_caps.h $(B)/gen/audit_policy.h

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
BROKER_OBJ := $(call obj,$(BROKER_SRC))
PROTO_OBJ := $(call obj,$(PROTO_SRC)) $(B)/obj/gen/xsp.pb-c.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRC))

.PHONY: all deps run check unit integration san check-san fuzz check-fuzz \
	xen-test format format-check man-check clean install bench bench-smoke \
	soak check-soak deb deb-check FORCE

PREFIX ?= /usr/local
.DEFAULT_GOAL := all
.SUFFIXES:

all: $(B)/bin/xs-broker $(B)/bin/xs-engine $(B)/bin/xs-audit $(B)/bin/xs-dump

# The packages, and the system users the daemon runs as (scripts/users.sh),
# so that the tests and make run use the real model on a fresh machine.
deps:
	@scripts/deps.sh
	@scripts/users.sh

$(GEN_C) $(B)/gen/xsp.pb-c.h: proto/xsp.proto
	@mkdir -p $(B)/gen
	$(PROTOC_C) --proto_path=proto --c_out=$(B)/gen $<

# Which policy files the header was made from: rewritten only when the
# list changes, so that a build directory made with another SECCOMP_POLICY
# gets its header made again (the files' dates alone would not say so).
$(B)/gen/seccomp_policy.files: FORCE
	@mkdir -p $(B)/gen
	@echo '$(SECCOMP_POLICY)' | cmp -s - $@ || echo '$(SECCOMP_POLICY)' > $@

$(B)/gen/seccomp_policy.h: $(SECCOMP_POLICY) $(B)/gen/seccomp_policy.files \
		scripts/gen-seccomp.py
	@mkdir -p $(B)/gen
	python3 scripts/gen-seccomp.py $@ $(SECCOMP_POLICY)

$(B)/gen/broker_seccomp.files: FORCE
	@mkdir -p $(B)/gen
	@echo '$(BROKER_SECCOMP_POLICY)' | cmp -s - $@ || \
		echo '$(BROKER_SECCOMP_POLICY)' > $@

$(B)/gen/broker_seccomp.h: $(BROKER_SECCOMP_POLICY) \
		$(B)/gen/broker_seccomp.files scripts/gen-seccomp.py
	@mkdir -p $(B)/gen
	python3 scripts/gen-seccomp.py --role broker broker_seccomp $@ \
		$(BROKER_SECCOMP_POLICY)

$(B)/gen/broker_xensim_seccomp.h: policy/broker-xensim.seccomp \
		scripts/gen-seccomp.py
	@mkdir -p $(B)/gen
	python3 scripts/gen-seccomp.py --role broker broker_xensim_seccomp $@ $<

FORCE:

# policy/spawner.caps as C initialisers, {"CAP_NAME", "why"}, for broker/privs.c.
$(B)/gen/spawner_caps.h: policy/spawner.caps
	@mkdir -p $(B)/gen
	awk '/^[ \t]*(#|$$)/ { next } /^CAP_[A-Z_]+[ \t]+#[ \t]*[^ \t]/ && !/["\\]/ { n = $$1; sub(/^[^#]*#[ \t]*/, ""); printf "{\"%s\", \"%s\"},\n", n, $$0; next } { print FILENAME ":" FNR ": want CAP_NAME # reason" > "/dev/stderr"; exit 1 }' $< > $@.tmp
	mv $@.tmp $@

# policy/audit.policy as a C string, the broker's built-in audit policy.
$(B)/gen/audit_policy.h: policy/audit.policy
	@mkdir -p $(B)/gen
	{ echo 'static const char audit_policy_default[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp
	mv $@.tmp $@

# The generated headers are made before anything is compiled; after that
# each object's .d file says which of them, and which other headers, it
# was compiled from.
$(B)/obj/gen/xsp.pb-c.o: $(GEN_C)
	@mkdir -p $(@D)
	$(CC) -I$(B)/gen $(HARDEN_CPPFLAGS) $(CPPFLAGS) -std=c11 \
		$(HARDEN_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/lib/libengine.a: $(ENGINE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/lib/libbroker.a: $(BROKER_OBJ) $(PROTO_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/xs-engine: $(B)/obj/engine/main.o $(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_SANDBOX)

$(B)/bin/xs-broker: $(B)/obj/broker/main.o $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB) $(LDLIBS_XEN) $(LDLIBS_SYSTEMD) \
		$(LDLIBS_SANDBOX) $(LDLIBS_CRYPTO)

# Escapes and hashes --value as the broker does: its audit_fmt.c.
# xs-dump: a tool of its own, so that the engine the spawner runs carries
# none of the code that copies another process's memfds as root; its
# sandboxed parser is the engine's restore, in the engine's sandbox.
DUMP_SRC := $(wildcard tools/xs-dump/*.c)
DUMP_OBJ := $(call obj,$(DUMP_SRC))
$(DUMP_OBJ): ALL_CPPFLAGS += -Iengine

$(B)/lib/libdump.a: $(filter-out %/main.o,$(DUMP_OBJ))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/xs-dump: $(B)/obj/tools/xs-dump/main.o $(B)/lib/libdump.a \
		$(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_SANDBOX)

$(B)/tests/test_dump_check: tests/unit/test_dump_check.c $(B)/lib/libdump.a \
		$(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Iengine -Itools/xs-dump $(ALL_CFLAGS) $(DEPFLAGS) \
		$(ALL_LDFLAGS) -o $@ $(LINK_IN) -lcmocka $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_SANDBOX)

$(B)/bin/xs-audit: tools/xs-audit.c $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Ibroker $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) \
		-o $@ $(LINK_IN) $(LDLIBS_YAJL) $(LDLIBS_CRYPTO)

$(B)/tests/test_%: tests/unit/test_%.c $(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Iengine $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) \
		-o $@ $(LINK_IN) -lcmocka $(LDLIBS_PB) $(LDLIBS_ZSTD) $(LDLIBS_SANDBOX)

# The engine's stream for C xenstored 4.17, checked as the broker checks it.
$(B)/tests/test_state_c417: tests/unit/test_state_c417.c $(B)/lib/libengine.a \
		$(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Iengine -Ibroker $(ALL_CFLAGS) $(DEPFLAGS) \
		$(ALL_LDFLAGS) -o $@ $(LINK_IN) -lcmocka $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_SANDBOX)

# The broker's pure pieces, from its library.
$(B)/tests/test_broker_%: tests/unit/test_broker_%.c $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Ibroker $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) \
		-o $@ $(LINK_IN) -lcmocka $(LDLIBS_PB) $(LDLIBS_XEN) $(LDLIBS_SYSTEMD) $(LDLIBS_SANDBOX) \
		$(LDLIBS_YAJL) $(LDLIBS_CRYPTO)

# The spawner's test checks a live update of the engine built beside it.
$(B)/tests/test_broker_spawner: $(B)/bin/xs-engine

# Runs forbidden calls inside the broker's and the engine's real filters.
$(B)/tests/seccomp_probe: tests/tools/seccomp_probe.c $(B)/lib/libbroker.a \
		$(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Ibroker -Iengine $(ALL_CFLAGS) $(DEPFLAGS) \
		$(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB) $(LDLIBS_XEN) $(LDLIBS_SYSTEMD) \
		$(LDLIBS_SANDBOX) $(LDLIBS_YAJL) $(LDLIBS_CRYPTO) $(LDLIBS_ZSTD)

# The broker's check of a stream for C xenstored 4.17, on a file.
$(B)/tests/handover_check: tests/tools/handover_check.c $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Ibroker $(ALL_CFLAGS) $(DEPFLAGS) \
		$(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB)

$(B)/tests/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $(LINK_IN) \
		-lxenstore

# The simulated hypervisor of the integration tests (tests/xensim/). The two
# shared libraries are loaded into programs without a sanitizer runtime
# (Debian's xenstored/oxenstored, python3), so they drop the sanitizer flags.
XENSIM_CORE := tests/xensim/core.c tests/xensim/xensim.h
XENSIM_CFLAGS = $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS))
XENSIM_BIN := $(B)/xensim/libxensim.so $(B)/xensim/libxsguest.so \
	$(B)/xensim/xensim

$(B)/xensim/libxensim.so: tests/xensim/preload.c $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(XS_CFLAGS) $(HARDEN_CFLAGS) $(XENSIM_CFLAGS) \
		-fPIC -shared $(LDFLAGS) -o $@ \
		tests/xensim/preload.c tests/xensim/core.c -ldl

$(B)/xensim/libxsguest.so: tests/xensim/guest.c tests/xensim/guest.h $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(XS_CFLAGS) $(HARDEN_CFLAGS) $(XENSIM_CFLAGS) \
		-fPIC -shared $(LDFLAGS) -o $@ \
		tests/xensim/guest.c tests/xensim/core.c

$(B)/xensim/xensim: tests/xensim/ctl.c $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ \
		tests/xensim/ctl.c tests/xensim/core.c

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(TOOL_BIN) $(XENSIM_BIN)
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 -m pytest -q tests/integration tests/xsa

run: deps all
	@mkdir -p $(RUNDIR)
	@echo "XENSTORED_PATH=$(RUNDIR)/socket"
	XENSTORED_RUNDIR=$(RUNDIR) $(B)/bin/xs-broker -N --socket-only

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer.
san:
	$(MAKE) B=build-san CC=clang-14 HARDEN=0 \
		SECCOMP_POLICY="policy/engine.seccomp policy/engine-sanitizer.seccomp" \
		BROKER_SECCOMP_POLICY="policy/broker.seccomp policy/broker-sanitizer.seccomp" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		all $(patsubst $(B)/%,build-san/%,$(UNIT_BIN) $(TOOL_BIN) $(XENSIM_BIN))

check-san: san
	@set -e; for t in $(patsubst $(B)/%,build-san/%,$(UNIT_BIN)); do \
		echo "== $$t"; $$t; done
	XS_BUILD=$(CURDIR)/build-san XS_EXTRA="--engine-as-limit 0" \
		XS_XSA_KINDS=ours \
		/usr/bin/python3 -m pytest -q tests/integration tests/xsa

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))

# Made by the sub-make below, whose B is build-fuzz: the targets find
# build-fuzz/gen's headers, made with the libraries they link.
$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(B)/lib/libengine.a $(B)/lib/libbroker.a
	$(CC) $(ALL_CPPFLAGS) -Iengine -Ibroker $(ALL_CFLAGS) -fsanitize=fuzzer \
		$(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $(LINK_IN) $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_XEN) $(LDLIBS_SYSTEMD) $(LDLIBS_SANDBOX) $(LDLIBS_YAJL) \
		$(LDLIBS_CRYPTO)

fuzz:
	$(MAKE) B=build-fuzz CC=clang-14 HARDEN=0 \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
		$(FUZZ_BIN)

# Each target runs from its seeds for FUZZ_SECONDS; a finding fails the
# check and leaves the reproducer in build-fuzz/.
check-fuzz: fuzz
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "== $$n for $(FUZZ_SECONDS)s"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=build-fuzz/$$n- \
			build-fuzz/corpus/$$n tests/fuzz/seeds/$$n \
			> build-fuzz/$$n.log 2>&1; then \
			tail -40 build-fuzz/$$n.log; echo "$$n: FAILED"; exit 1; \
		fi; grep -E "stat::number_of_executed_units" build-fuzz/$$n.log; \
		done

# Debian's Xen 4.17 booted under QEMU's emulation: dom0 from an initramfs
# and two PV guests talk to xs-broker over real rings (tests/xen).
xen-test: all
	@scripts/deps.sh xen
	sh tests/xen/build.sh $(B)/xen $(B)/bin
	XS_XEN_IMAGES=$(CURDIR)/$(B)/xen /usr/bin/python3 -m pytest -q tests/xen

check: deps all
	$(MAKE) format-check
	$(MAKE) man-check
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) check-san
	$(MAKE) check-soak
	$(MAKE) check-fuzz
	$(MAKE) deb-check
	$(MAKE) bench-smoke
	@echo "check: all suites passed"

MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
MAN8 := $(wildcard man/*.8)

man-check:
	mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN8)

# The broker looks for xs-engine beside itself; the broker and the engine
# run as system users of their own, created here if they are missing.
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(B)/bin/xs-broker $(B)/bin/xs-engine $(B)/bin/xs-dump \
		$(DESTDIR)$(PREFIX)/sbin/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/bin/xs-audit $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/
	@if [ -z "$(DESTDIR)" ]; then scripts/users.sh; fi

# The Debian package, built by dpkg-buildpackage (debian/rules: dh, the
# flags of dpkg-buildflags) from a copy of the tree in $(B)/deb/: it writes
# its results beside the tree it builds, and the checkout's parent is not
# ours to write to. DEB_BUILD_OPTIONS passes on (nocheck: no make unit).
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = $(B)/deb/split-xenstored_$(DEB_VERSION)_$(DEB_ARCH).deb

deb:
	rm -rf $(B)/deb
	mkdir -p $(B)/deb/split-xenstored
	tar --exclude-vcs --exclude=./build --exclude='./build-*' \
		--exclude=./$(B) --exclude=./run -cf - . | \
		tar -C $(B)/deb/split-xenstored -xf -
	cd $(B)/deb/split-xenstored && dpkg-buildpackage -us -uc -b -J2 \
		> ../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	rm -rf $(B)/deb/split-xenstored
	@echo "deb: $(DEB)"

# make check ran make unit on this tree already: the package's build
# skips it.
deb-check:
	$(MAKE) deb DEB_BUILD_OPTIONS=nocheck
	sh tests/deb/check.sh $(DEB) $(B)/deb/build.log

# Benchmarks (bench/): bench/xsload is the C load generator, bench/run.py
# starts each daemon under the simulated hypervisor and reports. Results go
# to bench/results/ (not in git); BENCH_ARGS passes options to run.py.
$(B)/bench/xsload: bench/xsload.c tests/xensim/guest.h $(B)/xensim/libxsguest.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/xensim $(ALL_CFLAGS) $(DEPFLAGS) \
		$(ALL_LDFLAGS) -o $@ $< -L$(B)/xensim -lxsguest -Wl,-rpath,$(CURDIR)/$(B)/xensim -lpthread

bench: deps all $(XENSIM_BIN) $(B)/bench/xsload
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 bench/run.py $(BENCH_ARGS)

bench-smoke: all $(XENSIM_BIN) $(B)/bench/xsload
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 bench/run.py --quick $(BENCH_ARGS)

# The soak (tests/soak/soak.py, docs/soak.md): domains created, used,
# attacked and destroyed for SOAK_SECONDS; the daemon must serve them all
# and be back to its warm-up memory and fds once they are gone. make soak
# writes its summary to docs/soak.md; make check-soak runs it for a minute
# in the sanitizer build, where LeakSanitizer checks the broker's exit.
SOAK_SECONDS ?= 600
SOAK_DOMAINS ?= 1000

soak: all $(XENSIM_BIN)
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 tests/soak/soak.py \
		--seconds $(SOAK_SECONDS) --domains $(SOAK_DOMAINS) \
		--report docs/soak.md

check-soak: san
	XS_BUILD=$(CURDIR)/build-san XS_EXTRA="--engine-as-limit 0" \
		/usr/bin/python3 tests/soak/soak.py --seconds 60 --domains 100

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(B)/obj/*/*.d $(B)/obj/*/*/*.d $(B)/bin/*.d $(B)/tests/*.d \
	$(B)/bench/*.d $(B)/fuzz_*.d)
