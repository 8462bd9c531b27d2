# tasks-vs-threads: make | make bench | make test | make plots | make clean
#
# Release binaries go to bin/, objects to build/release/. A sanitizer build
# (SANITIZER=address|undefined|thread) keeps its objects and binaries under
# build/<sanitizer>/ so it never mixes with the release one. O=DIR moves the
# build folder and BIN=DIR the release binaries (a second checkout's build).

CC        ?= cc
SANITIZER ?=
WERROR    ?=
PROFILE   ?= quick
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wimplicit-fallthrough

O ?= build

ifeq ($(SANITIZER),)
BUILD   := $(O)/release
BIN     ?= bin
SANFLAGS :=
else ifeq ($(SANITIZER),address)
BUILD   := $(O)/address
BIN     := $(BUILD)/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZER),undefined)
BUILD   := $(O)/undefined
BIN     := $(BUILD)/bin
SANFLAGS := -fsanitize=undefined -fno-sanitize-recover=undefined
else ifeq ($(SANITIZER),thread)
BUILD   := $(O)/thread
BIN     := $(BUILD)/bin
SANFLAGS := -fsanitize=thread
else
$(error SANITIZER must be address, undefined or thread, not '$(SANITIZER)')
endif

CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) $(WERROR) $(SANFLAGS) -D_GNU_SOURCE -Icommon -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  := -lev -lhttp_parser -ljansson -lpthread -lm

# obj(src...) -> the object files of a list of sources in this build
obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROGRAMS :=
TESTS    :=

# The version lives in one object (common/version.c), rebuilt when the stamp's text changes:
# an incremental build never keeps an older commit in a result or a hello.
VERSION_STAMP := $(BUILD)/version.stamp
$(shell mkdir -p $(BUILD) && (echo '$(VERSION)' | cmp -s - $(VERSION_STAMP) || \
        echo '$(VERSION)' > $(VERSION_STAMP)))
$(BUILD)/common/version.o: $(VERSION_STAMP)
$(BUILD)/common/version.o: CFLAGS += -DTVT_VERSION='"$(VERSION)"'

include common/build.mk
include async_impl/build.mk
include thread_impl/build.mk
include uring_impl/build.mk
-include harness/build.mk
-include microbench/build.mk
include tests/build.mk

.PHONY: all deps test bench plots fuzz contestants compare clean format format-check help
.SECONDARY: # keep objects: they are not intermediates to delete
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory programs

.PHONY: programs
programs: $(PROGRAMS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BIN)/%:
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# make test: warnings are errors; release build, then the sanitizer builds run
# the same integration tests (ASan+UBSan for everything, TSan for the threaded
# code). See tests/build.mk for what runs.
test: deps
	@scripts/run_tests.sh

bench: all
	@scripts/bench.sh --profile $(PROFILE) $(if $(SERVER_CPUS),--server-cpus $(SERVER_CPUS)) \
	    $(if $(HOSTS),--hosts $(HOSTS) --server-on $(SERVER_ON) --clients-on $(CLIENTS_ON))

plots:
	@scripts/plots.sh results/latest

# Tokio, Rust-thread, Go and nginx servers speaking the same protocol, and the
# Tokio microbenchmark, where their toolchains are installed
# (scripts/contestants.sh says what it skipped).
contestants:
	@scripts/deps.sh --contestants
	@scripts/contestants.sh build

# async_server vs nginx, and the harness vs wrk, measured in one sitting.
compare: all
	@scripts/compare.sh

# make fuzz: every libFuzzer target, in parallel, until FUZZ_RUNS executions each (at most
# FUZZ_SECONDS), then the source coverage its corpus reaches; the corpus grows from run to
# run in results/fuzz/corpus/.
FUZZ_RUNS    ?= 10000000
FUZZ_SECONDS ?= 540
fuzz: deps
	@scripts/fuzz.sh --runs $(FUZZ_RUNS) --seconds $(FUZZ_SECONDS) --coverage

clean:
	rm -rf build bin

SOURCES := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(SOURCES)
format-check:
	@clang-format --dry-run --Werror $(SOURCES)

help:
	@sed -n '1p' Makefile
	@echo "  make                 build bin/ (installs missing Debian packages as root)"
	@echo "  make test            unit + integration tests, sanitizer builds included"
	@echo "  make bench           the default sweep (PROFILE=smoke|quick|full, SERVER_CPUS=K), plots, report"
	@echo "                       across hosts: HOSTS=FILE SERVER_ON=NAME CLIENTS_ON=NAME[,NAME...]"
	@echo "  make fuzz            libFuzzer targets: FUZZ_RUNS executions each (10M, at most FUZZ_SECONDS), coverage"
	@echo "  make contestants     Tokio, Rust-thread, Go and nginx servers and tokio_micro, where their toolchains are"
	@echo "  make compare         async_server vs nginx, harness vs wrk, several rounds"
	@echo "  make SANITIZER=address|undefined|thread   sanitizer build under build/<name>/"

-include $(shell find $(BUILD) -name "*.d" 2>/dev/null)
