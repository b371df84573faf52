-- athanor: SQL toolkit and ORM for Lua with a C core.
-- Builds from the local source alone: `luarocks make rockspec/athanor-scm-1.rockspec`
-- (system libraries from Debian: libsqlite3-dev, libpq-dev; see tools/deps.sh).
rockspec_format = "3.0"
package = "athanor"
version = "scm-1"
source = {
  url = "git+file://./",
}
description = {
  summary = "SQLAlchemy for Lua: engine, pool, expression language compiled in C, ORM",
  detailed = [[
athanor is a SQL toolkit and object-relational mapper for Lua 5.4 and LuaJIT:
an engine with a thread-safe connection pool, SQL expression language compiled
to SQL in C with a compiled-statement cache, SQLite and PostgreSQL drivers.]],
  license = "MIT",
}
-- Only Lua itself: everything else (libsqlite3, libpq, lua-cjson for JSON
-- columns) comes from Debian (tools/deps.sh), so `luarocks make` never
-- needs a rocks server.
dependencies = {
  "lua >= 5.1",
}
build = {
  type = "command",
  -- core.so is built by the Makefile's own rule (one source for every Lua;
  -- the "lua54" in its build path is only a directory name).
  build_command = [[bash tools/rock.sh build "$(LUA_INCDIR)" "$(LUA)" "$(CFLAGS)"]],
  install_command = [[bash tools/rock.sh install "$(LIBDIR)" "$(LUADIR)" "$(LUA)"]],
}
