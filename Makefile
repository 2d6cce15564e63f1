# ctswap: one build for the engine library, the CLI, tests and benchmarks.
# Sources are found by wildcard so a subsystem adds files without editing this.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -fPIC -D_GNU_SOURCE
# The engine, tests and benchmarks see kernel/ headers; the CLI sees only
# the public API (include/ctswap.h): the build enforces that boundary.
override CPPFLAGS += -Iinclude
ENGINE_CPPFLAGS := $(CPPFLAGS) -Ikernel
# Header dependencies come from the compiler (-MMD -MP; the .d files sit beside the objects).
DEPFLAGS := -MMD -MP
LDLIBS  := -lcgroup -llzma -lxxhash -ljansson -lpthread
# O=DIR/ puts every object, library and binary of ours under DIR (a second
# build beside the normal one, e.g. the sanitized copy `make test` runs);
# test workloads are never built there.
override O := $(if $(O),$(patsubst %/,%,$(O))/)

ENGINE_SRCS := $(sort $(shell find kernel -name '*.c'))
ENGINE_OBJS := $(addprefix $(O),$(ENGINE_SRCS:.c=.o))
CLI_SRCS    := $(sort $(wildcard tools/ctswap/*.c))
CLI_OBJS    := $(addprefix $(O),$(CLI_SRCS:.c=.o))
# The criu-compatible RPC front end (tools/criu-rpc/): a tool like the CLI,
# plus the C code protoc-c generates from its .proto (into the build tree).
CRPC_SRCS   := $(sort $(wildcard tools/criu-rpc/*.c))
CRPC_GEN    := $(O)tools/criu-rpc/gen
CRPC_PB_O   := $(CRPC_GEN)/crpc.pb-c.o
CRPC_OBJS   := $(addprefix $(O),$(CRPC_SRCS:.c=.o)) $(CRPC_PB_O)
CRPC        := $(O)tools/criu-rpc/criu
CRPC_CLIENT := $(O)tests/tools/crpc_client
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(addprefix $(O),$(UNIT_SRCS:.c=))
WORK_SRCS   := $(sort $(wildcard tests/workloads/*.c))
WORK_BINS   := $(WORK_SRCS:.c=)
TOOL_SRCS   := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS   := $(addprefix $(O),$(TOOL_SRCS:.c=))
BENCH_SRCS  := $(sort $(wildcard bench/*.c))
BENCH_BINS  := $(addprefix $(O),$(BENCH_SRCS:.c=))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
EX_SRCS     := $(sort $(wildcard examples/*.c))
EX_BINS     := $(addprefix $(O),$(EX_SRCS:.c=))
SCRIPTS     := $(sort $(wildcard tools/scripts/ctswap-*))
MAN_PAGES   := $(sort $(wildcard man/*.[358]))
LIB_MAP     := kernel/ctswap.map
VERSION     := 0.1

LIB_A  := $(O)libctswap.a
LIB_SO := $(O)libctswap.so
CLI    := $(O)tools/ctswap/ctswap

# The sanitized copy `make test` builds and runs a part of the suite against.
ASAN_DIR     := build-asan
ASAN_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_LDFLAGS := -fsanitize=address,undefined

.PHONY: all test asan sanitized demo bench fuzz install clean deps
all: $(LIB_A) $(LIB_SO) $(CLI) $(CRPC) $(WORK_BINS) $(TOOL_BINS) $(EX_BINS)

$(O)kernel/%.o: kernel/%.c
	@mkdir -p $(@D)
	$(CC) $(ENGINE_CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)tools/ctswap/%.o: tools/ctswap/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -c -o $@ $<

$(CRPC_GEN)/crpc.pb-c.c $(CRPC_GEN)/crpc.pb-c.h: tools/criu-rpc/crpc.proto
	@mkdir -p $(CRPC_GEN)
	protoc-c --proto_path=tools/criu-rpc --c_out=$(CRPC_GEN) $<

$(CRPC_PB_O): $(CRPC_GEN)/crpc.pb-c.c $(CRPC_GEN)/crpc.pb-c.h
	$(CC) $(CPPFLAGS) -I$(CRPC_GEN) $(CFLAGS) -c -o $@ $<

$(O)tools/criu-rpc/%.o: tools/criu-rpc/%.c | $(CRPC_GEN)/crpc.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CRPC_GEN) $(DEPFLAGS) $(CFLAGS) -c -o $@ $<

$(CRPC): $(CRPC_OBJS) $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $(CRPC_OBJS) $(LIB_A) $(LDFLAGS) $(LDLIBS) -lprotobuf-c

# The test client of the front end speaks the same protocol (tests/bats/80-criu-rpc.bats).
$(CRPC_CLIENT): tests/tools/crpc_client.c $(CRPC_PB_O)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CRPC_GEN) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(CRPC_PB_O) $(LDFLAGS) -lprotobuf-c

$(LIB_A): $(ENGINE_OBJS)
	rm -f $@ && ar rcs $@ $^

# Only the API of include/ctswap.h is exported, under the version node CTSWAP_1.
$(LIB_SO): $(ENGINE_OBJS) $(LIB_MAP)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libctswap.so.1 -Wl,--version-script,$(LIB_MAP) \
		-o $@ $(ENGINE_OBJS) $(LDFLAGS) $(LDLIBS)
	ln -sf libctswap.so $(O)libctswap.so.1

$(CLI): $(CLI_OBJS) $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

$(O)tests/unit/test_%: tests/unit/test_%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ENGINE_CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS) -lcmocka

$(O)tests/tools/%: tests/tools/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ENGINE_CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

# Examples use the library as a program would: the public header and the shared library.
$(O)examples/%: examples/%.c include/ctswap.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CFLAGS) -o $@ $< -L$(or $(O),.) -lctswap -Wl,-rpath,'$$ORIGIN/..' $(LDFLAGS)

# Workloads are the programs under test, not our code: never sanitized
# (an ASan process carries terabytes of shadow mappings to dump).
WORK_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
tests/workloads/%: tests/workloads/%.c tests/workloads/common.h
	$(CC) $(WORK_CFLAGS) -o $@ $< -lpthread

$(O)bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ENGINE_CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

-include $(ENGINE_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(CRPC_OBJS:.o=.d) $(addsuffix .d,$(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS))

deps:
	./scripts/setup-deps.sh

# The README's test command: installs what is missing, builds, runs every test,
# then a part of the suite again against an ASan+UBSan copy in $(ASAN_DIR)/
# (tests/run-all.sh: the "# asan:" lines; counted in its last line).
test: deps all $(UNIT_BINS)
	$(MAKE) -j$$(nproc) O=$(ASAN_DIR)/ CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" sanitized
	CTSWAP_ASAN_DIR=$(ASAN_DIR) ./tests/run-all.sh

# What the sanitized part of `make test` runs: library, CLI, unit tests (use with O=).
sanitized: $(LIB_A) $(LIB_SO) $(CLI) $(CRPC) $(CRPC_CLIENT) $(UNIT_BINS)

# The whole suite against a sanitized in-tree build (`make clean; make` afterwards).
asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" all $(UNIT_BINS)
	CTSWAP_SANITIZED=1 ./tests/run-all.sh

demo: deps all
	./scripts/demo.sh

# Benchmarks need more than the tests (gnuplot for the plot, redis for a workload).
bench: deps all $(BENCH_BINS)
	./scripts/setup-deps.sh bench
	./bench/run.sh

fuzz:
	./tests/fuzz/run.sh

LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions

# The CLI, the library (static, shared with its soname link), header, pkg-config file,
# admin scripts, man pages and bash completion; DESTDIR stages the tree elsewhere.
# The criu-compatible front end goes to LIBDIR/ctswap/criu-compat/criu, out of
# PATH: a runtime uses it only when its PATH puts that directory first, or when
# CRIU_LINK=PATH (e.g. /usr/local/sbin/criu) asks for a link there.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(LIBDIR)/ctswap/criu-compat \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/ctswap
	install -m 0755 $(CRPC) $(DESTDIR)$(LIBDIR)/ctswap/criu-compat/criu
	if [ -n "$(CRIU_LINK)" ]; then install -d $(DESTDIR)$$(dirname $(CRIU_LINK)) && \
		ln -sf $(LIBDIR)/ctswap/criu-compat/criu $(DESTDIR)$(CRIU_LINK); fi
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libctswap.so.1
	ln -sf libctswap.so.1 $(DESTDIR)$(LIBDIR)/libctswap.so
	install -m 0644 include/ctswap.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|; s|@LIBS@|$(LDLIBS)|' \
		ctswap.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/ctswap.pc
	for s in $(SCRIPTS); do install -m 0755 "$$s" $(DESTDIR)$(PREFIX)/bin/; done
	for m in $(MAN_PAGES); do sec=$${m##*.}; install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man$$sec/; done
	install -m 0644 completion/ctswap.bash $(DESTDIR)$(COMPDIR)/ctswap

clean:
	rm -f $(CRPC_OBJS) $(CRPC_OBJS:.o=.d) $(CRPC) && rm -rf $(CRPC_GEN)
	rm -f $(ENGINE_OBJS) $(CLI_OBJS) $(ENGINE_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(addsuffix .d,$(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS))
	rm -f $(LIB_A) $(LIB_SO) $(O)libctswap.so.1 $(CLI) $(UNIT_BINS) $(WORK_BINS) $(TOOL_BINS) $(BENCH_BINS) $(EX_BINS)
	rm -rf $(ASAN_DIR)
