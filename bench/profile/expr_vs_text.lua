-- Profile target: the expression language against the text API on the same
-- work, on an in-memory database; N operations (per row or per statement):
--   valgrind --tool=callgrind lua5.4 bench/profile/expr_vs_text.lua insert_expr 2000
-- Modes: insert_expr / insert_text (one INSERT per row, in one transaction),
-- many_expr / many_text (one executemany of N rows), fetch_expr / fetch_text
-- (N of 20,000 rows read with result:all()), none (only the N row tables
-- every mode builds first: subtract it). Compare instruction counts with
-- N = 0 subtracted, per operation (docs/performance.md).
local ath = require("athanor")
local mode, n = arg[1] or "insert_expr", tonumber(arg[2] or "2000")
local md = ath.MetaData()
local t = ath.Table("bench_write", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local engine = ath.create_engine("sqlite://")
md:create_all(engine)
local conn = engine:connect()
local rows = {}
for i = 1, n do rows[i] = { id = i, name = "n" .. i, age = i % 100, score = i * 0.5 } end
local ins = ath.text("INSERT INTO bench_write (id, name, age, score) VALUES (:id, :name, :age, :score)")
local sum = 0
if mode == "insert_expr" then
  conn:begin()
  for i = 1, n do conn:execute(ath.insert(t):values(rows[i])) end
  conn:rollback()
elseif mode == "insert_text" then
  conn:begin()
  for i = 1, n do conn:execute(ins, rows[i]) end
  conn:rollback()
elseif mode == "many_expr" then
  conn:begin(); conn:execute(ath.insert(t), rows); conn:rollback()
elseif mode == "many_text" then
  conn:begin(); conn:execute(ins, rows); conn:rollback()
elseif mode == "fetch_expr" or mode == "fetch_text" then
  local all = {}
  for i = 1, 20000 do all[i] = { id = i, name = "n" .. i, age = i % 100, score = i * 0.5 } end
  conn:execute(ins, all)
  if n > 0 then
    local res
    if mode == "fetch_expr" then res = conn:execute(ath.select(t):limit(n))
    else res = conn:execute(ath.text("SELECT id, name, age, score FROM bench_write LIMIT :n"), { n = n }) end
    for _, row in ipairs(res:all()) do sum = sum + row.age end
  end
end
io.write(mode, " ", n, ", checksum ", sum, "\n")
