-- The floor under a Lua point select on SQLite (docs/performance.md,
-- "Where a point select's time goes on Lua 5.4"): W4 of the bench (N point
-- selects by primary key on the file `raw_sqlite DB setup` made, each its
-- own transaction) through athanor's driver level alone, the least any Lua
-- API returning a row table does: one call that binds and steps (the
-- statement prepared once and kept), one that builds the row and resets.
-- MODE "driver" does just that; "objects" adds the three tables the
-- expression language makes per point select besides the row (the
-- comparison, the statement, the Result), each with a metatable and no
-- logic, the value bound from the comparison as the fused select binds it:
-- the floor of `conn:execute(ath.select(t):where(t.c.id:eq(k))):one()`.
-- Prints the bench's RESULT line (bench/contenders/common.lua).
-- usage: lua5.4 bench/profile/point_select_floor.lua DB N driver|objects
local common = require("bench.contenders.common")
local ath = require("athanor")
local db, n, mode = arg[1], tonumber(arg[2]), arg[3] or "driver"
local engine = ath.create_engine("sqlite:///" .. db, { connect_args = { journal_mode = "wal", synchronous = "normal" } })
local conn = engine:connect()
local c = conn._c
if type(c) ~= "userdata" then error("this needs the C driver") end
local sql = "SELECT id, name, age, score FROM bench_read WHERE id = ?"
local key = common.keys(100000)
local COMPARISON, STATEMENT, RESULT = {}, {}, {}
local BIND_V = { "v" }                     -- (the fused select binds the comparison's v by name: no array)
local objects = mode == "objects"
local check = 0
local t0 = common.now()
for _ = 1, n do
  local k = key()
  local row
  if objects then
    local cmp = setmetatable({ sql, v = k }, COMPARISON)
    local stmt = setmetatable({ sql, sql, cmp }, STATEMENT)
    local res = setmetatable({ c:exec(sql, stmt[3], BIND_V), nil, conn, false }, RESULT)
    row = res[1]:take_and_close(2)
  else
    row = c:exec(sql, { k }):take_and_close(2)
  end
  check = check + row.age
end
local t1 = common.now()
conn:close()
common.report(t1 - t0, check)
