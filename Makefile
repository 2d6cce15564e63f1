# ctswap: one build for the engine library, the CLI, tests and benchmarks.
# Sources are found by wildcard so a subsystem adds files without editing this.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -fPIC -D_GNU_SOURCE
override CPPFLAGS += -Iinclude -Ikernel
LDLIBS  := -lcgroup -llzma -lxxhash -ljansson -lpthread

ENGINE_SRCS := $(sort $(shell find kernel -name '*.c'))
ENGINE_OBJS := $(ENGINE_SRCS:.c=.o)
CLI_SRCS    := $(sort $(wildcard tools/ctswap/*.c))
CLI_OBJS    := $(CLI_SRCS:.c=.o)
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:.c=)
WORK_SRCS   := $(sort $(wildcard tests/workloads/*.c))
WORK_BINS   := $(WORK_SRCS:.c=)
TOOL_SRCS   := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS   := $(TOOL_SRCS:.c=)
BENCH_SRCS  := $(sort $(wildcard bench/*.c))
BENCH_BINS  := $(BENCH_SRCS:.c=)
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_A  := libctswap.a
LIB_SO := libctswap.so
CLI    := tools/ctswap/ctswap

.PHONY: all test asan demo bench fuzz install clean deps
all: $(LIB_A) $(LIB_SO) $(CLI) $(WORK_BINS) $(TOOL_BINS)

%.o: %.c $(wildcard include/*.h) $(shell find kernel -name '*.h')
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(ENGINE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(ENGINE_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libctswap.so.1 -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(CLI): $(CLI_OBJS) $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c $(LIB_A)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS) -lcmocka

tests/tools/%: tests/tools/%.c $(LIB_A)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

# Workloads are the programs under test, not our code: never sanitized
# (an ASan process carries terabytes of shadow mappings to dump).
WORK_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
tests/workloads/%: tests/workloads/%.c
	$(CC) $(WORK_CFLAGS) -o $@ $< -lpthread

bench/%: bench/%.c $(LIB_A)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

deps:
	./scripts/setup-deps.sh

# The README's test command: installs what is missing, builds, runs every test.
test: deps all $(UNIT_BINS)
	./tests/run-all.sh

asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" all $(UNIT_BINS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./tests/run-all.sh

demo: deps all
	./scripts/demo.sh

bench: deps all $(BENCH_BINS)
	./bench/run.sh

fuzz:
	./tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/ctswap
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libctswap.so.1
	ln -sf libctswap.so.1 $(DESTDIR)$(PREFIX)/lib/libctswap.so
	install -m 0644 include/ctswap.h $(DESTDIR)$(PREFIX)/include/
	for s in tools/scripts/ctswap-*; do [ -f "$$s" ] && install -m 0755 "$$s" $(DESTDIR)$(PREFIX)/bin/ || true; done

clean:
	rm -f $(ENGINE_OBJS) $(CLI_OBJS) $(LIB_A) $(LIB_SO) $(CLI) $(UNIT_BINS) $(WORK_BINS) $(TOOL_BINS) $(BENCH_BINS)
