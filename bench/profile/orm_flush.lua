-- Profile target (issue 19, W1): N new objects through session:add_all and
-- commit ("orm"), against the Core's executemany of the same rows ("core");
-- "setup" does neither (subtract its instruction count):
--   valgrind --tool=callgrind lua5.4 bench/profile/orm_flush.lua orm 20000
local ath = require("athanor")
local common = require("bench.profile.orm_common")
local side, n = arg[1] or "orm", tonumber(arg[2] or "20000")
local env = common.setup(0)
local Bench = env.Bench
if side == "core" then
  local params = {}
  for i = 1, n do params[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
  env.engine:begin(function(c) c:execute(ath.insert(env.t), params) end)
elseif side == "orm" then
  local s = env.Session()
  local objs = {}
  for i = 1, n do objs[i] = Bench{ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
  s:add_all(objs)
  s:commit()
  s:close()
end
local count = env.engine:connect(function(c) return c:execute(ath.select(ath.func.count()):select_from(env.t)):scalar() end)
io.write(side, " ", n, " rows inserted: ", count, "\n")
env.close()
