# fabmon: one non-recursive Makefile. `make` builds build/fabmond;
# `make test` builds again with ASan/UBSan under build/asan and runs all.
#
# Targets: all deps test check fuzz bench demo run lab-up lab-down install
#          format format-check clean

PREFIX	?= /usr/local
BUILD	?= build
CC	?= cc
CLANG	?= clang
PKGS	:= libwebsockets jansson inih libpcap sqlite3 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wno-format-nonliteral -Wno-missing-field-initializers
# -flto: the flow engine's hot path crosses files (engine.c, flowtab.c,
# flowrec.c, filter.c); inlined across them, engine_bench's 10 flows run
# 7 % faster (bench/README.md)
OPT	?= -O2 -g -flto=auto
SAN	?=
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN) $(PKG_CFLAGS) \
	      -Idaemon -Itopology -Itui -Iha -MMD -MP
LDFLAGS_ALL := $(SAN) $(filter -flto%,$(OPT)) $(LDFLAGS)
# net-snmp: only topology/snmp.c includes its headers. Take its library
# and the one define its headers need, not its build flags.
SNMP_LIBS := $(shell net-snmp-config --libs 2>/dev/null)
LIBS	:= $(PKG_LIBS) $(SNMP_LIBS) -lpthread
CURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)

# fabtop: tui/main.c (ncurses) and tui/conn.c (the lws client) over pure
# tui/*.c (the frame model and the views, drawn into a grid), which go
# into libfabmon.a with the other pure code for the unit tests and fuzzers.
TUI_SHELL := tui/main.c tui/conn.c
TUI_PURE := $(filter-out $(TUI_SHELL),$(wildcard tui/*.c))

# ha/: ha.c is the thread (FIFO, peer, track file); ha/*.c besides it
# are pure (the notify line parser, the health judgement).
HA_PURE := $(filter-out ha/ha.c,$(wildcard ha/*.c))

# Pure code (no I/O, no lws/sqlite/snmp/ncurses): the daemon, the unit
# tests and the fuzzers all link it.
PURE	:= daemon/util.c daemon/packet.c daemon/sflow.c daemon/sflow_json.c \
	   daemon/jw.c daemon/jtext.c \
	   topology/walk.c topology/topo_json.c topology/lldp.c \
	   topology/graph.c topology/graph_json.c daemon/flowdef.c \
	   daemon/agents.c daemon/conf.c daemon/flowtab.c \
	   daemon/flowrec.c daemon/filter.c daemon/ifcounters.c \
	   daemon/metrics.c daemon/logring.c daemon/threshold.c \
	   topology/ifmib.c daemon/fwddef.c daemon/rollup.c daemon/trace.c \
	   daemon/blackhole.c daemon/elephant.c daemon/netflow.c \
	   daemon/netflow_json.c daemon/spread.c daemon/nftmpl.c \
	   daemon/hasync_msg.c \
	   $(TUI_PURE) $(HA_PURE)
DAEMON	:= daemon/main.c daemon/log.c daemon/snap.c daemon/ingest.c \
	   daemon/api.c daemon/decode.c topology/snmp.c topology/topo.c \
	   topology/topo_api.c daemon/engine.c daemon/flow_api.c \
	   daemon/counters.c daemon/metric_api.c daemon/forward.c \
	   daemon/fwd_api.c daemon/thresholds.c daemon/thresh_api.c \
	   daemon/store.c daemon/history.c daemon/hist_api.c \
	   daemon/trace_api.c daemon/ws.c daemon/topn.c ha/ha.c \
	   daemon/nfin.c daemon/nf_api.c daemon/jsonlog.c daemon/hasync.c \
	   daemon/sync_api.c
UNIT	:= $(wildcard tests/unit/test_*.c)
FUZZ	:= $(wildcard tests/fuzz/fuzz_*.c)

PURE_O	:= $(PURE:%.c=$(BUILD)/obj/%.o)
DAEMON_O := $(DAEMON:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT:tests/unit/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)


.PHONY: web-deps
.PHONY: all deps test check unit fuzz bench bench-bins demo demo-ha run lab-up lab-down \
	install format format-check clean test-bins

all: $(BUILD)/fabmond $(BUILD)/fabtop

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DFABMON_SHARE='"$(PREFIX)/share/fabmon"' -c $< -o $@


$(BUILD)/libfabmon.a: $(PURE_O)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BUILD)/fabmond: $(DAEMON_O) $(BUILD)/libfabmon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/fabtop: $(TUI_SHELL:%.c=$(BUILD)/obj/%.o) $(BUILD)/libfabmon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(CURSES_LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/t.h tests/unit/labwalk.h $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_ALL) -o $@ $< \
		$(BUILD)/libfabmon.a $(LIBS)

# A fuzz target linked with a plain main() that replays corpus files, so
# `make test` replays every corpus with gcc's sanitizers, without clang.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< tests/fuzz/replay.c \
		$(BUILD)/libfabmon.a $(LIBS)

# The SNMP poller's command-line front end (tests/integration/snmp_walk.py).
$(BUILD)/tests/snmpwalk_tool: tests/tools/snmpwalk_tool.c \
		$(BUILD)/obj/topology/snmp.o $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< \
		$(BUILD)/obj/topology/snmp.o $(BUILD)/libfabmon.a $(LIBS)

# The flow engine's test links the daemon (all but main()) and bench/gen.c.
$(BUILD)/tests/test_engine: tests/unit/test_engine.c tests/unit/t.h bench/gen.c \
		$(filter-out $(BUILD)/obj/daemon/main.o,$(DAEMON_O)) $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -Ibench $(LDFLAGS_ALL) -o $@ $< bench/gen.c \
		$(filter-out $(BUILD)/obj/daemon/main.o,$(DAEMON_O)) \
		$(BUILD)/libfabmon.a $(LIBS)

# The store's tests link the store itself (sqlite3, a thread, the log).
STORE_O := $(BUILD)/obj/daemon/store.o $(BUILD)/obj/daemon/log.o
$(BUILD)/tests/test_store: tests/unit/test_store.c tests/unit/t.h $(STORE_O) \
		$(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_ALL) -o $@ $< $(STORE_O) \
		$(BUILD)/libfabmon.a $(LIBS)

# The JSON flow log's test links its writer thread and the log.
JSONLOG_O := $(BUILD)/obj/daemon/jsonlog.o $(BUILD)/obj/daemon/log.o
$(BUILD)/tests/test_jsonlog: tests/unit/test_jsonlog.c tests/unit/t.h \
		$(JSONLOG_O) $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_ALL) -o $@ $< $(JSONLOG_O) \
		$(BUILD)/libfabmon.a $(LIBS)

# The topology thread's test links the thread, its poller and the log.
TOPO_O := $(BUILD)/obj/topology/topo.o $(BUILD)/obj/topology/snmp.o \
	$(BUILD)/obj/daemon/counters.o $(BUILD)/obj/daemon/snap.o \
	$(BUILD)/obj/daemon/log.o
$(BUILD)/tests/test_topo: tests/unit/test_topo.c tests/unit/t.h $(TOPO_O) \
		$(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_ALL) -o $@ $< $(TOPO_O) \
		$(BUILD)/libfabmon.a $(LIBS)

# A write load for the store's crash test (tests/integration/store_crash.py).
$(BUILD)/tests/store_load: tests/tools/store_load.c $(STORE_O) $(BUILD)/libfabmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(STORE_O) \
		$(BUILD)/libfabmon.a $(LIBS)

test-bins: $(BUILD)/fabmond $(BUILD)/fabtop $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/tests/snmpwalk_tool \
	$(BUILD)/tests/store_load

# ---- dependencies -----------------------------------------------------
# Build, test and lab packages (Debian 12). Idempotent: apt only runs when
# something is missing. Services are kept from starting on install.
DEB_PKGS := build-essential pkg-config clang libclang-rt-14-dev \
	libwebsockets-dev libjansson-dev libinih-dev libpcap-dev libssl-dev \
	libsqlite3-dev sqlite3 libsnmp-dev libncurses-dev \
	python3 tshark pmacct lldpd snmpd snmp keepalived hping3 tmux \
	iptables iproute2 ethtool iputils-ping procps psmisc curl \
	clang-format socat prometheus nfdump nfdump-sflow \
	chromium iperf3 nginx-light softflowd

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all installed"; exit 0; fi; \
	echo "deps: installing$$(echo $$missing | tr '\n' ' ')"; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	printf '#!/bin/sh\nexit 101\n' | $$SUDO tee /usr/sbin/policy-rc.d >/dev/null; \
	$$SUDO chmod +x /usr/sbin/policy-rc.d; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
		--no-install-recommends $$missing; rc=$$?; \
	$$SUDO rm -f /usr/sbin/policy-rc.d; exit $$rc
	@$(MAKE) --no-print-directory web-deps

# npm packages: the web page's front-end libraries (web/, served by
# fabmond from web/node_modules; no build step) and the browser tests'
# playwright-core (tests/e2e/). `npm ci` only when a lock file changed.
NPM_DIRS := web tests/e2e
web-deps:
	@for d in $(NPM_DIRS); do \
		[ -f $$d/package-lock.json ] || continue; \
		if [ $$d/node_modules/.package-lock.json -nt $$d/package-lock.json ]; then \
			echo "deps: $$d/node_modules up to date"; continue; fi; \
		echo "deps: npm ci in $$d"; \
		(cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	done

# ---- tests ------------------------------------------------------------
ASAN_BUILD := build/asan
ASAN_FLAGS := SAN="-fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined" OPT="-O1 -g" BUILD=$(ASAN_BUILD)

# The fast inner loop: unit tests, golden tests, corpus replay.
check: deps
	$(MAKE) --no-print-directory $(ASAN_FLAGS) test-bins
	@BUILD=$(ASAN_BUILD) tests/run.sh unit golden replay daemon style

# Everything CI runs, including the network-namespace lab.
test: deps
	$(MAKE) --no-print-directory $(ASAN_FLAGS) test-bins
	@BUILD=$(ASAN_BUILD) tests/run.sh unit golden replay style integration

# libFuzzer (clang) for FUZZ_SECONDS per target; crashes land in build/fuzz.
FUZZ_SECONDS ?= 60
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ); do \
		n=$$(basename $$f .c | sed 's/^fuzz_//'); \
		$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 \
			-fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
			-Idaemon -Itopology -Itui -Iha -o build/fuzz/$$n $$f $(PURE) $(PKG_LIBS); \
		mkdir -p build/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=build/fuzz/$$n- -print_final_stats=1 \
			build/fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
	done

# ---- running ----------------------------------------------------------
run: all
	$(BUILD)/fabmond -d

demo: deps all
	tests/lab/demo.sh

# The HA pair in the lab (ha/README.md): c1 and c2 share the VIP.
demo-ha: deps all
	tests/lab/demo_ha.sh

lab-up:
	tests/lab/lab.sh up && tests/lab/lab.sh wait
lab-down:
	tests/lab/lab.sh down

# The web page goes to PREFIX/share/fabmon/web (fabmond's default there),
# with the one npm library it loads, at the same relative paths.
WEB_SHARE := $(DESTDIR)$(PREFIX)/share/fabmon/web
install: all web-deps
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 755 $(BUILD)/fabmond $(DESTDIR)$(PREFIX)/sbin/fabmond
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/fabtop $(DESTDIR)$(PREFIX)/bin/fabtop
	install -m 644 docs/fabtop.1 $(DESTDIR)$(PREFIX)/share/man/man1/fabtop.1
	install -d $(WEB_SHARE)/css $(WEB_SHARE)/js \
		$(WEB_SHARE)/node_modules/uplot/dist
	install -m 644 web/index.html web/favicon.svg $(WEB_SHARE)/
	install -m 644 web/css/*.css $(WEB_SHARE)/css/
	install -m 644 web/js/*.js $(WEB_SHARE)/js/
	install -m 644 web/node_modules/uplot/dist/uPlot.esm.js \
		web/node_modules/uplot/dist/uPlot.min.css \
		$(WEB_SHARE)/node_modules/uplot/dist/
	install -d $(DESTDIR)$(PREFIX)/lib/fabmon $(DESTDIR)$(PREFIX)/share/fabmon/ha
	install -m 755 ha/fabmon-ha-check ha/fabmon-ha-down \
		$(DESTDIR)$(PREFIX)/lib/fabmon/
	install -m 755 ha/mkconf.sh $(DESTDIR)$(PREFIX)/share/fabmon/ha/
	install -m 644 ha/keepalived.conf.in ha/fabmond.service \
		ha/keepalived-fabmon.conf ha/README.md \
		$(DESTDIR)$(PREFIX)/share/fabmon/ha/

# Benchmarks: they print numbers and ratios, and assert nothing.
BENCH_BUILD := build/bench
# bench-bins: only build them (build/bench/engine_bench for the inner loop).
bench-bins:
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT="-O2 -g -flto=auto" \
		$(BENCH_BUILD)/fabmond
	$(CC) $(CFLAGS_ALL) -O2 -g -o $(BENCH_BUILD)/engine_bench \
		bench/engine_bench.c bench/gen.c \
		$(filter-out $(BENCH_BUILD)/obj/daemon/main.o,$(DAEMON:%.c=$(BENCH_BUILD)/obj/%.o)) \
		$(BENCH_BUILD)/libfabmon.a $(LIBS)
	$(CC) $(CFLAGS_ALL) -O2 -o $(BENCH_BUILD)/blast bench/blast.c bench/gen.c
	$(CC) $(CFLAGS_ALL) -O2 -o $(BENCH_BUILD)/recvcount bench/recvcount.c
	$(CC) $(CFLAGS_ALL) -O2 -o $(BENCH_BUILD)/flowtab_bench \
		bench/flowtab_bench.c $(BENCH_BUILD)/libfabmon.a -lm

bench: bench-bins
	$(BENCH_BUILD)/engine_bench 10
	$(BENCH_BUILD)/engine_bench 3 churn
	$(BENCH_BUILD)/flowtab_bench
	python3 bench/lossless.py --fabmond $(BENCH_BUILD)/fabmond \
		--blast $(BENCH_BUILD)/blast --rounds 3
	python3 bench/scale.py --fabmond $(BENCH_BUILD)/fabmond \
		--blast $(BENCH_BUILD)/blast
	python3 bench/latency.py --fabmond $(BENCH_BUILD)/fabmond \
		--blast $(BENCH_BUILD)/blast

format:
	clang-format -i $(PURE) $(DAEMON) $(TUI_SHELL) daemon/*.h topology/*.h \
		ha/*.h tui/*.h

format-check:
	clang-format --dry-run --Werror $(PURE) $(DAEMON) $(TUI_SHELL) \
		daemon/*.h topology/*.h ha/*.h tui/*.h

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
