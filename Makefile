# libcollab - one Makefile, no configure step.
#
#   make              build/libcollab.a and the programs in build/bin/
#   make test         unit suites under ASan+UBSan, fuzz smoke, integration
#   make run          make deps, build, start the demo server
#   make bench        codec, echo and server benchmarks (tests/bench/)
#   make fuzz         every libFuzzer target for FUZZ_SECONDS (default 60)
#   make lint         cppcheck and clang-tidy
#   make deps         apt-get/npm what a fresh Debian 12 machine lacks
#   make install      PREFIX=/usr/local DESTDIR=

B        := build
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 3

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   := $(WARN) $(HARDEN)
LDFLAGS  := -pie -Wl,-z,relro,-z,now

COLLAB_DIR   := libcollab
COLLAB_BUILD := $(B)/obj/lib
COLLAB_LIB   := $(B)/libcollab.a
include libcollab/libcollab.mk

CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)

# --- the server's modules (everything in server/ but main.c) ---------------
SRV_SRCS := $(filter-out server/main.c,$(wildcard server/*.c))
SRV_OBJS := $(patsubst server/%.c,$(B)/obj/srv/%.o,$(SRV_SRCS))
SRV_LIB  := $(B)/libcollab-server.a

$(B)/obj/srv/%.o: server/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g $(CFLAGS) -Iserver -MMD -MP -c $< -o $@
$(SRV_LIB): $(SRV_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)$(AR) rcs $@ $^

# --- programs ---------------------------------------------------------------
# A tool is tools/collab-NAME.c, or a folder tools/collab-NAME/ of .c files
# when one file would pass ~800 lines.
TOOL_DIRS := $(patsubst %/,%,$(wildcard tools/collab-*/))
TOOL_SRCS := $(wildcard tools/collab-*.c) $(wildcard tools/collab-*/*.c)
PROGRAMS  := $(patsubst tools/%.c,$(B)/bin/%,$(wildcard tools/collab-*.c)) \
             $(patsubst tools/%,$(B)/bin/%,$(TOOL_DIRS))
.SECONDEXPANSION:
TOOL_DEPS = $$(wildcard tools/collab-$$*.c tools/collab-$$*/*.c tools/collab-$$*/*.h)
ifneq ($(wildcard server/main.c),)
PROGRAMS  += $(B)/bin/collab-server
endif

$(B)/bin/collab-server: server/main.c $(SRV_LIB) $(COLLAB_LIB)
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g $(CFLAGS) -Iserver $(LDFLAGS) -o $@ $< $(SRV_LIB) $(COLLAB_LIB) $(COLLAB_LDLIBS)
$(B)/bin/collab-%: $(TOOL_DEPS) $(SRV_LIB) $(COLLAB_LIB)
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g $(CFLAGS) -Iserver -Itools $(LDFLAGS) -o $@ $(filter %.c,$^) $(SRV_LIB) $(COLLAB_LIB) $(COLLAB_LDLIBS) -lm

.PHONY: all
all: $(COLLAB_LIB) $(PROGRAMS)
.DEFAULT_GOAL := all
# Keep intermediate objects of chained pattern rules (fuzz and sanitizer
# flavours) so a second `make` rebuilds nothing.
.SECONDARY:

-include $(SRV_OBJS:.o=.d)

# --- sanitizer flavour for tests --------------------------------------------
# Everything a test links is rebuilt with ASan+UBSan; -O1 keeps traces useful.
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SCFLAGS  := $(COLLAB_CFLAGS) -O1 -g $(WARN) $(SAN)
A        := $(B)/asan
A_LIB_OBJS := $(patsubst libcollab/src/%.c,$(A)/lib/%.o,$(COLLAB_SRCS))
A_SRV_OBJS := $(patsubst server/%.c,$(A)/srv/%.o,$(SRV_SRCS))

$(A)/lib/%.o: libcollab/src/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Ilibcollab/src -MMD -MP -c $< -o $@
$(A)/srv/%.o: server/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Iserver -MMD -MP -c $< -o $@
$(A)/libcollab.a: $(A_LIB_OBJS)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)$(AR) rcs $@ $^
$(A)/libcollab-server.a: $(A_SRV_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "  AR    $@"
	$(Q)$(AR) rcs $@ $^

UNIT_SRCS := $(wildcard tests/unit/check_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(A)/%,$(UNIT_SRCS))
$(A)/check_%: tests/unit/check_%.c $(wildcard tests/unit/*.h) $(A)/libcollab-server.a $(A)/libcollab.a
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Iserver -Itests/unit -o $@ $< $(A)/libcollab-server.a $(A)/libcollab.a $(COLLAB_LDLIBS) $(CHECK_LIBS)

# Sanitized programs, for the integration tests.
A_PROGRAMS := $(patsubst $(B)/bin/%,$(A)/bin/%,$(PROGRAMS))
$(A)/bin/collab-server: server/main.c $(A)/libcollab-server.a $(A)/libcollab.a
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Iserver -o $@ $< $(A)/libcollab-server.a $(A)/libcollab.a $(COLLAB_LDLIBS)
$(A)/bin/collab-%: $(TOOL_DEPS) $(A)/libcollab-server.a $(A)/libcollab.a
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Iserver -Itools -o $@ $(filter %.c,$^) $(A)/libcollab-server.a $(A)/libcollab.a $(COLLAB_LDLIBS) -lm

-include $(A_LIB_OBJS:.o=.d) $(A_SRV_OBJS:.o=.d)

.PHONY: unit
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
		echo "== $$t"; CK_FORK=yes $$t; done

# --- fuzzing (clang/libFuzzer) -----------------------------------------------
FZ       := $(B)/fuzz
FCC      ?= clang
FCFLAGS  := $(COLLAB_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
F_LIB_OBJS := $(patsubst libcollab/src/%.c,$(FZ)/lib/%.o,$(COLLAB_SRCS))
F_SRV_OBJS := $(patsubst server/%.c,$(FZ)/srv/%.o,$(SRV_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FZ)/%,$(FUZZ_SRCS))

$(FZ)/lib/%.o: libcollab/src/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(FCC) $(FCFLAGS) -Ilibcollab/src -c $< -o $@
$(FZ)/srv/%.o: server/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(FCC) $(FCFLAGS) -Iserver -c $< -o $@
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(F_LIB_OBJS) $(F_SRV_OBJS)
	@echo "  CC    $@"
	$(Q)$(FCC) $(FCFLAGS) -Iserver -fsanitize=fuzzer -o $@ $^ $(COLLAB_LDLIBS)

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)
fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(SMOKE_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)

# --- integration --------------------------------------------------------------
# C peers used by integration tests (tests/integration/it_*.c), sanitized.
IT_SRCS := $(wildcard tests/integration/it_*.c)
IT_BINS := $(patsubst tests/integration/%.c,$(A)/bin/%,$(IT_SRCS))
$(A)/bin/it_%: tests/integration/it_%.c $(A)/libcollab-server.a $(A)/libcollab.a
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(SCFLAGS) -Iserver -o $@ $< $(A)/libcollab-server.a $(A)/libcollab.a $(COLLAB_LDLIBS) -lm

.PHONY: integration vendor-test unit-js e2e
integration: $(A_PROGRAMS) $(PROGRAMS) $(IT_BINS)
	@ASAN_BIN=$(A)/bin BIN=$(B)/bin tests/integration/run.sh
vendor-test:
	@tests/integration/vendor_test.sh
# The browser client's unit tests (node's own runner, no dependencies).
unit-js:
	@node --test tests/unit/js/
# Real Chromium: collab-echo over ws:// and wss://, and the demo page
# against the release server.
e2e: $(PROGRAMS)
	@mkdir -p $(B)/e2e
	@BIN=$(CURDIR)/$(B)/bin NODE_PATH=$(CURDIR)/tests/node/node_modules \
		node tests/e2e/test_echo_browser.js
	@BIN=$(CURDIR)/$(B)/bin E2E_OUT=$(CURDIR)/$(B)/e2e NODE_PATH=$(CURDIR)/tests/node/node_modules \
		node tests/e2e/test_demo.js

# --- the top-level commands ---------------------------------------------------
.PHONY: test
test: all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-js
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory vendor-test
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory e2e

.PHONY: deps
deps:
	@.ci/deps

.PHONY: run
run: deps all
	@server/run-demo.sh

BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
$(B)/bench/bench_%: tests/bench/bench_%.c $(COLLAB_LIB) $(SRV_LIB)
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g -Wall -Wextra -Werror -Iserver -o $@ $< $(SRV_LIB) $(COLLAB_LIB) $(COLLAB_LDLIBS) -lcjson -lwslay -lm

# Programs the script benchmarks drive (not run on their own by make bench).
BENCH_TOOLS := $(B)/bench/loadgen $(B)/bench/kernel_baseline
$(B)/bench/loadgen: tests/bench/loadgen.c $(COLLAB_LIB)
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g $(CFLAGS) $(LDFLAGS) -o $@ $< $(COLLAB_LIB) $(COLLAB_LDLIBS)
$(B)/bench/kernel_baseline: tests/bench/kernel_baseline.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	$(Q)$(CC) $(COLLAB_CFLAGS) -O2 -g $(CFLAGS) $(LDFLAGS) -o $@ $<

.PHONY: bench
bench: all $(BENCH_BINS) $(BENCH_TOOLS)
	@BIN=$(B)/bin BENCH=$(B)/bench tests/bench/run.sh

.PHONY: lint
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr -D_GNU_SOURCE -Ilibcollab/include \
		libcollab/src $(wildcard server tools)
	clang-tidy --quiet $(COLLAB_SRCS) $(SRV_SRCS) $(TOOL_SRCS) $(wildcard server/main.c) -- -Itools \
		$(COLLAB_CFLAGS) -Ilibcollab/src -Iserver

.PHONY: install
install: $(COLLAB_LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/collab $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(COLLAB_LIB) $(DESTDIR)$(PREFIX)/lib/libcollab.a
	install -m 644 libcollab/include/collab/*.h $(DESTDIR)$(PREFIX)/include/collab/
	sed -e 's|@PREFIX@|$(PREFIX)|g' libcollab/collab.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/collab.pc
	@if [ -n "$(wildcard $(PROGRAMS))" ]; then install -d $(DESTDIR)$(PREFIX)/bin && install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/; fi

.PHONY: clean
clean:
	rm -rf $(B)
