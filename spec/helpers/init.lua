--- Shared fixtures for the busted specs.
-- One set of specs runs against every backend: the URL comes from
-- ATHANOR_TEST_URL ("sqlite://" by default). A spec that only makes sense on
-- one backend carries "#sqlite" or "#postgresql" in its describe name, and
-- the test runner excludes the other tag.
local ath = require("athanor")

local M = {}

M.url = os.getenv("ATHANOR_TEST_URL") or "sqlite://"
M.backend = M.url:match("^(%a+)")
if M.backend == "postgres" then M.backend = "postgresql" end
M.is_sqlite = M.backend == "sqlite"
M.is_postgresql = M.backend == "postgresql"

--- `<close>` and other 5.4-only syntax must be compiled at run time so the
-- spec files still parse on LuaJIT.
M.lua54 = _VERSION == "Lua 5.4"

--- Placeholder i in the driver's own style (for exec_driver_sql).
function M.ph(i) return M.is_postgresql and ("$" .. i) or "?" end

--- A fresh temporary directory (removed at exit by the OS's tmp cleaning;
-- specs remove their own files).
function M.tmpname(suffix)
  local name = os.tmpname()
  os.remove(name)
  return name .. (suffix or "")
end

--- An engine on the test backend. For SQLite a file database in a temp dir,
-- so several connections share data through the pool like on a server.
-- @param opts create_engine options
-- @param memory true: keep the in-memory database on SQLite
function M.engine(opts, memory)
  if M.is_sqlite and not memory and M.url == "sqlite://" then
    local path = M.tmpname(".db")
    local e = ath.create_engine("sqlite:///" .. path, opts)
    M._files = M._files or {}
    M._files[#M._files + 1] = path
    return e
  end
  return ath.create_engine(M.url, opts)
end

--- Drop tables if they exist (in the given order).
function M.drop(conn, ...)
  for _, name in ipairs({ ... }) do
    conn:exec_driver_sql('DROP TABLE IF EXISTS "' .. name .. '"')
  end
end

--- A connection on md's tables, made fresh for a describe block and dropped
-- after it: `setup(function() conn = fx.open() ... end)`, `teardown(fx.close)`.
-- fx.engine is the engine behind it.
function M.schema_fixture(md, opts)
  local fx = {}
  function fx.open()
    fx.engine = M.engine(opts)
    fx.conn = fx.engine:connect()
    md:drop_all(fx.conn)
    md:create_all(fx.conn)
    return fx.conn
  end
  function fx.close()
    md:drop_all(fx.conn)
    fx.conn:close()
    fx.engine:dispose()
    M.cleanup()
  end
  return fx
end

--- Remove the temp database files made by M.engine.
function M.cleanup()
  for _, p in ipairs(M._files or {}) do
    os.remove(p); os.remove(p .. "-wal"); os.remove(p .. "-shm"); os.remove(p .. "-journal")
  end
  M._files = {}
end

--- Count rows of a table through a fresh connection of engine.
function M.count(engine, tname)
  return engine:connect(function(c)
    return c:execute(ath.text('SELECT count(*) FROM "' .. tname .. '"')):scalar()
  end)
end

--- pcall that returns the error object (or fails the spec if nothing raised).
function M.catch(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, but the call succeeded")
  return err
end

return M
