# leaktrace: records Python calls of a live CPython with eBPF, finds leakage.
#   make            build .output/leaktrace
#   make static     build .output/static/leaktrace: the whole agent linked
#                   statically (libbpf, libelf, capstone, zlib, glibc) from
#                   Debian's .a files; runs in any distribution's root
#   make image      podman image of it, FROM scratch (deploy/; IMAGE=, PODMAN_OPTS=)
#   make offline    build .output-offline/leaktrace: the offline commands
#                   only (analyze, detect, export, import-paper), with a C
#                   compiler, zlib and libc; no clang, bpftool, libbpf, libelf
#   sudo make test  install missing Debian packages, build, run every test
#   sudo make demo  install, build, run the image-classifier demo end to end
#   make bench      benchmarks, results in docs/PERFORMANCE.md
# V=1 shows the commands.
OUTPUT := .output
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
CC ?= gcc
PY ?= /usr/bin/python3.11
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -Wno-missing-field-initializers -I$(OUTPUT) -Iuser -Ibpf
LDLIBS := -lbpf -lelf -lcapstone -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))
# The offline half (trace model, readers, writers, analysis): a library that
# needs neither the BPF skeletons nor the generated offsets, libbpf or libelf.
# Its headers include only each other (common <- trace <- analysis).
OFFLINE_SRCS := $(wildcard user/common/*.c user/trace/*.c user/analysis/*.c)
OFFLINE_HDRS := $(wildcard user/*.h user/common/*.h user/trace/*.h user/analysis/*.h)
OFFLINE_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(OFFLINE_SRCS))
BPF_USER_OBJS := $(filter-out $(OFFLINE_OBJS),$(USER_OBJS))
LIBLT := $(OUTPUT)/libleaktrace.a
# `leaktrace --version`: git describe when built from a checkout
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all deps test demo experiments bench fuzz install clean offline static image FORCE
all: $(OUTPUT)/leaktrace $(TEST_BINS) $(OUTPUT)/pysites

deps:
	$(Q)tools/deps.sh

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

USER_HDRS := $(wildcard user/*.h user/*/*.h)

FORCE:
# lt_version.h is rewritten only when the version changes
%/lt_version.h: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)printf '#define LT_VERSION "%s"\n' '$(VERSION)' > $@.tmp; \
	cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(OFFLINE_OBJS): $(OUTPUT)/user/%.o: user/%.c $(OFFLINE_HDRS) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/user/main.o: $(OUTPUT)/lt_version.h

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) $(wildcard bpf/*.h) $(SKELS) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBLT): $(OFFLINE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/leaktrace: $(BPF_USER_OBJS) $(LIBLT)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# ---- the offline build: the library and main.c without record, built with
# no include path to bpf/ or the generated headers, linked with zlib and libc
OFFLINE_OUT := .output-offline
OFFLINE_CFLAGS := -g -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -Iuser -I$(OFFLINE_OUT) -DLT_OFFLINE
OFFLINE_LIB_OBJS := $(patsubst user/%.c,$(OFFLINE_OUT)/user/%.o,$(OFFLINE_SRCS))

$(OFFLINE_OUT)/user/%.o: user/%.c $(OFFLINE_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(OFFLINE_CFLAGS) -c $< -o $@

$(OFFLINE_OUT)/user/main.o: $(OFFLINE_OUT)/lt_version.h

$(OFFLINE_OUT)/libleaktrace.a: $(OFFLINE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OFFLINE_OUT)/leaktrace: $(OFFLINE_OUT)/user/main.o $(OFFLINE_OUT)/libleaktrace.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(OFFLINE_CFLAGS) $^ -lz -lm -lpthread -o $@

offline: $(OFFLINE_OUT)/leaktrace

# ---- the static agent: the same objects as .output/leaktrace, linked with
# -static so that it needs no libbpf/libelf of the host (Debian 12's
# libbpf1/libelf1 are absent from other distributions' roots). Debian's
# libelf.a is built without zstd (no ZSTD_ symbol), so zlib is enough; a
# libelf.a that needs zstd gets -lzstd (libzstd-dev). Stripped: the debug
# info of the normal build serves for debugging.
STATIC_ZSTD := $(shell nm $$($(CC) -print-file-name=libelf.a) 2>/dev/null | grep -q ' U ZSTD_' && echo -lzstd)
STATIC_LDLIBS := -lbpf -lelf -lcapstone -lz $(STATIC_ZSTD) -lm -lpthread

$(OUTPUT)/static/leaktrace: $(BPF_USER_OBJS) $(LIBLT)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static $^ $(STATIC_LDLIBS) -o $@.tmp
	$(Q)strip $@.tmp && mv $@.tmp $@

static: $(OUTPUT)/static/leaktrace

# ---- the agent image (deploy/Containerfile): FROM scratch + the static
# binary, built with podman from a context holding only those two files
IMAGE ?= localhost/leaktrace:dev
PODMAN_OPTS ?= --runtime runc
image: $(OUTPUT)/static/leaktrace
	$(call msg,IMAGE,$(IMAGE))
	$(Q)rm -rf $(OUTPUT)/image && mkdir -p $(OUTPUT)/image
	$(Q)cp $< deploy/Containerfile $(OUTPUT)/image/
	$(Q)podman build $(PODMAN_OPTS) -q -t $(IMAGE) $(OUTPUT)/image

# probe sites of a CPython binary, without debug info (debugging aid)
$(OUTPUT)/pysites: tools/pysites.c $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) $(LDLIBS) -o $@

# the Debian unstable root and the stripped pyenv copies the version tests
# trace (tools/mkroots.sh: minutes once, then cached in /var/tmp)
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)[ "$$(id -u)" != 0 ] || sh tools/mkroots.sh sid stripped
	$(Q)tests/run.sh $(T)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)experiments/demo.sh

# the paper's four experiments at full scale (about 15 minutes on 2 cores);
# rewrites docs/EXPERIMENTS.md
experiments: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)experiments/experiments.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

install: all
	install -D -m 0755 $(OUTPUT)/leaktrace $(DESTDIR)/usr/local/sbin/leaktrace
	[ ! -f docs/leaktrace.8 ] || install -D -m 0644 docs/leaktrace.8 $(DESTDIR)/usr/local/share/man/man8/leaktrace.8

clean:
	rm -rf $(OUTPUT) $(OFFLINE_OUT)

.DELETE_ON_ERROR:
.SECONDARY:

# ---- sanitizer builds: fuzzing (tests/fuzz) and ASan/UBSan (tests/test_asan.sh)
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_READERS="jsonl gzip paper rules http summary"]
#                   libFuzzer on each reader for FUZZ_SECONDS, clang's
#                   -fsanitize=fuzzer,address,undefined; into .output-fuzz/
#   make asan       unit tests and leaktrace built with -fsanitize=address,
#                   undefined into .output-asan/, then tests/test_asan.sh
FUZZ_OUT := .output-fuzz
FUZZ_SECONDS ?= 60
FUZZ_READERS ?= jsonl gzip paper rules http summary
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Iuser -Itests/fuzz $(SAN_FLAGS)
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/user/%.o,$(OFFLINE_SRCS))
FUZZ_BINS := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_READERS))

$(FUZZ_OUT)/user/%.o: user/%.c $(OFFLINE_HDRS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) -lz -lm -lpthread -o $@

ASAN_OUT := .output-asan
ASAN_CFLAGS := -g -O1 -std=gnu11 -Wall -Wno-unused-parameter -I$(ASAN_OUT) -I$(OUTPUT) -Iuser -Ibpf $(SAN_FLAGS)
ASAN_USER_OBJS := $(patsubst user/%.c,$(ASAN_OUT)/user/%.o,$(USER_SRCS))
ASAN_LIB_OBJS := $(filter-out $(ASAN_OUT)/user/main.o,$(ASAN_USER_OBJS))
ASAN_TEST_BINS := $(patsubst tests/unit/%.c,$(ASAN_OUT)/tests/%,$(TEST_SRCS))

$(ASAN_OUT)/user/main.o: $(ASAN_OUT)/lt_version.h
$(ASAN_OUT)/user/%.o: user/%.c $(USER_HDRS) $(wildcard bpf/*.h) $(SKELS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(ASAN_OUT)/leaktrace: $(ASAN_USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) $^ $(LDLIBS) -o $@

$(ASAN_OUT)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) -Wno-misleading-indentation -Itests/unit $< $(ASAN_LIB_OBJS) $(LDLIBS) -o $@

.PHONY: fuzz-build asan asan-build
fuzz-build: $(FUZZ_BINS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_READERS)

asan-build: $(ASAN_OUT)/leaktrace $(ASAN_TEST_BINS)

asan: deps
	$(Q)$(MAKE) --no-print-directory all asan-build
	$(Q)sh tests/test_asan.sh
