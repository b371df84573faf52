-- athanor ORM contender (docs/orm.md, docs/relationships.md): the ORM
-- workloads of bench/README.md with the ORM's own idioms, on the same
-- tables as the Core contenders.
-- usage: athanor_orm.lua BACKEND URL WORKLOADS SIZES ROWS
--   WORKLOADS: one of OW1 OW2 OW3 OW4 OW4id OW5 OW6sel OW6join, or a comma
--   list of them with a comma list of SIZES (the smoke run uses one process
--   for all); prints one "RESULT workload=W seconds=S check=C maxrss_kb=K"
--   line each. "setup6 N" (not timed) creates bench_parent with N parents
--   and bench_child with 10 children each, for OW6.
local common = require("bench.contenders.common")
local ath = require("athanor")
local orm = require("athanor.orm")
local backend, url, workloads, sizes, rows = arg[1], arg[2], arg[3], arg[4], tonumber(arg[5] or "100000")
assert(backend and url and workloads and sizes, "usage: athanor_orm.lua BACKEND URL WORKLOADS SIZES [ROWS]")

local opts = backend == "sqlite" and { connect_args = { journal_mode = "wal", synchronous = "normal" } } or nil
local engine = ath.create_engine(url, opts)

local Base = orm.declarative_base()
local models = require("bench.contenders.orm_models").define(Base)
local BenchWrite, BenchRead, BenchStream = models.BenchWrite, models.BenchRead, models.BenchStream
local Parent, Child = models.Parent, models.Child
local CHILDREN = 10

local Session = orm.sessionmaker({ bind = engine })
local now = common.now

local function recreate_write_table()
  engine:connect(function(c)
    c:exec_driver_sql("DROP TABLE IF EXISTS bench_write")
    c:exec_driver_sql("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)")
  end)
end

local function count_written()
  return engine:connect(function(c) return c:execute(ath.text("SELECT count(*) FROM bench_write")):scalar() end)
end

-- Each workload returns its timed seconds and its check.
local run = {}

-- n parents; child i (1 .. 10n) belongs to parent ceil(i / 10), age i % 100
function run.setup6(n)
  engine:connect(function(c)
    c:exec_driver_sql("DROP TABLE IF EXISTS bench_child")
    c:exec_driver_sql("DROP TABLE IF EXISTS bench_parent")
    c:exec_driver_sql("CREATE TABLE bench_parent (id integer primary key, name text)")
    c:exec_driver_sql("CREATE TABLE bench_child (id integer primary key, "
      .. "parent_id integer references bench_parent (id), age integer)")
    c:exec_driver_sql("CREATE INDEX bench_child_parent ON bench_child (parent_id)")
    local prows, crows = {}, {}
    for p = 1, n do
      prows[p] = { id = p, name = "parent" .. p }
      for j = 1, CHILDREN do
        local i = (p - 1) * CHILDREN + j
        crows[i] = { id = i, parent_id = p, age = i % 100 }
      end
    end
    local tx = c:begin()
    c:execute(ath.insert(Parent.__table__), prows)
    c:execute(ath.insert(Child.__table__), crows)
    tx:commit()
    if backend == "postgresql" then c:exec_driver_sql("ANALYZE bench_parent, bench_child") end
  end)
  return 0, 0
end

function run.OW1(n)
  recreate_write_table()
  local s = Session()
  local t0 = now()
  local objs = {}
  for i = 1, n do objs[i] = BenchWrite({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }) end
  s:add_all(objs)
  s:commit()
  local t1 = now()
  s:close()
  return t1 - t0, count_written()
end

function run.OW2(n)
  recreate_write_table()
  local s = Session()
  local t0 = now()
  for i = 1, n do
    s:add(BenchWrite({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }))
    s:commit()
  end
  local t1 = now()
  s:close()
  return t1 - t0, count_written()
end

function run.OW3()
  local s = Session()
  local check = 0
  local t0 = now()
  local all = s:query(BenchRead):all()
  for i = 1, #all do check = check + all[i].age end
  local t1 = now()
  s:close()
  return t1 - t0, check
end

-- a fresh session per get: every get is an identity-map miss and a SELECT
function run.OW4(n)
  local key = common.keys(rows)
  local check = 0
  local t0 = now()
  for _ = 1, n do
    local s = Session()
    check = check + s:get(BenchRead, key()).age
    s:close()
  end
  return now() - t0, check
end

-- one session, 10 passes over the first n/10 keys of OW4's sequence: the
-- first pass SELECTs, the other nine are identity-map hits
function run.OW4id(n)
  local per_pass = math.floor(n / 10)
  local keys, key = {}, common.keys(rows)
  for i = 1, per_pass do keys[i] = key() end
  local s = Session()
  local held = {} -- as sqlalchemy_orm.py must (its identity map is weak); this session holds them anyway
  local check = 0
  local t0 = now()
  for _ = 1, 10 do
    for i = 1, per_pass do
      local obj = s:get(BenchRead, keys[i])
      held[i] = obj
      check = check + obj.age
    end
  end
  local t1 = now()
  assert(#held == per_pass)
  s:close()
  return t1 - t0, check
end

function run.OW5()
  local s = Session()
  local check = 0
  local t0 = now()
  for _ in s:query(BenchStream):yield_per(1000):iter() do check = check + 1 end
  local t1 = now()
  s:close()
  return t1 - t0, check
end

local function relationship_load(loader)
  return function(n)
    local s = Session()
    local check = 0
    local t0 = now()
    local parents = s:query(Parent):options(loader(Parent.children)):all()
    for p = 1, #parents do
      local children = parents[p].children
      for c = 1, #children do check = check + children[c].age end
    end
    local t1 = now()
    assert(#parents == n, "expected " .. n .. " parents, got " .. #parents)
    s:close()
    return t1 - t0, check
  end
end
run.OW6sel = relationship_load(orm.selectinload)
run.OW6join = relationship_load(orm.joinedload)

local counts = {}
for size in sizes:gmatch("[^,]+") do counts[#counts + 1] = tonumber(size) end
local k = 0
for workload in workloads:gmatch("[^,]+") do
  k = k + 1
  local fn = run[workload]
  if fn == nil then error("unknown workload " .. workload) end
  local seconds, check = fn(assert(counts[k], "no size for " .. workload))
  io.write(("RESULT workload=%s seconds=%.6f check=%.0f maxrss_kb=%d\n"):format(
    workload, seconds, check, common.peak_rss_kb()))
  io.flush()
end
