-- Profile target: N point selects in one transaction on an in-memory
-- database, through ath.text ("text") or built afresh with the expression
-- language ("expr"). Compare instruction counts with N = 0 subtracted:
--   valgrind --tool=callgrind lua5.4 bench/profile/point_select.lua expr 20000
local ath = require("athanor")
local mode, n = arg[1] or "expr", tonumber(arg[2] or "20000")
local md = ath.MetaData()
local t = ath.Table("bench_read", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local engine = ath.create_engine("sqlite://")
md:create_all(engine)
local conn = engine:connect()
local rows = {}
for i = 1, 1000 do rows[i] = { id = i, name = "n" .. i, age = i, score = 1.0 } end
conn:execute(ath.insert(t), rows)
conn:begin()
local point = ath.text("SELECT id, name, age, score FROM bench_read WHERE id = :id")
local sum = 0
for i = 1, n do
  local k = i % 1000 + 1
  local row
  if mode == "text" then row = conn:execute(point, { id = k }):one()
  else row = conn:execute(ath.select(t):where(t.c.id:eq(k))):one() end
  sum = sum + row.age
end
conn:rollback()
io.write(mode, " ", n, " queries, checksum ", sum, "\n")
