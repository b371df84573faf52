-- Eager loading cost: 10,000 parents with 10 children each (SQLite, in
-- memory), loading the children alone vs the parents with joinedload and
-- with selectinload. Usage: lua5.4 bench/orm_relationships.lua [parents]
local ath = require("athanor")
local orm = require("athanor.orm")

local N = tonumber(arg and arg[1]) or 10000
local PER = 10
local engine = ath.create_engine("sqlite://")
local Base = orm.declarative_base()
local Parent = Base:model("Parent", {
  __tablename = "parents",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String(50)),
  children = orm.relationship("Child"),
})
local Child = Base:model("Child", {
  __tablename = "children",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String(50)),
  parent_id = ath.Column(ath.Integer, ath.ForeignKey("parents.id")),
})
Base.metadata:create_all(engine)
do
  local conn = engine:connect()
  local tx = conn:begin()
  local prows, crows = {}, {}
  for i = 1, N do
    prows[#prows + 1] = { id = i, name = "p" .. i }
    for j = 1, PER do crows[#crows + 1] = { name = "c" .. j, parent_id = i } end
  end
  conn:execute(ath.insert(Parent.__table__), prows)
  conn:execute(ath.insert(Child.__table__), crows)
  tx:commit()
  conn:close()
end

local Session = orm.sessionmaker({ bind = engine })
local function best(fn)
  local b = math.huge
  for _ = 1, 3 do
    local s = Session()
    collectgarbage("collect")
    local t = os.clock()
    fn(s)
    b = math.min(b, os.clock() - t)
    s:close()
  end
  return b
end

local children = best(function(s) assert(#s:query(Child):all() == N * PER) end)
local joined = best(function(s)
  local ps = s:query(Parent):options(orm.joinedload(Parent.children)):all()
  assert(#ps == N and #ps[1].children == PER)
end)
local selectin = best(function(s)
  local ps = s:query(Parent):options(orm.selectinload(Parent.children)):all()
  assert(#ps == N and #ps[1].children == PER)
end)
print(string.format("%s: %d parents x %d children", _VERSION .. (jit and (" " .. jit.version) or ""), N, PER))
print(string.format("children alone      %8.1f ms", children * 1000))
print(string.format("joinedload          %8.1f ms  (x%.2f)", joined * 1000, joined / children))
print(string.format("selectinload        %8.1f ms  (x%.2f)", selectin * 1000, selectin / children))
