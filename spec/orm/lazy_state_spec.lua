-- Lazy states (lua/athanor/orm/state.lua): an object loaded into a session
-- that has a state class for its model keeps its loaded values in the
-- session's column store, and its state is made the first time something
-- asks for it. These specs show such objects behave as every loaded object
-- does: found, compared at flush, detached at close, collected, loaded again.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")
local state = require("athanor.orm.state")

local fx = fixtures.new(function(Base)
  return {
    Person = Base:model("Person", {
      __tablename = "ls_people",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
      age = ath.Column(ath.Integer),
    }),
    Pair = Base:model("Pair", {
      __tablename = "ls_pairs",
      a = ath.Column(ath.Integer, { primary_key = true }),
      b = ath.Column(ath.String(10), { primary_key = true }),
      v = ath.Column(ath.String(10)),
    }),
  }
end)

local ROWS = 12

local full_gc = fixtures.full_gc

local function recorded(obj) return rawget(state.states, obj) ~= nil end

local function by_id(objs)
  local out = {}
  for _, o in ipairs(objs) do out[o.id] = o end
  return out
end

local function set_outside(id, values)
  fx.engine:begin(function(c)
    local t = fx.models.Person.__table__
    c:execute(ath.update(t):where(t.c.id:eq(id)):values(values))
  end)
end

local function name_in_db(id)
  return fx.engine:connect(function(c)
    local t = fx.models.Person.__table__
    return c:execute(ath.select(t.c.name):where(t.c.id:eq(id))):scalar()
  end)
end

describe("lazy states of loaded objects", function()
  before_each(function()
    fx.open()
    fx.engine:begin(function(c)
      local people = {}
      for i = 1, ROWS do people[i] = { id = i, name = "p" .. i, age = (i == 2) and ath.null or i } end
      c:execute(ath.insert(fx.models.Person.__table__), people)
      local pairs_ = {}
      for i = 1, ROWS do pairs_[i] = { a = i, b = "k" .. i, v = "v" .. i } end
      c:execute(ath.insert(fx.models.Pair.__table__), pairs_)
    end)
  end)
  after_each(fx.close)

  it("record no state at load, and make the compact state of the loaded values when asked", function()
    local s = fx.session
    local people = by_id(s:query(fx.models.Person):all())
    local p3 = people[3]
    assert.is_false(recorded(p3))
    local st = state.get(p3)
    assert.is_true(recorded(p3))
    assert.equal(st, state.get(p3))                         -- made once
    assert.is_table(getmetatable(st))                       -- a compact state of the session's class
    assert.same({ 3, "p3", 3 }, { st[1], st[2], st[3] })
    assert.equal(s, st.session)
    assert.equal("persistent", st.status)
    assert.equal(3, st.key)
    local info = orm.inspect(people[4])
    assert.equal("persistent", info.state)
    assert.same({ 4 }, info.identity)
  end)

  it("read a NULL attribute as nil without counting it changed", function()
    local s = fx.session
    local p2 = by_id(s:query(fx.models.Person):all())[2]
    assert.is_nil(p2.age)
    assert.is_false(s:is_modified(p2))
    fx.reset_sql()
    s:flush()
    assert.equal(0, #fx.statements("UPDATE"))
  end)

  it("are compared at flush without making states, and a changed one updates only its column", function()
    local s = fx.session
    local people = by_id(s:query(fx.models.Person):all())
    fx.reset_sql()
    s:flush()
    assert.equal(0, #fx.statements("UPDATE"))
    for id = 1, ROWS do assert.is_false(recorded(people[id])) end
    people[5].age = 55
    people[7].age = nil                                     -- NULL
    s:flush()
    local updates = fx.statements("UPDATE")
    assert.equal(2, #updates)
    for _, sql in ipairs(updates) do assert.is_nil(sql:find("name", 1, true)) end
    assert.is_true(recorded(people[5]))
    assert.is_false(recorded(people[6]))
    s:commit()
    local other = fx.Session()
    assert.equal(55, other:get(fx.models.Person, 5).age)
    assert.is_nil(other:get(fx.models.Person, 7).age)
    other:close()
  end)

  it("find the state of an object whose primary key attribute was assigned", function()
    local s = fx.session
    local p6 = by_id(s:query(fx.models.Person):all())[6]
    p6.id = 600
    local info = orm.inspect(p6)
    assert.equal("persistent", info.state)
    assert.same({ 6 }, info.identity)                       -- the loaded key
    assert.is_true(s:is_modified(p6))
  end)

  it("find composite keys, and compare them at flush", function()
    local s = fx.session
    local pairs_ = s:query(fx.models.Pair):all()
    local target
    for _, p in ipairs(pairs_) do if p.a == 4 then target = p end end
    assert.is_false(recorded(target))
    assert.same({ 4, "k4" }, orm.inspect(target).identity)
    assert.equal(target, s:get(fx.models.Pair, { 4, "k4" }))
    target.v = "changed"
    s:commit()
    local other = fx.Session()
    assert.equal("changed", other:get(fx.models.Pair, { 4, "k4" }).v)
    other:close()
  end)

  it("are detached by close and keep their key and loaded values", function()
    local s = fx.session
    local p8 = by_id(s:query(fx.models.Person):all())[8]
    s:close()
    assert.is_false(recorded(p8))
    local info = orm.inspect(p8)
    assert.equal("detached", info.state)
    assert.same({ 8 }, info.identity)
    local s2 = fx.Session()
    s2:add(p8)
    assert.equal("persistent", orm.inspect(p8).state)
    fx.reset_sql()
    s2:flush()
    assert.equal(0, #fx.statements("UPDATE"))               -- still equal to what was loaded
    p8.name = "eight"
    s2:commit()
    assert.equal("eight", name_in_db(8))
    s2:close()
  end)

  it("raise DetachedInstanceError for an attribute expired at commit and read after close", function()
    local s = fx.session
    local p9 = by_id(s:query(fx.models.Person):all())[9]
    s:commit()                                              -- expires every attribute but the key
    s:close()
    local ok, err = pcall(function() return p9.name end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "DetachedInstanceError"))
    assert.equal(9, p9.id)
  end)

  it("load the expired attributes after a commit from the row", function()
    local s = fx.session
    local p10 = by_id(s:query(fx.models.Person):all())[10]
    s:commit()
    set_outside(10, { name = "ten" })
    assert.equal("ten", p10.name)
    local again = by_id(s:query(fx.models.Person):all())
    assert.equal(p10, again[10])
    assert.equal("ten", again[10].name)
  end)

  it("let clean objects be collected, and take a row loaded again with its new values", function()
    local s = fx.session
    local Person = fx.models.Person
    local people = s:query(Person):all()
    local weak = setmetatable({}, { __mode = "v" })
    for i, p in ipairs(people) do weak[i] = p end
    people = nil                                            -- luacheck: ignore 311
    s:commit()                                              -- clean: nothing holds them now
    full_gc()
    assert.is_nil(next(weak))
    local idmap = s._identity[Person.__mapper__]
    assert.is_nil(next(idmap))
    set_outside(11, { name = "eleven", age = 111 })
    local p11 = by_id(s:query(Person):all())[11]            -- the same keys: their slots are written again
    assert.equal("eleven", p11.name)
    assert.same({ 11, "eleven", 111 }, { state.get(p11)[1], state.get(p11)[2], state.get(p11)[3] })
    fx.reset_sql()
    s:flush()
    assert.equal(0, #fx.statements("UPDATE"))
    p11.age = 112
    s:commit()
    local other = fx.Session()
    assert.equal(112, other:get(Person, 11).age)
    other:close()
  end)

  it("drop the stores of closed sessions once their objects are gone", function()
    local Person = fx.models.Person
    local mapper = Person.__mapper__
    local most = 0
    for _ = 1, 40 do
      local s = fx.Session()
      s:query(Person):all()
      s:close()
      full_gc()
      most = math.max(most, #rawget(mapper, "_stores"))
    end
    assert.is_true(most <= 2, "the mapper held " .. most .. " stores")
    -- a detached object keeps its store: its state is still found
    local s = fx.Session()
    local kept = s:query(Person):all()[1]
    s:close()
    for _ = 1, 20 do
      local other = fx.Session()
      other:query(Person):all()
      other:close()
      full_gc()
    end
    assert.equal("detached", orm.inspect(kept).state)
    assert.equal(kept.id, orm.inspect(kept).identity[1])
  end)

  it("get their states when few objects of a closed session are left, and its store goes", function()
    local Person = fx.models.Person
    local mapper = Person.__mapper__
    local s = fx.Session()
    local people = by_id(s:query(Person):all())
    local few = { people[1], people[2] }                    -- fewer than a quarter of the 12 rows
    s:close()
    people = nil                                            -- luacheck: ignore 311
    full_gc()
    assert.is_false(recorded(few[1]))
    local s2 = fx.Session()
    s2:query(Person):all()                                  -- registers a store: the closed one is looked at
    assert.is_true(recorded(few[1]))
    assert.is_true(recorded(few[2]))
    assert.equal(1, #rawget(mapper, "_stores"))
    assert.equal("detached", orm.inspect(few[1]).state)
    assert.same({ 2 }, orm.inspect(few[2]).identity)
    s2:close()
    -- a quarter or more left: the store stays, the objects keep no states
    local s3 = fx.Session()
    local many = s3:query(Person):all()
    s3:close()
    full_gc()
    local s4 = fx.Session()
    s4:query(Person):all()
    assert.is_false(recorded(many[1]))
    assert.equal("detached", orm.inspect(many[1]).state)
    s4:close()
  end)

  it("stay found while their session is open however many stores there are", function()
    local Person = fx.models.Person
    local keep = {}
    finally(function() for _, k in ipairs(keep) do k.s:close() end end)   -- (an open one would block DROP TABLE)
    for i = 1, 12 do                                        -- (each holds a connection of the pool)
      local s = fx.Session()
      keep[i] = { s = s, p = by_id(s:query(Person):all())[1 + (i % ROWS)] }
    end
    full_gc()
    for i = 1, 12 do
      local k = keep[i]
      assert.equal(k.s, state.get(k.p).session)
      k.p.name = "s" .. i
      assert.is_true(k.s:is_modified(k.p))
    end
  end)
end)
