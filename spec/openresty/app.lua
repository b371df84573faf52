-- The endpoints of the nginx test (spec/openresty/run.sh). Every engine is
-- made per worker in init_worker_by_lua, except the fork test's: that one is
-- made and used in init_by_lua, in the master, before nginx forks.
-- Each endpoint answers 200 with a JSON object, or 500 with the error; the
-- shell script makes the assertions.
--   /nodb                      no database at all
--   /setup?db=D                (re)create the table ngx_items on engine D
--   /smoke?db=D                the Core smoke set on engine D
--   /select?db=D /insert?db=D  one fast select / one insert (for ab)
--   /sleep?db=D&t=S            SELECT pg_sleep(S)
--   /hold?db=D                 two light threads of this request each check out,
--                              hold the connection across ngx.sleep(0.5), query, return it
--   /fork  /fork_stats         the engine made before the fork; requests per worker
--   /luapool?timeout=S         lua_pool itself (fake connections) with the real
--                              ngx.semaphore: two holders of a pool of one
--   /luapool_filter            lua_pool exhausted in a header filter (cannot yield)
-- D: sqlite (file, WAL), pg (libpq), pg1 (libpq, pool_size 1), cos (cosocket),
-- cos1 (cosocket, pool_size 1).
local ath = require("athanor")
local cjson = require("cjson")
local lua_pool = require("athanor.engine.lua_pool")

local ngx = ngx   -- luacheck: read globals ngx
local M = {}

local engines = {}
local metadata = ath.MetaData()
local items = ath.Table("ngx_items", metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(60), { nullable = false }),
  ath.Column("note", ath.Text))

local function pg_url() return os.getenv("ATHANOR_TEST_URL") end
-- Cosockets resolve host names with nginx's `resolver` (a DNS server), never
-- /etc/hosts: the test names the loopback address itself.
local function cosocket_url()
  return (pg_url():gsub("^postgres%a*:", "postgresql+cosocket:"):gsub("@localhost([:/])", "@127.0.0.1%1"))
end

-- init_worker_by_lua: one engine per worker for each backend. create_engine
-- opens nothing; the first checkout connects.
function M.init_worker()
  local prefix = os.getenv("ATHANOR_NGX_PREFIX")
  engines.sqlite = ath.create_engine("sqlite:///" .. prefix .. "/app.db",
    { pool_size = 4, connect_args = { journal_mode = "wal", busy_timeout = 2000 } })
  engines.pg = ath.create_engine(pg_url(), { pool_size = 2 })
  engines.pg1 = ath.create_engine(pg_url(), { pool_size = 1, max_overflow = 0, pool_timeout = 5 })
  if os.getenv("ATHANOR_NGX_COSOCKET") == "1" then
    engines.cos = ath.create_engine(cosocket_url(), { pool_size = 10, max_overflow = 10 })
    engines.cos1 = ath.create_engine(cosocket_url(), { pool_size = 1, max_overflow = 0, pool_timeout = 5 })
  end
end

-- init_by_lua (fork test only): an engine made AND used in the master; its
-- pooled connection is inherited by every worker.
function M.init_master()
  M.fork_engines = {
    pg = ath.create_engine(pg_url(), { pool_size = 2 }),
    sqlite = ath.create_engine("sqlite:///" .. os.getenv("ATHANOR_NGX_PREFIX") .. "/fork.db",
      { connect_args = { journal_mode = "wal", busy_timeout = 2000 } }),
  }
  for _, e in pairs(M.fork_engines) do
    e:connect(function(conn) conn:execute(ath.text("SELECT 1")):scalar() end)
  end
end

local function engine_arg()
  local name = ngx.var.arg_db or "sqlite"
  local e = engines[name]
  if not e then error(ath.errors.new("ArgumentError", "no engine '" .. name .. "' in this worker"), 0) end
  return e, name
end

local function now() ngx.update_time() return ngx.now() end

local handlers = {}

function handlers.nodb() return { ok = true, pid = ngx.worker.pid() } end

function handlers.setup()
  local e = engine_arg()
  e:begin(function(conn)
    metadata:drop_all(conn)
    metadata:create_all(conn)
    conn:execute(items:insert(), { { name = "first" }, { name = "second", note = "two" } })
  end)
  return { ok = true }
end

-- The Core smoke set: select, insert RETURNING, executemany, NULLs.
function handlers.smoke()
  local e = engine_arg()
  return e:connect(function(conn)
    local two = conn:execute(ath.select(ath.literal(1) + 1)):scalar()
    assert(two == 2, "select 1 + 1 gave " .. tostring(two))
    local tag = "smoke-" .. ngx.worker.pid() .. "-" .. ngx.now() .. "-" .. math.random(1e9)
    local row = conn:execute(items:insert():values({ name = tag }):returning(items.c.id, items.c.name)):one()
    assert(type(row.id) == "number" and row.name == tag, "RETURNING gave " .. tostring(row))
    local res = conn:execute(items:insert(), {
      { name = tag .. "/a", note = "a" }, { name = tag .. "/b", note = ath.null }, { name = tag .. "/c" } })
    assert(res.rowcount == 3, "executemany rowcount " .. tostring(res.rowcount))
    local rows = conn:execute(ath.select(items.c.name, items.c.note)
      :where(items.c.name:startswith(tag .. "/")):order_by(items.c.name)):all()
    assert(#rows == 3 and rows[1].note == "a" and rows[2].note == nil and rows[3].note == nil,
      "executemany rows: " .. cjson.encode(rows))
    assert(ath.null == ngx.null and ath.null == cjson.null, "ath.null is not ngx.null/cjson.null")
    local n = conn:execute(ath.select(ath.func.count()):select_from(items)
      :where(items.c.note:eq(ath.null)):where(items.c.name:startswith(tag))):scalar()
    assert(n == 3, "rows with a NULL note: " .. tostring(n))
    return { ok = true, id = row.id, pid = ngx.worker.pid() }
  end)
end

local by_id = ath.select(items.c.id, items.c.name, items.c.note):where(items.c.id:eq(ath.bindparam("id")))
function handlers.select()
  local e = engine_arg()
  return e:connect(function(conn)
    local row = conn:execute(by_id, { id = 1 }):one()
    return { id = row.id, name = row.name }
  end)
end

function handlers.insert()
  local e = engine_arg()
  return e:connect(function(conn)
    local id = conn:execute(items:insert():values({ name = "ab", note = "load" }):returning(items.c.id)):scalar()
    return { id = id }
  end)
end

function handlers.sleep()
  local e = engine_arg()
  local t = tonumber(ngx.var.arg_t) or 0.2
  return e:connect(function(conn)
    conn:execute(ath.text("SELECT pg_sleep(:t)"), { t = t })
    return { ok = true, slept = t }
  end)
end

-- Two light threads of one request (so both run in this worker, on its
-- pool) each hold a connection across ngx.sleep(0.5), standing for any
-- cosocket call. With a pool of one the second must wait for the first:
-- the cosocket pool yields, the C pool (libpq) fails at once.
function handlers.hold()
  local e = engine_arg()
  local t0 = now()
  local function holder(i)
    local started = now() - t0
    local ok, res = pcall(e.connect, e, function(conn)
      local got = now() - t0
      ngx.sleep(0.5)
      return { checkout_at = got, value = conn:execute(ath.text("SELECT " .. i)):scalar() }
    end)
    local out = { ok = ok, started = started, ended = now() - t0 }
    if ok then
      out.checkout_at, out.value = res.checkout_at, res.value
    else
      out.kind = type(res) == "table" and res.kind or "?"
      out.message = tostring(type(res) == "table" and res.message or res)
    end
    return out
  end
  local a = ngx.thread.spawn(holder, 1)
  local b = ngx.thread.spawn(holder, 2)
  local _, ra = ngx.thread.wait(a)
  local _, rb = ngx.thread.wait(b)
  return { first = ra, second = rb, total = now() - t0, status = e.pool:status() }
end

-- lua_pool with fake connections whose connect yields (as a cosocket
-- connect does): the pool test of the cosocket driver without the driver.
local function fake_pool(timeout, connect_yields)
  local opened = 0
  return lua_pool.new({
    connect = function()
      if connect_yields then ngx.sleep(0.01) end
      opened = opened + 1
      return { id = opened }
    end,
    close = function() end,
    reset = function() return true end,
    pool_size = 1, max_overflow = 0, pool_timeout = timeout,
  })
end

function handlers.luapool()
  local pool = fake_pool(tonumber(ngx.var.arg_timeout) or 5, true)
  local t0 = now()
  local function holder()
    local raw, err = pool:checkout()
    if not raw then return { ok = false, kind = err.kind, message = err.message, ended = now() - t0 } end
    local got = now() - t0
    ngx.sleep(0.5)
    pool:checkin(raw)
    return { ok = true, id = raw.id, checkout_at = got, ended = now() - t0 }
  end
  local a = ngx.thread.spawn(holder)
  local b = ngx.thread.spawn(holder)
  ngx.sleep(0.25)
  local mid = pool:status()
  local _, ra = ngx.thread.wait(a)
  local _, rb = ngx.thread.wait(b)
  return { first = ra, second = rb, total = now() - t0, waiters_mid = mid.waiters,
           status = pool:status(), host = lua_pool.host.name }
end

-- header_filter_by_lua: no yielding here, so an exhausted pool fails at once.
function M.luapool_filter()
  local pool = fake_pool(5, false)
  local t0 = now()
  local held = pool:checkout()
  local raw, err = pool:checkout()
  pool:checkin(held)
  ngx.header["X-Lua-Pool"] = raw and "checked out" or
    string.format("%s in %.3f s: %s", err.kind, now() - t0, err.message)
end

function handlers.fork()
  local name = ngx.var.arg_db or "pg"
  local e = M.fork_engines[name]
  local v = e:connect(function(conn) return conn:execute(ath.text("SELECT 41 + 1")):scalar() end)
  assert(v == 42, "SELECT 41 + 1 gave " .. tostring(v))
  ngx.shared.stats:incr(name .. ":" .. ngx.worker.pid(), 1, 0)
  return { ok = true }
end

function handlers.fork_stats()
  local out = {}
  for _, k in ipairs(ngx.shared.stats:get_keys(0)) do out[k] = ngx.shared.stats:get(k) end
  return out
end

function M.handle()
  local name = ngx.var.uri:match("^/([%w_]+)$")
  local h = name and handlers[name]
  if not h then ngx.status = 404 ngx.say(cjson.encode({ error = "no endpoint " .. ngx.var.uri })) return end
  local ok, res = pcall(h)
  ngx.header["Content-Type"] = "application/json"
  if ok then
    ngx.say(cjson.encode(res))
  else
    ngx.status = 500
    ngx.log(ngx.ERR, ngx.var.request_uri, ": ", tostring(res))
    ngx.say(cjson.encode({ error = tostring(res), kind = type(res) == "table" and res.kind or nil }))
  end
end

return M
