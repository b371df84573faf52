-- athanor Core contender. MODE "text" uses ath.text; "expr" builds every
-- statement with the schema and expression language (API.md §3, §4), afresh
-- for each execution.
-- usage: athanor.lua BACKEND URL WORKLOAD N ROWS MODE
local common = require("bench.contenders.common")
local ath = require("athanor")
local backend, url, workload, n, rows = common.args()
local mode = arg[6] or "text"

if mode == "expr" and not ath.select then common.na("expression language not implemented yet") end

local opts = backend == "sqlite" and { connect_args = { journal_mode = "wal", synchronous = "normal" } } or nil
local engine = ath.create_engine(url, opts)
local conn = engine:connect()
local check, t0, t1 = 0, 0, 0

local INSERT = ath.text("INSERT INTO bench_write (id, name, age, score) VALUES (:id, :name, :age, :score)")

-- The benchmark tables as schema objects (expr mode).
local function bench_table(name)
  local md = ath.MetaData()
  return ath.Table(name, md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
end

if workload == "W1" or workload == "W2" then
  conn:exec_driver_sql("DROP TABLE IF EXISTS bench_write")
  conn:exec_driver_sql("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)")
  t0 = common.now()
  if workload == "W1" then
    local params = {}
    for i = 1, n do params[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
    if mode == "expr" then
      local w = bench_table("bench_write")
      engine:begin(function(c) c:execute(ath.insert(w), params) end)
    else
      engine:begin(function(c) c:execute(INSERT, params) end)
    end
  elseif mode == "expr" then
    local w = bench_table("bench_write")
    for i = 1, n do conn:execute(ath.insert(w):values({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 })) end
  else
    for i = 1, n do conn:execute(INSERT, { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }) end
  end
  t1 = common.now()
  check = conn:execute(ath.text("SELECT count(*) FROM bench_write")):scalar()
elseif workload == "W3" then
  local query = mode == "expr" and ath.select(bench_table("bench_read")) or ath.text("SELECT id, name, age, score FROM bench_read")
  t0 = common.now()
  local all = conn:execute(query):all()
  for i = 1, #all do check = check + all[i].age end
  t1 = common.now()
elseif workload == "W4" or workload == "W4tx" then
  local key = common.keys(rows)
  local point = ath.text("SELECT id, name, age, score FROM bench_read WHERE id = :id")
  local t
  if mode == "expr" then t = bench_table("bench_read") end
  t0 = common.now()
  local tx = workload == "W4tx" and conn:begin() or nil
  for _ = 1, n do
    local k = key()
    local row
    if t then row = conn:execute(ath.select(t):where(t.c.id:eq(k))):one()
    else row = conn:execute(point, { id = k }):one() end
    check = check + row.age
  end
  if tx then tx:commit() end
  t1 = common.now()
elseif workload == "W5" then
  local query = mode == "expr" and ath.select(bench_table("bench_stream")) or ath.text("SELECT id, name, age, score FROM bench_stream")
  t0 = common.now()
  for _ in conn:execute(query, nil, { stream = true }) do
    check = check + 1
  end
  t1 = common.now()
else
  error("unknown workload " .. workload)
end
conn:close()
common.report(t1 - t0, check)
