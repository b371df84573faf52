-- Profile target for the per-statement Lua paths of the Core, on an
-- in-memory database. Compare instruction counts with N = 0 subtracted:
--   valgrind --tool=callgrind lua5.4 bench/profile/core_paths.lua insert 2000
-- Modes: "insert" (ath.insert(t):values{...} built and executed per row),
-- "many" (one executemany of N rows through ath.insert(t)), "fetch" (N rows
-- read back with result:all(); "fetchmap" the same through result:map(fn);
-- "load" only inserts them, the baseline to subtract from "fetch").
local ath = require("athanor")
local mode, n = arg[1] or "insert", tonumber(arg[2] or "2000")
local md = ath.MetaData()
local t = ath.Table("bench_write", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local engine = ath.create_engine("sqlite://")
md:create_all(engine)
local conn = engine:connect()
local rows = {}
for i = 1, n do rows[i] = { id = i, name = "n" .. i, age = i % 100, score = i * 0.5 } end
local sum = 0
local clock = os.clock()
if mode == "insert" then
  conn:begin()
  for i = 1, n do conn:execute(ath.insert(t):values(rows[i])) end
  conn:rollback()
elseif mode == "many" then
  conn:begin()
  conn:execute(ath.insert(t), rows)
  conn:rollback()
else
  conn:execute(ath.insert(t), rows)
  clock = os.clock()
  if mode == "load" then goto done end
  local res = conn:execute(ath.select(t))
  if mode == "fetchmap" then
    res = res:map(function(row) return row end)
  end
  local got = res:all()
  for i = 1, #got do sum = sum + got[i].age end
end
::done::
io.write(mode, " ", n, " rows, checksum ", sum, string.format(", %.3f s\n", os.clock() - clock))
