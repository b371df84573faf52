-- Profile target: the ORM's paths of the OW workloads (bench/README.md) on
-- an in-memory SQLite database, N operations after a fixed setup. Compare
-- instruction counts with N = 0 subtracted, and against the Core's
-- point_select.lua / executemany.lua / expr_vs_text.lua:
--   valgrind --tool=callgrind lua5.4 bench/profile/orm_paths.lua get 2000
-- MODE:
--   get          N session:get of keys not in the identity map, a fresh session each (OW4)
--   get_core     the same SELECTs through the Core (conn:execute(select(t):where(...)):one())
--   get_hit      N session:get answered by the identity map (OW4id after its first pass)
--   get_one      N session:get misses in one session (OW4id's first pass, the map growing)
--   flush        N new objects, add_all, commit: one executemany (OW1)
--   flush_one    N objects added and committed one at a time (OW2)
--   load         query(Model):all() of N rows (OW3)
--   fetch        conn:execute(select(t)):all() of the same N rows (Core W3)
--   selectin     N/10 parents with 10 children each, selectinload (OW6)
--   joined       the same with joinedload
--   lazy         the same loading each parent's children on first access (one SELECT per parent)
-- and the parts, to bisect:
--   session      Session(), s:connection() (checkout, BEGIN), s:close() (ROLLBACK, checkin)
--   core_tx      the same through the Core: engine:connect(), conn:begin(), rollback, close
--   get_noflush  get_one with autoflush = false (the miss alone, no flush scan)
--   construct    N new objects made (BenchWrite{...}), nothing else
--   add          the same plus add_all (no flush)
local ath = require("athanor")
local orm = require("athanor.orm")
local mode, n = arg[1] or "get", tonumber(arg[2] or "2000")
local ROWS = 20000

local engine = ath.create_engine("sqlite://")
local Base = orm.declarative_base()
local models = require("bench.contenders.orm_models").define(Base)
local BenchRead, BenchWrite = models.BenchRead, models.BenchWrite
local Parent, Child = models.Parent, models.Child
Base.metadata:create_all(engine)
local t = BenchRead.__table__
engine:begin(function(c)
  local rows, prows, crows = {}, {}, {}
  for i = 1, ROWS do rows[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
  c:execute(ath.insert(t), rows)
  local parents = math.floor(n / 10)
  for p = 1, parents do
    prows[p] = { id = p, name = "p" .. p }
    for j = 1, 10 do
      local i = (p - 1) * 10 + j
      crows[i] = { id = i, parent_id = p, age = i % 100 }
    end
  end
  if (mode == "selectin" or mode == "joined" or mode == "lazy") and parents > 0 then
    c:execute(ath.insert(Parent.__table__), prows)
    c:execute(ath.insert(Child.__table__), crows)
  end
end)

local Session = orm.sessionmaker({ bind = engine })
local sum = 0
local function key(i) return (i * 7919) % ROWS + 1 end
-- warm the paths once (the first call compiles and caches statements)
do
  local s = Session()
  sum = sum + s:get(BenchRead, 1).age
  s:close()
end

if mode == "get" then
  for i = 1, n do
    local s = Session()
    sum = sum + s:get(BenchRead, key(i)).age
    s:close()
  end
elseif mode == "get_core" then
  local conn = engine:connect()
  for i = 1, n do sum = sum + conn:execute(ath.select(t):where(t.c.id:eq(key(i)))):one().age end
  conn:close()
elseif mode == "get_hit" then
  local s = Session()
  local held = {}
  for i = 1, 100 do held[i] = s:get(BenchRead, key(i)) end
  for i = 1, n do sum = sum + s:get(BenchRead, key(i % 100 + 1)).age end
  assert(#held == 100)
  s:close()
elseif mode == "get_one" then
  local s = Session()
  local held = {}
  for i = 1, n do
    held[i] = s:get(BenchRead, key(i))
    sum = sum + held[i].age
  end
  s:close()
elseif mode == "session" then
  for _ = 1, n do
    local s = Session()
    s:connection()
    s:close()
  end
elseif mode == "core_tx" then
  for _ = 1, n do
    local conn = engine:connect()
    conn:begin()
    conn:rollback()
    conn:close()
  end
elseif mode == "get_noflush" then
  local s = orm.Session({ bind = engine, autoflush = false })
  local held = {}
  for i = 1, n do
    held[i] = s:get(BenchRead, key(i))
    sum = sum + held[i].age
  end
  s:close()
elseif mode == "construct" or mode == "add" then
  local objs = {}
  for i = 1, n do objs[i] = BenchWrite({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }) end
  if mode == "add" then
    Session():add_all(objs) -- not closed: close() expunges the pending objects one by one, which is quadratic
  end
elseif mode == "flush" then
  local s = Session()
  local objs = {}
  for i = 1, n do objs[i] = BenchWrite({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }) end
  s:add_all(objs)
  s:commit()
  s:close()
elseif mode == "flush_one" then
  local s = Session()
  for i = 1, n do
    s:add(BenchWrite({ id = i, name = "name" .. i, age = i % 100, score = i * 0.5 }))
    s:commit()
  end
  s:close()
elseif mode == "load" then
  local s = Session()
  local all = s:query(BenchRead):limit(n):all()
  for i = 1, #all do sum = sum + all[i].age end
  s:close()
elseif mode == "fetch" then
  engine:connect(function(c)
    local all = c:execute(ath.select(t):limit(n)):all()
    for i = 1, #all do sum = sum + all[i].age end
  end)
elseif mode == "lazy" then
  local s = Session()
  for _, p in ipairs(s:query(Parent):all()) do
    for _, c in ipairs(p.children) do sum = sum + c.age end
  end
  s:close()
elseif mode == "selectin" or mode == "joined" then
  local s = Session()
  local loader = mode == "selectin" and orm.selectinload or orm.joinedload
  for _, p in ipairs(s:query(Parent):options(loader(Parent.children)):all()) do
    for _, c in ipairs(p.children) do sum = sum + c.age end
  end
  s:close()
else
  error("unknown mode " .. mode)
end
io.write(mode, " ", n, ", checksum ", sum, "\n")
