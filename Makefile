# SPDX-License-Identifier: GPL-2.0-only
#
# make            build build/bin/xs-broker and build/bin/xs-engine
# make run        install what is missing, build, run in the foreground
# make check      install what is missing, build, run every test
# make san        the same binaries with ASan+UBSan in build-san/
# make fuzz       the libFuzzer targets in build-fuzz/
# make format     clang-format every C file
# make bench      split-xenstored vs C xenstored vs oxenstored (~15 min)
# make bench-smoke  every benchmark workload, small, checked (~1 min)

B ?= build
CC ?= cc
PROTOC_C ?= protoc-c
OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -I$(B)/gen $(WARN)
LDLIBS_PB := -lprotobuf-c
# The engine's compressed snapshots (engine/zsnap.c).
LDLIBS_ZSTD := -lzstd
LDLIBS_XEN := -lxenctrl -lxenevtchn -lxengnttab
LDLIBS_SANDBOX := -lseccomp -lcap-ng
LDLIBS_YAJL := -lyajl
# The audit log's SHA-256.
LDLIBS_CRYPTO := -lnettle
# The engine's seccomp allow-list; the sanitizer build adds what its
# runtime needs.
SECCOMP_POLICY ?= policy/engine.seccomp

RUNDIR ?= $(CURDIR)/run
FUZZ_SECONDS ?= 20

ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c))
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c))
PROTO_SRC := $(wildcard proto/*.c)
GEN_C := $(B)/gen/xsp.pb-c.c
GEN_H := $(B)/gen/xsp.pb-c.h $(B)/gen/seccomp_policy.h

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
BROKER_OBJ := $(call obj,$(BROKER_SRC))
PROTO_OBJ := $(call obj,$(PROTO_SRC)) $(B)/obj/gen/xsp.pb-c.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRC))

.PHONY: all deps run check unit integration san check-san fuzz check-fuzz \
	xen-test format clean install bench bench-smoke FORCE

PREFIX ?= /usr/local
ENGINE_USER ?= xs-engine
.DEFAULT_GOAL := all
.SUFFIXES:

all: $(B)/bin/xs-broker $(B)/bin/xs-engine $(B)/bin/xs-audit

deps:
	@scripts/deps.sh

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

FORCE:

# policy/broker.caps as C initialisers, {"CAP_NAME", "why"}, for broker/privs.c.
$(B)/gen/broker_caps.h: policy/broker.caps
	@mkdir -p $(B)/gen
	awk '/^[ \t]*(#|$$)/ { next } /^CAP_[A-Z_]+[ \t]+#[ \t]*[^ \t]/ && !/["\\]/ { n = $$1; sub(/^[^#]*#[ \t]*/, ""); printf "{\"%s\", \"%s\"},\n", n, $$0; next } { print FILENAME ":" FNR ": want CAP_NAME # reason" > "/dev/stderr"; exit 1 }' $< > $@.tmp
	mv $@.tmp $@

$(B)/obj/broker/privs.o: $(B)/gen/broker_caps.h

# policy/audit.policy as a C string, the broker's built-in audit policy.
$(B)/gen/audit_policy.h: policy/audit.policy
	@mkdir -p $(B)/gen
	{ echo 'static const char audit_policy_default[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp
	mv $@.tmp $@

$(B)/obj/broker/audit.o: $(B)/gen/audit_policy.h

$(B)/obj/gen/xsp.pb-c.o: $(GEN_C)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -I$(B)/gen -c -o $@ $<

$(B)/obj/%.o: %.c $(GEN_H) $(wildcard include/*.h engine/*.h broker/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/lib/libengine.a: $(ENGINE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/lib/libbroker.a: $(BROKER_OBJ) $(PROTO_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/xs-engine: $(B)/obj/engine/main.o $(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_PB) $(LDLIBS_ZSTD) \
		$(LDLIBS_SANDBOX)

$(B)/bin/xs-broker: $(B)/obj/broker/main.o $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_PB) $(LDLIBS_XEN) $(LDLIBS_SANDBOX) $(LDLIBS_CRYPTO)

# Escapes and hashes --value as the broker does: its audit_fmt.c.
$(B)/bin/xs-audit: tools/xs-audit.c $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ibroker $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_YAJL) \
		$(LDLIBS_CRYPTO)

$(B)/tests/test_%: tests/unit/test_%.c $(B)/lib/libengine.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iengine $(CFLAGS) $(LDFLAGS) -o $@ $^ \
		-lcmocka $(LDLIBS_PB) $(LDLIBS_ZSTD) $(LDLIBS_SANDBOX)

# The broker's pure pieces, from its library.
$(B)/tests/test_broker_%: tests/unit/test_broker_%.c $(B)/lib/libbroker.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ibroker $(CFLAGS) $(LDFLAGS) -o $@ $^ \
		-lcmocka $(LDLIBS_PB) $(LDLIBS_XEN) $(LDLIBS_SANDBOX) $(LDLIBS_YAJL) \
		$(LDLIBS_CRYPTO)

$(B)/tests/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lxenstore

# The simulated hypervisor of the integration tests (tests/xensim/). The two
# shared libraries are loaded into programs without a sanitizer runtime
# (Debian's xenstored/oxenstored, python3), so they drop the sanitizer flags.
XENSIM_CORE := tests/xensim/core.c tests/xensim/xensim.h
XENSIM_CFLAGS = $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS))
XENSIM_BIN := $(B)/xensim/libxensim.so $(B)/xensim/libxsguest.so \
	$(B)/xensim/xensim

$(B)/xensim/libxensim.so: tests/xensim/preload.c $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(XENSIM_CFLAGS) -fPIC -shared -o $@ \
		tests/xensim/preload.c tests/xensim/core.c -ldl

$(B)/xensim/libxsguest.so: tests/xensim/guest.c tests/xensim/guest.h $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(XENSIM_CFLAGS) -fPIC -shared -o $@ \
		tests/xensim/guest.c tests/xensim/core.c

$(B)/xensim/xensim: tests/xensim/ctl.c $(XENSIM_CORE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
		tests/xensim/ctl.c tests/xensim/core.c

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(TOOL_BIN) $(XENSIM_BIN)
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 -m pytest -q tests/integration

run: deps all
	@mkdir -p $(RUNDIR)
	@echo "XENSTORED_PATH=$(RUNDIR)/socket"
	XENSTORED_RUNDIR=$(RUNDIR) $(B)/bin/xs-broker -N --socket-only

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer.
san:
	$(MAKE) B=build-san CC=clang-14 \
		SECCOMP_POLICY="policy/engine.seccomp policy/engine-sanitizer.seccomp" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		all $(patsubst $(B)/%,build-san/%,$(UNIT_BIN) $(TOOL_BIN) $(XENSIM_BIN))

check-san: san
	@set -e; for t in $(patsubst $(B)/%,build-san/%,$(UNIT_BIN)); do \
		echo "== $$t"; $$t; done
	XS_BUILD=$(CURDIR)/build-san XS_EXTRA="--engine-as-limit 0" \
		/usr/bin/python3 -m pytest -q tests/integration

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz:
	$(MAKE) B=build-fuzz CC=clang-14 \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
		build-fuzz/lib/libengine.a build-fuzz/lib/libbroker.a
	@set -e; for s in $(FUZZ_SRC); do \
		n=$$(basename $$s .c); \
		clang-14 $(CPPFLAGS) -Ibuild-fuzz/gen -Iengine -Ibroker $(FUZZ_FLAGS) \
			-o build-fuzz/$$n $$s build-fuzz/lib/libengine.a \
			build-fuzz/lib/libbroker.a $(LDLIBS_PB) $(LDLIBS_ZSTD) \
			$(LDLIBS_XEN) $(LDLIBS_SANDBOX) \
			$(LDLIBS_YAJL) $(LDLIBS_CRYPTO); done

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
xen-test: deps all
	sh tests/xen/build.sh $(B)/xen $(B)/bin
	XS_XEN_IMAGES=$(CURDIR)/$(B)/xen /usr/bin/python3 -m pytest -q tests/xen

check: deps all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) check-san
	$(MAKE) check-fuzz
	$(MAKE) bench-smoke
	@echo "check: all suites passed"

# The broker looks for xs-engine beside itself; the engine runs as its own
# system user, which is created here if it is missing.
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(B)/bin/xs-broker $(B)/bin/xs-engine $(DESTDIR)$(PREFIX)/sbin/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/bin/xs-audit $(DESTDIR)$(PREFIX)/bin/
	@if [ -z "$(DESTDIR)" ] && ! getent passwd $(ENGINE_USER) >/dev/null; then \
		echo "creating system user $(ENGINE_USER)"; \
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin $(ENGINE_USER); \
	fi

# Benchmarks (bench/): bench/xsload is the C load generator, bench/run.py
# starts each daemon under the simulated hypervisor and reports. Results go
# to bench/results/ (not in git); BENCH_ARGS passes options to run.py.
$(B)/bench/xsload: bench/xsload.c tests/xensim/guest.h $(B)/xensim/libxsguest.so
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/xensim $(CFLAGS) $(LDFLAGS) -o $@ $< \
		-L$(B)/xensim -lxsguest -Wl,-rpath,$(CURDIR)/$(B)/xensim -lpthread

bench: deps all $(XENSIM_BIN) $(B)/bench/xsload
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 bench/run.py $(BENCH_ARGS)

bench-smoke: all $(XENSIM_BIN) $(B)/bench/xsload
	XS_BUILD=$(CURDIR)/$(B) /usr/bin/python3 bench/run.py --quick $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz
