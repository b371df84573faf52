# athanor — build, test and install.
# `make` builds athanor/core.so for Lua 5.4 and LuaJIT, libathanor.{a,so}
# (C core + binding + embedded Lua sources, for Lua 5.4 hosts),
# libathanor-luajit.{a,so} (the same for LuaJIT hosts) and the `athanor` host.
# `make demo` and `make test` install missing Debian packages first (tools/deps.sh).

PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
LUA       ?= lua5.4
LUAJIT    ?= luajit
LUA54_INC ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUAJIT_INC?= $(shell pkg-config --cflags luajit 2>/dev/null || echo -I/usr/include/luajit-2.1)
LUA54_LIB ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
LUAJIT_LIB?= $(shell pkg-config --libs luajit 2>/dev/null || echo -lluajit-5.1)
# The version the pkg-config files carry; tools/rockspec_sync.lua checks it
# against csrc/lua/l_core.c, the host and the release rockspec.
VERSION   := 0.1.0
PG_INC    ?= -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

OPT       ?= -O2
WERROR    ?= $(if $(CI),-Werror,)
SANFLAGS  ?=
CFLAGS    ?= $(OPT) -g
ATH_CFLAGS = -std=gnu11 -fPIC -Wall -Wextra $(WERROR) $(SANFLAGS) -Icsrc -Icsrc/include $(PG_INC) -D_GNU_SOURCE
LDLIBS_CORE = -lsqlite3 -lpq -lcrypto -lpthread -lm
LDFLAGS   ?=

CORE_SRC  := $(sort $(wildcard csrc/base/*.c csrc/driver/*.c csrc/engine/*.c csrc/sql/*.c csrc/orm/*.c))
BIND_SRC  := $(filter-out csrc/lua/l_embed.c,$(sort $(wildcard csrc/lua/*.c)))
TEST_SRC  := $(sort $(wildcard csrc/test/test_*.c))
LUA_FILES := $(sort $(shell find lua -name '*.lua' 2>/dev/null))

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/core/%.o)
BIND54_OBJ:= $(BIND_SRC:%.c=$(BUILD)/lua54/%.o)
BINDJIT_OBJ:=$(BIND_SRC:%.c=$(BUILD)/luajit/%.o)
EMBED_C   := $(BUILD)/gen/ath_embedded_lua.c
EMBED_OBJ := $(BUILD)/lua54/gen/ath_embedded_lua.o $(BUILD)/lua54/csrc/lua/l_embed.o
EMBEDJIT_OBJ := $(BUILD)/luajit/gen/ath_embedded_lua.o $(BUILD)/luajit/csrc/lua/l_embed.o
TEST_BIN  := $(TEST_SRC:csrc/test/%.c=$(BUILD)/test/%)

CORE_LIB  := $(BUILD)/libathanor_core.a
MOD54     := $(BUILD)/lua54/athanor/core.so
MODJIT    := $(BUILD)/luajit/athanor/core.so
LIBA      := $(BUILD)/libathanor.a
LIBSO     := $(BUILD)/libathanor.so
LIBJITA   := $(BUILD)/libathanor-luajit.a
LIBJITSO  := $(BUILD)/libathanor-luajit.so
HOST      := $(BUILD)/athanor

.PHONY: all deps demo test test-sqlite test-c-build asan tsan valgrind bench bench-smoke install clean check-layers rock-sources rock-libs \
        fuzz fuzz-build fuzz-replay-build fuzz-replay fuzz-reduce

all: $(MOD54) $(MODJIT) $(LIBA) $(LIBSO) $(LIBJITA) $(LIBJITSO) $(HOST)

deps:
	@bash tools/deps.sh

$(BUILD)/core/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/lua54/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUA54_INC) -MMD -MP -c $< -o $@

$(BUILD)/lua54/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUA54_INC) -c $< -o $@

$(BUILD)/luajit/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUAJIT_INC) -MMD -MP -c $< -o $@

$(BUILD)/luajit/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUAJIT_INC) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(MOD54): $(CORE_OBJ) $(BIND54_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS_CORE)

$(MODJIT): $(CORE_OBJ) $(BINDJIT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS_CORE)

$(EMBED_C): tools/embed_lua.lua $(LUA_FILES)
	@mkdir -p $(dir $@)
	$(LUA) tools/embed_lua.lua lua $@ $(LUA_FILES)

$(LIBA): $(CORE_OBJ) $(BIND54_OBJ) $(EMBED_OBJ)
	rm -f $@ && ar rcs $@ $^

$(LIBSO): $(CORE_OBJ) $(BIND54_OBJ) $(EMBED_OBJ)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS_CORE) $(LUA54_LIB)

# libathanor for LuaJIT hosts (LÖVE-based and other LuaJIT engines): the same
# C API and embedded sources, the binding compiled against LuaJIT's headers.
$(LIBJITA): $(CORE_OBJ) $(BINDJIT_OBJ) $(EMBEDJIT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(LIBJITSO): $(CORE_OBJ) $(BINDJIT_OBJ) $(EMBEDJIT_OBJ)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS_CORE) $(LUAJIT_LIB)

$(HOST): csrc/host/athanor.c $(LIBA)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUA54_INC) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS_CORE) $(LUA54_LIB) -ldl

# C unit tests: each csrc/test/test_X.c is one cmocka executable.
# test_embed, test_host, test_orm_load and test_expr_fastpath link the full libathanor.a (binding + embedded Lua);
# the rest the core only.
$(BUILD)/test/test_embed $(BUILD)/test/test_host $(BUILD)/test/test_orm_load $(BUILD)/test/test_expr_fastpath: \
  $(BUILD)/test/%: csrc/test/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) $(LUA54_INC) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS_CORE) $(LUA54_LIB) -lcmocka -ldl -lpthread

$(BUILD)/test/%: csrc/test/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ATH_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS) $(LDLIBS_CORE) -lcmocka

test-c-build: $(TEST_BIN)

demo: deps $(MOD54)
	@eval "$$(bash tools/env.sh $(BUILD) lua54)" && $(LUA) examples/quickstart.lua

# The whole test run: deps, build, C tests, busted on Lua 5.4 + LuaJIT against
# SQLite and a throwaway PostgreSQL, luarocks install check, bench smoke run.
test: deps
	@bash tools/test.sh

# Same without PostgreSQL (explicitly partial).
test-sqlite: deps
	@ATHANOR_SKIP_PG=1 bash tools/test.sh

asan:
	@bash tools/test.sh --asan

tsan:
	@bash tools/test.sh --tsan

valgrind: $(TEST_BIN)
	@bash tools/test.sh --valgrind-only

bench: all
	@bash bench/run.sh

bench-smoke: all
	@bash bench/run.sh --smoke

# Fuzzing (csrc/fuzz/, docs/fuzzing.md). Each csrc/fuzz/fuzz_X.c is one
# libFuzzer target. `make fuzz` builds them with clang's libFuzzer, ASan and
# UBSan (the core compiled with coverage instrumentation into $(FUZZ_BUILD))
# and runs each for FUZZ_TIME seconds on csrc/fuzz/corpus/X/, keeping what it
# finds in $(FUZZ_BUILD)/found/X/ (crashes: $(FUZZ_BUILD)/crash-X-*), with
# csrc/fuzz/X.dict as its dictionary when there is one.
# `make fuzz-replay-build` links the same targets with replay_main.c (ASan +
# UBSan, no libFuzzer): tools/test.sh replays the corpora with them.
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_ARGS    ?=
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -g -O1 -Wall -Wextra $(WERROR) -Icsrc -Icsrc/include $(PG_INC) -D_GNU_SOURCE
FUZZ_SRC     := $(sort $(wildcard csrc/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(FUZZ_SRC:csrc/fuzz/%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)
FUZZ_REPLAY  := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/replay/%)
FUZZ_LIB     := $(FUZZ_BUILD)/libathanor_core_fuzz.a
FUZZ_RLIB    := $(FUZZ_BUILD)/replay/libathanor_core_replay.a
FUZZ_CLIB    := $(FUZZ_BUILD)/cover/libathanor_core_cover.a
FUZZ_REDUCE_MAX ?= 20

$(FUZZ_BUILD)/core/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/replay/core/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/cover/core/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize-coverage=trace-pc-guard -MMD -MP -c $< -o $@

$(FUZZ_CLIB): $(CORE_SRC:%.c=$(FUZZ_BUILD)/cover/core/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/cover/fuzz_%: csrc/fuzz/fuzz_%.c csrc/fuzz/fuzz_common.h csrc/fuzz/edge_cover.c $(FUZZ_CLIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< csrc/fuzz/edge_cover.c $(FUZZ_CLIB) $(LDLIBS_CORE)

$(FUZZ_LIB): $(CORE_SRC:%.c=$(FUZZ_BUILD)/core/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_RLIB): $(CORE_SRC:%.c=$(FUZZ_BUILD)/replay/core/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: csrc/fuzz/fuzz_%.c csrc/fuzz/fuzz_common.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_LIB) $(LDLIBS_CORE)

$(FUZZ_BUILD)/replay/fuzz_%: csrc/fuzz/fuzz_%.c csrc/fuzz/fuzz_common.h csrc/fuzz/replay_main.c $(FUZZ_RLIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< csrc/fuzz/replay_main.c $(FUZZ_RLIB) $(LDLIBS_CORE)

fuzz-build: $(FUZZ_BIN)

fuzz-replay-build: $(FUZZ_REPLAY)

# Adds to each committed corpus the few inputs make fuzz found that reach
# code it does not (at most FUZZ_REDUCE_MAX per target; edge_cover.c).
fuzz-reduce: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/cover/%)
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_BUILD)/found/$$t; \
	  $(FUZZ_BUILD)/cover/$$t $(FUZZ_REDUCE_MAX) csrc/fuzz/corpus/$$t $(FUZZ_BUILD)/found/$$t \
	    | while read -r f; do cp "$$f" csrc/fuzz/corpus/$$t/; done; \
	done

# The corpus replay alone (make test runs it too).
fuzz-replay:
	@bash tools/test.sh --fuzz-replay

# One target after another, FUZZ_TIME seconds each, starting from the
# committed corpus (read-only: new inputs go to $(FUZZ_BUILD)/found/X).
fuzz: fuzz-build
	@rc=0; for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_BUILD)/found/$$t csrc/fuzz/corpus/$$t; \
	  echo "== $$t: $(FUZZ_TIME) s"; \
	  dict=; [ -f csrc/fuzz/$$t.dict ] && dict=-dict=csrc/fuzz/$$t.dict; \
	  $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_ARGS) \
	    $(FUZZ_BUILD)/found/$$t csrc/fuzz/corpus/$$t || { echo "== $$t: FAILED (see above)"; rc=1; }; \
	done; exit $$rc

check-layers:
	@bash tools/check_layers.sh

# The C sources of athanor/core.so, one a line: tools/rockspec_sync.lua
# writes them into the rockspecs' builtin build (and make test checks it).
rock-sources:
	@printf '%s\n' $(CORE_SRC) $(BIND_SRC)

# The libraries athanor/core.so links, as -l flags (for the same script).
rock-libs:
	@printf '%s\n' $(LDLIBS_CORE)

# pkg-config files (tools/athanor.pc.in, PREFIX written in, DESTDIR not):
# `pkg-config --cflags --libs athanor` for Lua 5.4 hosts, `athanor-luajit`
# for LuaJIT hosts.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g'
install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIBJITA) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBJITSO) $(DESTDIR)$(PREFIX)/lib/
	$(PC_SED) -e 's|@LIB@|athanor|g' -e 's|@LUA_PC@|lua5.4|g' -e 's|@LUA_NAME@|Lua 5.4|g' \
	  tools/athanor.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/athanor.pc
	$(PC_SED) -e 's|@LIB@|athanor-luajit|g' -e 's|@LUA_PC@|luajit|g' -e 's|@LUA_NAME@|LuaJIT 2.1|g' \
	  tools/athanor.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/athanor-luajit.pc
	install -d $(DESTDIR)$(PREFIX)/lib/lua/5.4/athanor $(DESTDIR)$(PREFIX)/share/lua/5.4
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 csrc/include/athanor.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(HOST) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(MOD54) $(DESTDIR)$(PREFIX)/lib/lua/5.4/athanor/
	install -D -m 755 $(MODJIT) $(DESTDIR)$(PREFIX)/lib/lua/5.1/athanor/core.so
	cd lua && find athanor -name '*.lua' -exec install -D -m 644 {} $(DESTDIR)$(PREFIX)/share/lua/5.4/{} \;
	cd lua && find athanor -name '*.lua' -exec install -D -m 644 {} $(DESTDIR)$(PREFIX)/share/lua/5.1/{} \;

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
