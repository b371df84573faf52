-- CPU time (os.clock) of loading N objects (session:query(Bench):all(),
-- then close) against fetching the same N rows with the Core
-- (conn:execute(select(t)):all()), alternating the two REPEAT times in one
-- process and keeping the best of each: on a shared machine the best run
-- is the one least disturbed (docs/performance.md, "ORM loading per row").
--   lua5.4 bench/profile/orm_load_cpu.lua [N] [REPEAT]     (luajit too)
local common = require("bench.profile.orm_common")

local N = tonumber(arg[1] or "100000")
local REPEAT = tonumber(arg[2] or "9")
local env = common.setup(N)

local core, orm = env.fetch_core, env.load_orm

local best = { core = math.huge, orm = math.huge }
for _ = 1, REPEAT do
  for _, side in ipairs({ "core", "orm" }) do
    collectgarbage("collect")
    local t0 = os.clock()
    if side == "core" then core() else orm() end
    local dt = os.clock() - t0
    if dt < best[side] then best[side] = dt end
  end
end
io.write(string.format("%s N=%d best of %d (cpu s): core %.4f  orm %.4f  orm/core x%.2f\n",
  jit and jit.version or _VERSION, N, REPEAT, best.core, best.orm, best.orm / best.core))   -- luacheck: ignore
env.close()
