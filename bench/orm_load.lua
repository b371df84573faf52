-- ORM costs against the Core (docs/orm.md, "Performance"):
--   1. reading a loaded attribute vs a field of a plain table
--   2. loading N objects (query(User):all()) vs fetching N rows
--      (conn:execute(select(users)):all()) from the same table.
-- usage: lua5.4 bench/orm_load.lua [N]   (luajit too; default N = 100000)
local ath = require("athanor")
local orm = require("athanor.orm")
local core = require("athanor.core")
local now = core.monotonic

local N = tonumber(arg and arg[1]) or 100000

local Base = orm.declarative_base()
local User = Base:model("User", {
  __tablename = "bench_users",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String(50)),
  age = ath.Column(ath.Integer),
  email = ath.Column(ath.String(100)),
})
local engine = ath.create_engine("sqlite://")
Base.metadata:create_all(engine)
engine:connect(function(c)
  local rows = {}
  for i = 1, N do rows[i] = { id = i, name = "user" .. i, age = i % 90, email = "u" .. i .. "@x.org" } end
  c:execute(ath.insert(User.__table__), rows)
end)

local function best(times, fn)
  local b = math.huge
  for _ = 1, times do
    collectgarbage("collect")
    local t0 = now()
    fn()
    local dt = now() - t0
    if dt < b then b = dt end
  end
  return b
end

-- 1. attribute reads
local Session = orm.sessionmaker({ bind = engine })
local s = Session()
local u = s:get(User, 1)
local plain = { id = 1, name = "user1", age = 1, email = "u1@x.org" }
local READS = 10000000
local sink = 0
local t_plain = best(3, function() local x = plain; for _ = 1, READS do sink = sink + x.age end end)
local t_orm = best(3, function() local x = u; for _ = 1, READS do sink = sink + x.age end end)
s:close()

-- 2. loading
local t_rows = best(3, function()
  engine:connect(function(c) assert(#c:execute(ath.select(User.__table__)):all() == N) end)
end)
local t_objs = math.huge
for _ = 1, 3 do
  local sess = Session()
  collectgarbage("collect")
  local t0 = now()
  assert(#sess:query(User):all() == N)
  local dt = now() - t0
  if dt < t_objs then t_objs = dt end
  sess:close()
end

print(string.format("%s  N=%d", jit and jit.version or _VERSION, N))                  -- luacheck: ignore
print(string.format("attribute read: plain table %.2f ns, ORM object %.2f ns (x%.2f)",
  t_plain / READS * 1e9, t_orm / READS * 1e9, t_orm / t_plain))
print(string.format("%d rows fetched: %.1f ms; %d objects loaded: %.1f ms (x%.2f)",
  N, t_rows * 1e3, N, t_objs * 1e3, t_objs / t_rows))
