-- Where loading's CPU time goes (docs/performance.md, "ORM loading on
-- LuaJIT"): the Core's fetch of N rows against session:query(Bench):all()
-- of the same rows, alternating REPEAT times in one process, best of each;
-- for the ORM also the time inside core.orm_load (the C loader) and the
-- memory each allocated (collectgarbage("count") before and after, the
-- collector running or, with "stop", stopped), then what one array of
-- 400,000 slots costs to make against 25 of 16,000 (LuaJIT's allocator
-- maps blocks of 128 KB or more fresh from the system at every make).
--   lua5.4 bench/profile/orm_load_phases.lua [N] [REPEAT] [stop]     (luajit too)
local core = require("athanor.core")

-- time the C loader: loading.lua keeps core.orm_load in a local when it
-- is loaded, so the wrapper goes in before athanor is required (orm_common)
local clock = os.clock
local in_load = 0
local orm_load = core.orm_load
core.orm_load = function(spec, rows, out)
  local t0 = clock()
  local created = orm_load(spec, rows, out)
  in_load = in_load + clock() - t0
  return created
end

local common = require("bench.profile.orm_common")

local N = tonumber(arg[1] or "100000")
local REPEAT = tonumber(arg[2] or "9")
local STOP = arg[3] == "stop"
local env = common.setup(N)

local core_fetch, orm_fetch = env.fetch_core, env.load_orm

local best = { core = math.huge, orm = math.huge, load = math.huge }
local kb = {}
for _ = 1, REPEAT do
  for _, side in ipairs({ "core", "orm" }) do
    collectgarbage("collect")
    if STOP then collectgarbage("stop") end
    local k0 = collectgarbage("count")
    in_load = 0
    local t0 = clock()
    if side == "core" then core_fetch() else orm_fetch() end
    local dt = clock() - t0
    kb[side] = collectgarbage("count") - k0
    if STOP then collectgarbage("restart") end
    if dt < best[side] then best[side] = dt end
    if side == "orm" and in_load < best.load then best.load = in_load end
  end
end
local version = jit and jit.version or _VERSION   -- luacheck: ignore 113
io.write(string.format("%s N=%d best of %d, collector %s (cpu s): core %.4f  orm %.4f (x%.2f)  in orm_load %.4f"
  .. "  allocated KB: core %.0f orm %.0f\n", version, N, REPEAT, STOP and "stopped" or "running",
  best.core, best.orm, best.orm / best.core, best.load, kb.core, kb.orm))

-- one big array against pieces under 128 KB (core.orm_new_table: an array part of n slots)
local function make(pieces, slots)
  local fastest = math.huge
  for _ = 1, REPEAT do
    collectgarbage("collect")
    local t0 = clock()
    local hold = {}
    for p = 1, pieces do hold[p] = core.orm_new_table(slots) end
    local dt = clock() - t0
    assert(#hold == pieces)
    if dt < fastest then fastest = dt end
  end
  return fastest * 1e3
end
io.write(string.format("%s making 1 array of 400,000 slots %.3f ms, 25 of 16,000 %.3f ms\n",
  version, make(1, 400000), make(25, 16000)))
env.close()
