local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    User = Base:model("User", {
      __tablename = "id_users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
    }),
    Pair = Base:model("Pair", {
      __tablename = "id_pairs",
      a = ath.Column(ath.Integer, { primary_key = true, autoincrement = false }),
      b = ath.Column(ath.String(10), { primary_key = true }),
      v = ath.Column(ath.Integer),
    }),
  }
end)

-- Entries of the session's identity map for model.
local function entries(session, model)
  local n = 0
  for _ in pairs(session._identity[model.__mapper__] or {}) do n = n + 1 end
  return n
end

local full_gc = fixtures.full_gc

describe("The identity map", function()
  before_each(function()
    fx.open()
    fx.session:add_all({ fx.models.User{ id = 1, name = "a" }, fx.models.User{ id = 2, name = "b" } })
    fx.session:commit()
  end)
  after_each(fx.close)

  it("gives the same Lua object for the same row from two queries", function()
    local User, s = fx.models.User, fx.session
    local a = s:query(User):filter_by({ name = "a" }):one()
    local all = s:query(User):order_by(User.id):all()
    assert.equal(a, all[1])
    assert.equal(a, s:scalars(ath.select(User):where(User.id:eq(1))):one())
  end)

  it("answers get() for a loaded object without SQL", function()
    local User, s = fx.models.User, fx.session
    local a = s:query(User):filter_by({ id = 1 }):one()
    fx.reset_sql()
    assert.equal(a, s:get(User, 1))
    assert.equal(0, #fx.sql)
    -- and runs a SELECT for one it does not hold
    local b = s:get(User, 2)
    assert.equal("b", b.name)
    assert.equal(1, #fx.statements("SELECT"))
    assert.is_nil(s:get(User, 99))
  end)

  it("keys composite identities by value (1 and 1.0 are one row)", function()
    local Pair, s = fx.models.Pair, fx.session
    s:add(Pair{ a = 1, b = "x", v = 10 })
    s:commit()
    local p = s:query(Pair):one()
    fx.reset_sql()
    assert.equal(p, s:get(Pair, { 1, "x" }))
    assert.equal(p, s:get(Pair, { 1.0, "x" }))
    assert.equal(0, #fx.sql)
    assert.is_nil(s:get(Pair, { 1, "y" }))
  end)

  it("lets a clean object nobody references be collected and frees its entry", function()
    local User, s = fx.models.User, fx.session
    local objs = s:query(User):all()
    assert.equal(2, #objs)
    assert.equal(2, entries(s, User))
    s:flush()                          -- both are clean: only references keep them now
    local weak = setmetatable({ objs[1], objs[2] }, { __mode = "v" })
    objs = nil                         -- luacheck: ignore 311
    full_gc()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
    assert.equal(0, entries(s, User))
  end)

  it("keeps a changed object until flush even when nobody references it", function()
    local User, s = fx.models.User, fx.session
    s:query(User):filter_by({ id = 1 }):one().name = "changed"
    full_gc()
    s:commit()
    assert.equal("changed", s:get(User, 1).name)
  end)

  it("keeps pending and deleted objects until flush", function()
    local User, s = fx.models.User, fx.session
    s:add(User{ id = 3, name = "c" })
    s:delete(s:get(User, 2))
    full_gc()
    s:commit()
    assert.equal(2, fx.count("id_users"))
    assert.equal("c", s:get(User, 3).name)
    assert.is_nil(s:get(User, 2))
  end)

  it("refreshes expired attributes of an object found again by a query", function()
    local User, s = fx.models.User, fx.session
    local a = s:get(User, 1)
    -- (through the session's own connection: SQLite allows one writer)
    s:connection():execute(ath.update(User):where(User.id:eq(1)):values({ name = "new" }))
    s:expire(a)
    assert.same({ "name" }, orm.inspect(a).expired)
    local again = s:query(User):filter_by({ id = 1 }):one()
    assert.equal(a, again)
    assert.equal("new", rawget(a, "name"))
  end)
end)
