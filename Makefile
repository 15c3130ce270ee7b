# SPDX-License-Identifier: GPL-2.0
#
# vfio-mig: build the kernel modules out of tree, the userspace tools and
# tests, and run everything in a test VM.  `make help` lists the targets.

KVER ?= 6.1
CACHE ?= $(CURDIR)/.cache
BUILD ?= $(CURDIR)/build
VM_TIMEOUT ?= 1200

export VFIO_MIG_CACHE := $(CACHE)
# Where the debug kernel is built once, for every clone (scripts/build-debug-kernel).
KCACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vfio-mig
export VFIO_MIG_KCACHE := $(KCACHE)

# Default KDIR: the headers of the Debian kernel KVER resolves to
# (scripts/kernels.conf, scripts/fetch-kernel.sh), downloaded into $(CACHE).
# KREL asks only when used: the default build goes through scripts/build-modules.
ifeq ($(origin KDIR),undefined)
ifeq ($(shell awk '$$1 !~ /^\#/ && $$1 == "$(KVER)"' scripts/kernels.conf),)
$(error unknown KVER=$(KVER); see scripts/kernels.conf)
endif
KREL = $(shell scripts/fetch-kernel.sh --release $(KVER))
KDIR = $(CACHE)/kernels/$(KREL)/root/usr/src/linux-headers-$(KREL)
KDIR_FETCH := kernel-cache
endif
# PICK=newest: the newest kernels and QEMU of each series, not the tested ones.
ifdef PICK
export VFIO_MIG_PICK := $(PICK)
endif

VM := tools/testing/vm/run --kernel $(KVER) --timeout $(VM_TIMEOUT)

# The project's one version: the modules, the client, the packages.
VERSION := $(shell cat VERSION)

# Userspace flags: the project's own, then the builder's (Debian's
# dpkg-buildflags exports CFLAGS, CPPFLAGS and LDFLAGS with the hardening
# options).  -Werror only where asked for (WERROR=1: the project's CI), so a
# newer compiler's new warning does not break someone else's build.
CFLAGS ?= -O2 -g
WERROR ?= 0
USER_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
	-DVFIO_MIG_VERSION='"$(VERSION)"' \
	-Iinclude/uapi -Isamples/vfio-mdev -Itools/testing/selftests/vfio/mig \
	$(CPPFLAGS) $(CFLAGS)

# Where `make install` puts things (DESTDIR is prepended to each).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
# libvfio-mig: one object, archived and linked as a shared library whose
# soname changes with the major version.
LIB_SONAME := libvfio-mig.so.$(firstword $(subst ., ,$(VERSION)))
LIB_A := $(BUILD)/lib/libvfio-mig.a
LIB_SO := $(BUILD)/lib/libvfio-mig.so.$(VERSION)

ST_DIR := tools/testing/selftests/vfio/mig
ST_LIB := $(ST_DIR)/vfio_test.c
# The tests build as the kselftest target vfio/mig with the kernel's own
# framework (scripts/build-ksft) and install into $(ST_OUT), the programs in
# $(ST_OUT)/vfio/mig.
ST_OUT := $(BUILD)/selftests
TOOL_BIN := $(BUILD)/tools/vfio-mig $(BUILD)/tools/vfio-mig-bench
VMIG_SRC := $(addprefix tools/vfio-mig/,libvfio-mig.c migrate.c workload.c)
VMIG_HDR := $(addprefix tools/vfio-mig/,libvfio-mig.h migrate.h workload.h) \
	samples/vfio-mdev/mtty-mig.h include/uapi/linux/vfio_migration.h
UAPI_CHECK := $(BUILD)/uapi/alone.o $(BUILD)/uapi/after-vfio.o
QEMU_HMP := $(BUILD)/qemu/hmp
QEMU_QBENCH := $(BUILD)/qemu/qbench
QEMU_GUEST := $(BUILD)/qemu/mtty-guest

.PHONY: all modules tools selftests lib codec-bench install install-modules install-tools check-install \
	kernel-cache check check-all check-qemu test demo test-scripts \
	stress bench lint fuzz fuzz-build fuzz-seeds \
	clean help \
	host-deps deb check-dkms

all: modules tools

help:
	@echo 'make              build the modules, tools and tests (W=1)'
	@echo 'make check        build, lint, boot the test VM and run every test'
	@echo 'make check-all    the same for every kernel in scripts/kernels.conf, check-qemu, fuzz'
	@echo 'make check-qemu   stock QEMU 7.2, 10.0 and 11.1 migrate mtty-mig and mcount-mig devices'
	@echo '                  (the kernels of scripts/qemu.conf; QEMU_KERNELS="6.12" for fewer,'
	@echo '                  QEMU_CASES=PATTERN some cases, such as fault_*, QEMU_FAULTS_ALL=1'
	@echo '                  the fault cases on every kernel)'
	@echo '                  and a real Linux guest using mtty-mig (GUEST_KERNELS, default 6.12,'
	@echo '                  GUEST_QEMUS, default 10.0)'
	@echo 'make test T=NAME  run one test (tools/testing/selftests/vfio/mig/test_NAME.c or .sh) in the VM'
	@echo 'make stress       the randomized stress test alone: SECONDS=$(SECONDS), SEED= replays'
	@echo 'make demo         boot the VM and live-migrate an mtty-mig device under load'
	@echo 'make bench        benchmarks: the codec natively, then in the VM (BENCH_KVER=$(BENCH_KVER))'
	@echo '                  the engine and stock QEMU $(QEMU_BENCH); build/bench/bench.{csv,json}, qemu.txt'
	@echo 'make codec-bench  the engine'"'"'s stream codec timed natively against memcpy'
	@echo 'make lint         checkpatch and sparse (C=2) over the kernel code'
	@echo 'make test-scripts the host-side tests of the scripts (tools/testing/scripts)'
	@echo 'make fuzz         the engine fuzzers (libFuzzer, ASan, UBSan), FUZZ_SECONDS each'
	@echo 'make fuzz-seeds   save real device streams as the stream fuzzer'"'"'s seeds (VM)'
	@echo 'make install      modules to /lib/modules/RELEASE/updates (+ depmod), vfio-mig,'
	@echo '                  its man page, libvfio-mig (.a, .so, pkg-config), headers'
	@echo '                  (install-modules, install-tools: one half each)'
	@echo 'make check-install  make install into build/check-install and check the tree'
	@echo 'make selftests    the kselftest target vfio/mig into build/selftests (run_kselftest.sh)'
	@echo 'make deb          the Debian packages vfio-mig-dkms and vfio-mig-tools into build/deb/'
	@echo 'make check-dkms   vfio-mig-dkms in a trixie root, DKMS for 6.12, the suite on it (~25 min)'
	@echo 'make clean        remove build products (the download cache stays)'
	@echo 'Variables: KVER=$(KVER) (see scripts/kernels.conf), KDIR=<headers>,'
	@echo '           PICK=newest: the newest kernels and QEMU, not scripts/tested-versions'
	@echo '           VM_TIMEOUT=$(VM_TIMEOUT) seconds, FUZZ_SECONDS=$(FUZZ_SECONDS)'
	@echo '           DESTDIR, PREFIX=$(PREFIX), LIBDIR=$(LIBDIR); CFLAGS CPPFLAGS LDFLAGS;'
	@echo '           WERROR=1 makes userspace warnings errors (CI)'
	@echo '           KVER=debug: the debug kernel (KASAN, lockdep, kmemleak, UBSAN,'
	@echo '           fault injection), built once into $(KCACHE)'

host-deps:
	@scripts/host-deps

kernel-cache: host-deps
	@scripts/fetch-kernel.sh --kdir $(KVER) >/dev/null

# The pinned kernels build with their own suite's toolchain
# (scripts/build-modules); a KDIR given by the user builds on the host.
modules: $(KDIR_FETCH)
ifeq ($(KDIR_FETCH),)
	@$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) W=1 modules
else
	@scripts/build-modules $(KVER) --no-print-directory
endif

tools: selftests $(TOOL_BIN) $(UAPI_CHECK) $(QEMU_HMP) $(QEMU_QBENCH) $(QEMU_GUEST) lib

$(QEMU_HMP): tools/testing/qemu/hmp.c
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) $(USER_CFLAGS) $(LDFLAGS) -o $@ $<

$(QEMU_QBENCH): tools/testing/qemu/qbench.c samples/vfio-mdev/mtty-mig.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) $(USER_CFLAGS) $(LDFLAGS) -o $@ $<

# The program a Linux guest runs from a busybox initramfs in
# tools/testing/qemu/test_guest.sh: static, C11, no project library.
$(QEMU_GUEST): tools/testing/qemu/mtty-guest.c samples/vfio-mdev/mtty-mig.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) -std=c11 -O2 -Wall -Wextra -Werror -Isamples/vfio-mdev -static \
		-o $@ $<

selftests: $(LIB_A)
	@scripts/build-ksft $(KVER) $(BUILD) $(LIB_A)

# The uAPI header must compile alone and after <linux/vfio.h>.
$(BUILD)/uapi/alone.o $(BUILD)/uapi/after-vfio.o: $(ST_DIR)/uapi_check.c include/uapi/linux/vfio_migration.h
	@mkdir -p $(dir $@)
	@echo "  CHECK   include/uapi/linux/vfio_migration.h ($(notdir $(basename $@)))"
	@$(CC) $(USER_CFLAGS) $(if $(findstring after,$@),-DAFTER_VFIO) -c -o $@ $<

$(BUILD)/tools/vfio-mig-bench: tools/vfio-mig/bench.c $(VMIG_SRC) $(VMIG_HDR) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) $(USER_CFLAGS) -Itools/vfio-mig $(LDFLAGS) -o $@ $< $(VMIG_SRC) $(LIB_A) -pthread

$(BUILD)/tools/vfio-mig: tools/vfio-mig/vfio-mig.c $(VMIG_SRC) $(VMIG_HDR) $(LIB_A) VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) $(USER_CFLAGS) -Itools/vfio-mig $(LDFLAGS) -o $@ $< $(VMIG_SRC) $(LIB_A) -pthread

# libvfio-mig, position-independent so one object serves both archives.
$(BUILD)/lib/libvfio-mig.o: tools/vfio-mig/libvfio-mig.c tools/vfio-mig/libvfio-mig.h \
		include/uapi/linux/vfio_migration.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) $(USER_CFLAGS) -fPIC -c -o $@ $<

$(LIB_A): $(BUILD)/lib/libvfio-mig.o
	@echo "  AR      $(patsubst $(CURDIR)/%,%,$@)"
	@rm -f $@ && $(AR) rcs $@ $<

$(LIB_SO): $(BUILD)/lib/libvfio-mig.o
	@echo "  LD      $(patsubst $(CURDIR)/%,%,$@)"
	@$(CC) -shared -Wl,-soname,$(LIB_SONAME) $(CFLAGS) $(LDFLAGS) -o $@ $<

lib: $(LIB_A) $(LIB_SO)

# --- make install -----------------------------------------------------------
# The modules through kbuild's modules_install into
# /lib/modules/RELEASE/updates/ (ahead of the kernel's own), then depmod;
# the tools, man page, library and headers under PREFIX.  Kbuild's module
# signing is left to DKMS, which holds a key (README: Secure Boot).
# DEPMOD=true: kbuild runs depmod itself when the tree has a System.map
# (a kernel built from source); we run it once, and only for a live install.
KREL_BUILT = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h)

install: install-modules install-tools

# kbuild resolves INSTALL_MOD_PATH after -C KDIR: an absolute DESTDIR.
MOD_DESTDIR = $(if $(DESTDIR),$(abspath $(DESTDIR)))
MODS_INSTALLED = $(addprefix $(MOD_DESTDIR)/lib/modules/$(KREL_BUILT)/updates/, \
	drivers/vfio/mdev/vfio_mig.ko samples/vfio-mdev/mtty-mig.ko \
	samples/vfio-mdev/mcount-mig.ko)

install-modules: modules
ifeq ($(DESTDIR),)
	@[ "$(KREL_BUILT)" = "$$(uname -r)" ] || { \
		echo "install-modules: the modules are built for $(KREL_BUILT), this machine runs $$(uname -r):"; \
		echo "  make KDIR=/lib/modules/$$(uname -r)/build install (or DESTDIR=... for a staged install)"; \
		exit 1; }
endif
	@mkdir -p $(BUILD)
	@$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) \
		INSTALL_MOD_PATH=$(MOD_DESTDIR) INSTALL_MOD_DIR=updates \
		CONFIG_MODULE_SIG_ALL= DEPMOD=true modules_install \
		>$(BUILD)/modules_install.log 2>&1; rc=$$?; \
		grep -v -e "missing 'System.map' file" -e '^  DEPMOD ' $(BUILD)/modules_install.log; \
		[ $$rc -eq 0 ] || { echo "install-modules: modules_install failed ($$rc)"; exit 1; }
	@for m in $(MODS_INSTALLED); do [ -e "$$m" ] || [ -e "$$m".xz ] || [ -e "$$m".zst ] || \
		{ echo "install-modules: $$m was not installed"; exit 1; }; done
ifeq ($(DESTDIR),)
	depmod -a $(KREL_BUILT)
else
	@echo "  DEPMOD  skipped for a staged install: run depmod -a $(KREL_BUILT) on the target"
endif

# Paths quoted: a PREFIX or DESTDIR may hold spaces.
install-tools: $(BUILD)/tools/vfio-mig lib
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" \
		"$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(INCLUDEDIR)/vfio-mig/linux"
	install -m 755 $(BUILD)/tools/vfio-mig "$(DESTDIR)$(BINDIR)/vfio-mig"
	install -m 644 tools/vfio-mig/vfio-mig.1 "$(DESTDIR)$(MANDIR)/man1/vfio-mig.1"
	install -m 644 $(LIB_A) "$(DESTDIR)$(LIBDIR)/libvfio-mig.a"
	install -m 755 $(LIB_SO) "$(DESTDIR)$(LIBDIR)/libvfio-mig.so.$(VERSION)"
	ln -sf libvfio-mig.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(LIB_SONAME)"
	ln -sf $(LIB_SONAME) "$(DESTDIR)$(LIBDIR)/libvfio-mig.so"
	sed -e 's|@VERSION@|$(VERSION)|; s|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		tools/vfio-mig/vfio-mig.pc.in >$(BUILD)/vfio-mig.pc
	install -m 644 $(BUILD)/vfio-mig.pc "$(DESTDIR)$(LIBDIR)/pkgconfig/vfio-mig.pc"
	install -m 644 tools/vfio-mig/libvfio-mig.h "$(DESTDIR)$(INCLUDEDIR)/vfio-mig/libvfio-mig.h"
	install -m 644 include/uapi/linux/vfio_migration.h \
		"$(DESTDIR)$(INCLUDEDIR)/vfio-mig/linux/vfio_migration.h"
ifeq ($(DESTDIR),)
	-ldconfig
endif

# make install into a scratch DESTDIR, then check the tree and build a
# program against the installed library through pkg-config.
check-install:
	@scripts/check-install $(BUILD)/check-install KVER=$(KVER)

# The Debian packages vfio-mig-dkms and vfio-mig-tools (debian/), built
# with dpkg-buildpackage in a copy of the tree, into $(BUILD)/deb.
deb:
	@scripts/build-deb $(BUILD)/deb

# vfio-mig-dkms installed in a scratch copy of the trixie build root: DKMS
# builds, installs and signs the modules for 6.12, then the suite runs in
# the VM on them (scripts/test-dkms); T=NAME runs test_NAME alone.
check-dkms: tools
	@scripts/test-dkms --build $(BUILD) --timeout 1800 $(if $(T),test_$(T))

# lint builds the modules for 6.1 with sparse, so it runs before the
# modules are built for $(KVER).
check: lint test-scripts
	@$(MAKE) --no-print-directory all KVER=$(KVER)
	@scripts/check-install $(BUILD)/check-install KVER=$(KVER)
	$(VM) -- $(ST_DIR)/run_tests.sh $(ST_OUT)

# Every kernel of scripts/kernels.conf in turn, with a result line each.
check-all: lint test-scripts
	@mkdir -p $(BUILD)
	@scripts/check-all $(BUILD) $(VM_TIMEOUT)

# Stock QEMU 7.2, 10.0 and 11.1 (unpacked into the cache) migrating the device
# in the VM, on the kernels of scripts/check-all's QEMU_KERNELS, and a
# real Linux guest driving it on those of GUEST_KERNELS.
check-qemu: host-deps
	@mkdir -p $(BUILD)
	@scripts/check-all --qemu-only $(BUILD) $(VM_TIMEOUT)

test: all
	@test -n "$(T)" || { echo 'usage: make test T=NAME (for example T=uart)'; exit 2; }
	@test -x $(ST_OUT)/vfio/mig/test_$(T) || test -x $(ST_OUT)/vfio/mig/test_$(T).sh || \
		{ echo 'no test named $(T)'; exit 2; }
	$(VM) -- $(ST_DIR)/run_tests.sh $(ST_OUT) test_$(T)

# The stress test (also part of every suite run, for 60 s) on its own.
SECONDS ?= 180
stress: all
	@tools/testing/vm/run --kernel $(KVER) --timeout $$(($(SECONDS) + 600)) -- \
		env STRESS_SECONDS=$(SECONDS) $(if $(SEED),SEED=$(SEED)) \
		$(ST_OUT)/vfio/mig/test_stress

demo: all
	@$(VM) -- tools/vfio-mig/demo.sh

# Figures, never pass/fail; the CSV and JSON land in $(BUILD)/bench.


# The engine's pure parts, built unchanged against a userspace shim of the
# kernel APIs they use (tools/testing/fuzz), fuzzed with libFuzzer.
FUZZ_SECONDS ?= 60
FUZZ_DIR := tools/testing/fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-sign-compare -Wno-gnu-variable-sized-type-not-at-end \
	-I$(FUZZ_DIR)/shim/include -Iinclude -Iinclude/uapi -Idrivers/vfio/mdev \
	-I$(FUZZ_DIR) -Itools/vfio-mig
FUZZ_ENGINE := $(addprefix drivers/vfio/mdev/vfio_mig_,main.c access.c session.c \
	stream.c log.c region.c v1.c pci.c crc.c)
FUZZ_COMMON := $(FUZZ_DIR)/fake_dev.c $(FUZZ_DIR)/shim/shim.c
FUZZ_DEPS := $(FUZZ_ENGINE) $(FUZZ_COMMON) $(wildcard $(FUZZ_DIR)/*.h \
	$(FUZZ_DIR)/shim/include/*.h $(FUZZ_DIR)/shim/include/*/*.h \
	drivers/vfio/mdev/*.h include/linux/*.h include/uapi/linux/*.h)
FUZZ_BIN := $(BUILD)/fuzz/fuzz_stream $(BUILD)/fuzz/fuzz_access

fuzz-build: $(FUZZ_BIN)

# libvfio-mig (for its CRC32C) builds apart, without the shim.
$(BUILD)/fuzz/libvfio-mig.o: tools/vfio-mig/libvfio-mig.c tools/vfio-mig/libvfio-mig.h
	@scripts/host-deps --fuzz
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
		-Wall -Wextra -Werror -Iinclude/uapi -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_DEPS) $(BUILD)/fuzz/libvfio-mig.o
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $(patsubst $(CURDIR)/%,%,$@)"
	@clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_ENGINE) $(BUILD)/fuzz/libvfio-mig.o

fuzz: fuzz-build
	@scripts/fuzz $(BUILD) $(FUZZ_SECONDS)

# The same engine code, optimised and without sanitizers, timed natively
# (the codec benchmark: make bench runs it before the VM's figures).
CODEC_BENCH := $(BUILD)/bench/codec_bench
CODEC_CFLAGS := $(filter-out -O1 -fsanitize=%,$(FUZZ_CFLAGS)) -O2

$(BUILD)/bench/libvfio-mig.o: tools/vfio-mig/libvfio-mig.c tools/vfio-mig/libvfio-mig.h
	@scripts/host-deps --fuzz
	@mkdir -p $(dir $@)
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@clang -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude/uapi -c -o $@ $<

$(CODEC_BENCH): $(FUZZ_DIR)/codec_bench.c $(FUZZ_DEPS) $(BUILD)/bench/libvfio-mig.o
	@echo "  CC      $(patsubst $(CURDIR)/%,%,$@)"
	@clang $(CODEC_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_ENGINE) $(BUILD)/bench/libvfio-mig.o

codec-bench: $(CODEC_BENCH)
	@$(CODEC_BENCH)

# One kernel for all of the VM's figures: stock QEMU's pre-copy needs 6.2+.
# mtty-mig reloaded with room for two 1 GiB devices (the scaling row);
# then QEMU_BENCH migrates VMs with stock QEMU (tools/testing/qemu).
BENCH_KVER ?= 6.12
QEMU_BENCH ?= 10.0
BENCH_JOB = rmmod mcount_mig mtty_mig && \
	insmod samples/vfio-mdev/mtty-mig.ko mem_budget_mib=2560 && \
	insmod samples/vfio-mdev/mcount-mig.ko && \
	$(BUILD)/tools/vfio-mig-bench $(BUILD)/bench && \
	{ tools/testing/qemu/bench_qemu.sh $(QEMU_HMP) $(QEMU_QBENCH) $$(cat $(BUILD)/bench/qemu-bin); \
	  echo $$? >$(BUILD)/bench/qemu.rc; } | tee $(BUILD)/bench/qemu.txt && \
	exit $$(cat $(BUILD)/bench/qemu.rc)
bench: $(CODEC_BENCH) host-deps
	$(if $(filter command line,$(origin KDIR)),$(error make bench builds for BENCH_KVER=$(BENCH_KVER) itself; drop KDIR=))
	-@$(CODEC_BENCH)
	@$(MAKE) --no-print-directory all KVER=$(BENCH_KVER)
	@mkdir -p $(BUILD)/bench
	@scripts/fetch-qemu.sh $(QEMU_BENCH) >$(BUILD)/bench/qemu-bin
	@tools/testing/vm/run --kernel $(BENCH_KVER) --timeout $(VM_TIMEOUT) --mem 6144 \
		--out $(BUILD)/bench -- '$(BENCH_JOB)'

# Real streams from the VM, kept gzipped in the tree as the seeds.
fuzz-seeds: all
	@mkdir -p $(BUILD)/fuzz/seeds
	@$(CC) $(USER_CFLAGS) -Itools/vfio-mig \
		-I$$(scripts/fetch-ksft $(KVER))/tools/testing/selftests $(LDFLAGS) -o $(BUILD)/fuzz/save-seeds \
		$(FUZZ_DIR)/save-seeds.c $(ST_LIB) $(LIB_A)
	$(VM) --out $(BUILD)/fuzz/seeds -- $(BUILD)/fuzz/save-seeds $(BUILD)/fuzz/seeds
	@mkdir -p $(FUZZ_DIR)/seeds
	@for f in $(BUILD)/fuzz/seeds/*.vmig; do \
		gzip -9nc $$f >$(FUZZ_DIR)/seeds/$$(basename $$f).gz; done
	@ls -l $(FUZZ_DIR)/seeds

lint: host-deps
	@scripts/host-deps --lint
	@scripts/lint "$$(scripts/fetch-kernel.sh --kdir 6.1)"

# Host-side tests of the scripts themselves.
test-scripts:
	@for t in tools/testing/scripts/test_*.sh; do echo "# ---- $$t"; $$t || exit 1; done

# Not kbuild's clean: run over this tree it would also delete the kernel
# modules unpacked in the cache.
clean:
	find drivers samples \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '.*.d' \
		-o -name 'modules.order' \) -type f -delete
	rm -f Module.symvers modules.order .module-common.o .*.cmd
	rm -rf $(BUILD)
