-- Profile target (issue 17 item 3, issue 19 W3): N objects loaded with
-- session:query(Bench):all() ("orm") against the Core's select of the same
-- rows ("core"), summing an attribute; "setup" only fills the table
-- (subtract its instruction count):
--   valgrind --tool=callgrind lua5.4 bench/profile/orm_load.lua orm 100000
local ath = require("athanor")
local common = require("bench.profile.orm_common")
local side, n = arg[1] or "orm", tonumber(arg[2] or "100000")
local env = common.setup(n)
local sum = 0
if side == "core" then
  local conn = env.engine:connect()
  local all = conn:execute(ath.select(env.t)):all()
  for i = 1, #all do sum = sum + all[i].age end
  conn:close()
elseif side == "orm" then
  local s = env.Session()
  local all = s:query(env.Bench):all()
  for i = 1, #all do sum = sum + all[i].age end
  s:close()
end
io.write(side, " ", n, " rows, checksum ", sum, "\n")
env.close()
