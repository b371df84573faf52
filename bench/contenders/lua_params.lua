-- The floor of W1 and W2 for a Lua contender: only the parameter tables the
-- athanor and LuaSQL contenders build inside their timed region, built the
-- same way and nothing executed. Its ratio to raw C is as close as any Lua
-- library can come on these workloads (docs/performance.md).
-- usage: lua_params.lua BACKEND URL WORKLOAD N ROWS
local common = require("bench.contenders.common")
local _, _, workload, n = common.args()
if workload ~= "W1" and workload ~= "W2" then common.na("only W1 and W2 build parameter tables") end

local t0 = common.now()
if workload == "W1" then
  local params = {}
  for i = 1, n do params[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
  common.sink = params
else
  local last
  for i = 1, n do last = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
  common.sink = last
end
local t1 = common.now()
common.report(t1 - t0, n)
