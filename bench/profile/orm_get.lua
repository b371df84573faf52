-- Profile target (issue 19, W4 and W4id): N session:get of random keys
-- over ROWS rows, a fresh session each ("orm"); the same keys got a second
-- time in one session, every one an identity-map hit ("orm_id"; the first
-- pass loads them); the Core's point select ath.select(t):where(t.c.id:eq(k))
-- ("core"), and the same in a transaction on a connection taken from the
-- pool for each ("core_tx"); "setup" fills the table only (subtract its instruction count):
--   valgrind --tool=callgrind lua5.4 bench/profile/orm_get.lua orm 10000
local ath = require("athanor")
local common = require("bench.profile.orm_common")
local side, n, rows = arg[1] or "orm", tonumber(arg[2] or "10000"), tonumber(arg[3] or "100000")
local env = common.setup(rows)
local key = common.keys(rows)
local Bench, t = env.Bench, env.t
local sum = 0
if side == "core" then
  local conn = env.engine:connect()
  for _ = 1, n do sum = sum + conn:execute(ath.select(t):where(t.c.id:eq(key()))):one().age end
  conn:close()
elseif side == "core_tx" then
  -- what a session per get must do at least: a connection from the pool,
  -- its transaction, the select, the rollback
  for _ = 1, n do
    local conn = env.engine:connect()
    local tx = conn:begin()
    sum = sum + conn:execute(ath.select(t):where(t.c.id:eq(key()))):one().age
    tx:rollback()
    conn:close()
  end
elseif side == "orm" then
  for _ = 1, n do
    local s = env.Session()
    sum = sum + s:get(Bench, key()).age
    s:close()
  end
elseif side == "orm_id" then
  local s = env.Session()
  local ks, held = {}, {}
  for i = 1, n do ks[i] = key(); held[i] = s:get(Bench, ks[i]) end
  for i = 1, n do sum = sum + s:get(Bench, ks[i]).age end
  assert(#held == n)
  s:close()
end
io.write(side, " ", n, " gets, checksum ", sum, "\n")
env.close()
