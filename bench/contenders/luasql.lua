-- LuaSQL contender: what a Lua user has today (lua-sql-sqlite3 / -postgres).
-- LuaSQL has no bound parameters: values are escaped into the SQL text,
-- which the database parses again for every execution.
-- usage: luasql.lua BACKEND URL WORKLOAD N ROWS
local common = require("bench.contenders.common")
local backend, url, workload, n, rows = common.args()

local env, conn
if backend == "sqlite" then
  env = require("luasql.sqlite3").sqlite3()
  conn = assert(env:connect(url))
  conn:execute("PRAGMA journal_mode = WAL")
  conn:execute("PRAGMA synchronous = NORMAL")
else
  -- url: postgresql://user:pass@host:port/db (already percent-decoded parts only)
  local user, pass, host, port, db = url:match("^postgresql://([^:]*):([^@]*)@([^:]+):(%d+)/(.+)$")
  env = require("luasql.postgres").postgres()
  conn = assert(env:connect(db, user, pass, host, tonumber(port)))
end

local function q(s) return "'" .. conn:escape(s) .. "'" end
local check, t0, t1 = 0, 0, 0

if workload == "W1" or workload == "W2" then
  assert(conn:execute("DROP TABLE IF EXISTS bench_write"))
  assert(conn:execute("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)"))
  t0 = common.now()
  if workload == "W1" then conn:setautocommit(false) end
  for i = 1, n do
    assert(conn:execute(("INSERT INTO bench_write (id, name, age, score) VALUES (%d, %s, %d, %.17g)")
      :format(i, q("name" .. i), i % 100, i * 0.5)))
  end
  if workload == "W1" then conn:commit(); conn:setautocommit(true) end
  t1 = common.now()
  local cur = conn:execute("SELECT count(*) FROM bench_write")
  check = tonumber(cur:fetch()); cur:close()
elseif workload == "W3" then
  t0 = common.now()
  local cur = assert(conn:execute("SELECT id, name, age, score FROM bench_read"))
  local all = {}   -- luacheck: ignore (materialised, as the workload asks, never read)
  local row = cur:fetch({}, "a")
  while row do
    all[#all + 1] = row
    check = check + tonumber(row.age)
    row = cur:fetch({}, "a")
  end
  cur:close()
  t1 = common.now()
elseif workload == "W4" or workload == "W4tx" then
  local key = common.keys(rows)
  t0 = common.now()
  if workload == "W4tx" then conn:setautocommit(false) end
  for _ = 1, n do
    local cur = assert(conn:execute(("SELECT id, name, age, score FROM bench_read WHERE id = %d"):format(key())))
    local row = cur:fetch({}, "a")
    check = check + tonumber(row.age)
    cur:close()
  end
  if workload == "W4tx" then conn:commit(); conn:setautocommit(true) end
  t1 = common.now()
elseif workload == "W5" then
  t0 = common.now()
  local cur = assert(conn:execute("SELECT id, name, age, score FROM bench_stream"))
  local row = cur:fetch({}, "a")
  while row do check = check + 1; row = cur:fetch(row, "a") end
  cur:close()
  t1 = common.now()
end
-- LuaSQL refuses to close while a finished cursor awaits collection; the timing is done
collectgarbage()
pcall(conn.close, conn); pcall(env.close, env)
common.report(t1 - t0, check)
