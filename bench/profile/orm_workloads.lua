-- Profile target: the ORM workloads of issue 19 (bench/README.md) against
-- the Core doing the same, on a SQLite file database in WAL mode with
-- synchronous NORMAL, in one process. Prints the median of REPEAT runs of
-- each and the ratio ORM / Core.
--   lua5.4 bench/profile/orm_workloads.lua [W1,W3,W4,W4id] [N] [REPEAT] [wall|cpu]
--   luajit bench/profile/orm_workloads.lua W4 10000 7
-- N is the row count of W1/W3 (default 100000); W4 runs N/10 gets over
-- N rows; W4id times the second pass of the same keys in one session (the
-- first loads them). W4:orm or W4:core runs only that side.
-- bench/profile/orm_flush.lua, orm_load.lua and orm_get.lua are the same
-- workloads shaped for callgrind.
local ath = require("athanor")

local which = arg[1] or "W1,W3,W4,W4id"
local N = tonumber(arg[2] or "100000")
local REPEAT = tonumber(arg[3] or "5")
-- wall time by default; "cpu" (os.clock: this process's CPU time) is
-- steadier on a loaded machine
local CLOCK = arg[4] or "wall"
local now = CLOCK == "cpu" and os.clock or require("athanor.core").monotonic

local env = require("bench.profile.orm_common").setup(0)   -- the Bench model on its WAL file database
local engine, Bench, t, Session = env.engine, env.Bench, env.t, env.Session

local function reset(fill)
  engine:begin(function(c)
    c:execute(ath.delete(t))
    if fill then
      local rows = {}
      for i = 1, N do rows[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
      c:execute(ath.insert(t), rows)
    end
  end)
end

local keys = require("bench.contenders.common").keys   -- minstd: the contenders' key sequence

local W = {}

function W.W1(side)
  reset(false)
  collectgarbage("collect")
  local t0 = now()
  if side == "core" then
    local params = {}
    for i = 1, N do params[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
    engine:begin(function(c) c:execute(ath.insert(t), params) end)
  else
    local s = Session()
    local objs = {}
    for i = 1, N do objs[i] = Bench{ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
    s:add_all(objs)
    s:commit()
    s:close()
  end
  local dt = now() - t0
  local n = engine:connect(function(c) return c:execute(ath.select(ath.func.count()):select_from(t)):scalar() end)
  assert(n == N, "W1 inserted " .. tostring(n))
  return dt
end

local filled = false
local function fill()
  if not filled then reset(true); filled = true end
end

function W.W3(side)
  fill()
  collectgarbage("collect")
  local t0 = now()
  local sum = 0
  if side == "core" then
    local conn = engine:connect()
    local all = conn:execute(ath.select(t)):all()
    for i = 1, #all do sum = sum + all[i].age end
    conn:close()
  else
    local s = Session()
    local all = s:query(Bench):all()
    for i = 1, #all do sum = sum + all[i].age end
    s:close()
  end
  local dt = now() - t0
  assert(sum > 0)
  return dt
end

local function W4(side, same_session)
  fill()
  local n = math.floor(N / 10)
  local key = keys(N)
  collectgarbage("collect")
  local t0 = now()
  local sum = 0
  if side == "core" then
    local conn = engine:connect()
    for _ = 1, n do sum = sum + conn:execute(ath.select(t):where(t.c.id:eq(key()))):one().age end
    conn:close()
  elseif same_session then
    -- the first pass loads (untimed), the second finds every object in the map
    local s = Session()
    local held, ks = {}, {}
    for i = 1, n do ks[i] = key(); held[i] = s:get(Bench, ks[i]) end
    t0 = now()
    for i = 1, n do sum = sum + s:get(Bench, ks[i]).age end
    s:close()
    assert(#held == n)
  else
    for _ = 1, n do
      local s = Session()
      sum = sum + s:get(Bench, key()).age
      s:close()
    end
  end
  local dt = now() - t0
  assert(sum > 0)
  return dt
end
function W.W4(side) return W4(side, false) end
function W.W4id(side)
  if side == "core" then return W4("core") end
  return W4(side, true)
end

local function median(fn, side)
  local ts = {}
  for i = 1, REPEAT do ts[i] = fn(side) end
  table.sort(ts)
  return ts[math.floor((REPEAT + 1) / 2)]
end

print(string.format("%s  N=%d  repeat=%d  (median %s seconds)", jit and jit.version or _VERSION, N, REPEAT, CLOCK)) -- luacheck: ignore
for spec in which:gmatch("[^,]+") do
  local name, only = spec:match("^([^:]+):?(.*)$")
  local fn = assert(W[name], "unknown workload " .. name)
  if only ~= "" then
    print(string.format("%-5s %-4s %.4f", name, only, median(fn, only)))
  else
    local c = median(fn, "core")
    local o = median(fn, "orm")
    print(string.format("%-5s core %.4f  orm %.4f  orm/core x%.2f", name, c, o, o / c))
  end
end
env.close()
