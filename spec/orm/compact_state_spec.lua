-- Compact states (lua/athanor/orm/state.lua): an object the loader creates
-- keeps only its loaded values, its state class answers mapper, session,
-- status and key. These specs show such states behave as plain ones do:
-- every write, expiry, refresh, detach and move between sessions.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")
local state = require("athanor.orm.state")

local fx = fixtures.new(function(Base)
  return {
    Person = Base:model("Person", {
      __tablename = "cs_people",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
      age = ath.Column(ath.Integer),
    }),
    Pair = Base:model("Pair", {
      __tablename = "cs_pairs",
      a = ath.Column(ath.Integer, { primary_key = true }),
      b = ath.Column(ath.String(10), { primary_key = true }),
      v = ath.Column(ath.String(10)),
    }),
  }
end)

local function is_compact(obj) return getmetatable(state.get(obj)) ~= nil end

-- The loader makes a session's state class of a model for a batch of 8
-- rows or more (loading.lua): load every row of both models once, so
-- what s loads afterwards, a single row too, has compact states.
local function warm(s)
  s:query(fx.models.Person):all()
  s:query(fx.models.Pair):all()
  return s
end

-- The committed row of id (a fresh connection).
local function row_of(id)
  return fx.engine:connect(function(c)
    return c:execute(ath.select(fx.models.Person.__table__):where(fx.models.Person.id:eq(id))):first()
  end)
end

local function set_name_outside(id, name)
  fx.engine:begin(function(c)
    local t = fx.models.Person.__table__
    c:execute(ath.update(t):where(t.c.id:eq(id)):values({ name = name }))
  end)
end

describe("compact states of loaded objects", function()
  before_each(function()
    fx.open()
    fx.engine:begin(function(c)
      local people = {
        { id = 1, name = "ann", age = 30 }, { id = 2, name = "bob", age = ath.null }, { id = 3, name = "cy", age = 50 },
      }
      for i = 4, 9 do people[i] = { id = i, name = "p" .. i, age = i } end
      c:execute(ath.insert(fx.models.Person.__table__), people)
      local pairs_ = { { a = 1, b = "x", v = "one" }, { a = 1, b = "y", v = "two" } }
      for i = 3, 9 do pairs_[i] = { a = i, b = "z", v = "p" .. i } end
      c:execute(ath.insert(fx.models.Pair.__table__), pairs_)
    end)
  end)
  after_each(fx.close)

  it("hold only the loaded values, and answer mapper, session, status and key through their class", function()
    local s = warm(fx.session)
    local ann = s:query(fx.models.Person):filter_by({ id = 1 }):one()
    local st = state.get(ann)
    assert.is_true(is_compact(ann))
    assert.is_nil(rawget(st, "session"))
    assert.is_nil(next(st, #st > 0 and #st or nil))         -- nothing after the array part
    assert.same({ 1, "ann", 30 }, { st[1], st[2], st[3] })
    assert.equal(s, st.session)
    assert.equal("persistent", st.status)
    assert.equal(orm.inspect(fx.models.Person), st.mapper)
    assert.equal(1, st.key)
    assert.is_nil(st.expired)
    assert.equal("persistent", orm.inspect(ann).state)
    assert.same({ 1 }, orm.inspect(ann).identity)
    -- the object itself is a plain table of its attributes
    local keys = {}
    for k in pairs(ann) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "age", "id", "name" }, keys)
  end)

  it("stay compact when written what the class says, and become plain, fields kept, on any other write", function()
    local s = warm(fx.session)
    local ann = s:query(fx.models.Person):filter_by({ id = 1 }):one()
    local st = state.get(ann)
    st.status, st.session, st.key = "persistent", s, 1
    assert.is_true(is_compact(ann))
    st.marker = "x"
    assert.is_false(is_compact(ann))
    assert.equal(s, rawget(st, "session"))
    assert.equal("persistent", rawget(st, "status"))
    assert.equal(1, rawget(st, "key"))
    assert.equal(orm.inspect(fx.models.Person), rawget(st, "mapper"))
    assert.equal("x", rawget(st, "marker"))
    assert.same({ 1, "ann", 30 }, { st[1], st[2], st[3] })
    -- and the session goes on with it as before
    ann.name = "anna"
    s:commit()
    assert.equal("anna", row_of(1).name)
    assert.equal("persistent", orm.inspect(ann).state)
  end)

  it("compute a composite key as the loader did: get and a second query find the same object", function()
    local s = warm(fx.session)
    local Pair = fx.models.Pair
    local p = s:query(Pair):filter_by({ a = 1, b = "y" }):one()
    assert.is_true(is_compact(p))
    local key = state.get(p).key
    assert.equal("string", type(key))
    assert.equal(orm.inspect(Pair):identity_key({ 1, "y" }), key)
    assert.equal(p, s:get(Pair, { 1, "y" }))
    local n = fx.statements_run(function() assert.equal(p, s:get(Pair, { a = 1, b = "y" })) end)
    assert.equal(0, n)
    local both = s:query(Pair):filter_by({ a = 1 }):order_by(Pair.b):all()
    assert.equal(p, both[2])
    -- made plain, the stored key is the same one
    state.get(p).marker = true
    assert.equal(key, rawget(state.get(p), "key"))
    s:expunge(p)
    assert.equal("detached", orm.inspect(p).state)
    assert.is_nil(s:get(Pair, { 1, "x" }) == p and p or nil)
  end)

  it("record an assignment to a column loaded as NULL", function()
    local s = warm(fx.session)
    local bob = s:get(fx.models.Person, 2)
    assert.is_true(is_compact(bob))
    assert.is_nil(state.get(bob)[3])
    -- a loaded value stored where NULL was loaded is stored as it is
    state.get(bob)[3] = 7
    assert.is_true(is_compact(bob))
    assert.equal(7, rawget(state.get(bob), 3))
    assert.is_true(s:is_modified(bob))
    state.get(bob)[3] = nil
    -- (the second get of a session takes the loader's cached layout)
    assert.is_true(is_compact(s:get(fx.models.Person, 3)))
    assert.is_false(s:is_modified(bob))
    bob.age = 41
    assert.is_true(s:is_modified(bob))
    assert.same({ "age" }, orm.inspect(bob).modified)
    fx.reset_sql()
    s:flush()
    assert.equal(1, #fx.statements("UPDATE"))
    assert.equal(41, state.get(bob)[3])
    assert.is_false(s:is_modified(bob))
    s:commit()
    assert.equal(41, row_of(2).age)
  end)

  it("are expired by commit and by expire, and read or queried again take the row's values", function()
    -- (no autoflush: the query below must find the assignment still unflushed)
    local s = warm(fx.Session({ autoflush = false }))
    local Person = fx.models.Person
    local people = s:query(Person):order_by(Person.id):all()
    s:commit()                                              -- expire_on_commit
    for _, p in ipairs(people) do
      assert.is_true(state.get(p).expired)
      assert.is_nil(rawget(p, "name"))
      assert.same({ "name", "age" }, orm.inspect(p).expired)
      assert.is_true(is_compact(p))
      assert.is_false(s:is_modified(p))
    end
    set_name_outside(1, "ANN")
    set_name_outside(3, "CY")
    -- a read loads the row
    assert.equal("ANN", people[1].name)
    assert.is_nil(state.get(people[1]).expired)
    -- an assignment made while expired is kept when a query refreshes the rest
    people[3].name = "mine"
    local again = s:query(Person):order_by(Person.id):all()
    assert.equal(people[3], again[3])
    assert.equal("mine", people[3].name)
    assert.equal(50, rawget(people[3], "age"))
    assert.is_nil(state.get(people[3]).expired)
    assert.equal("bob", rawget(people[2], "name"))
    assert.same({ "name" }, orm.inspect(people[3]).modified)
    s:commit()
    assert.equal("mine", row_of(3).name)
    -- one object: expire then refresh
    local ann = people[1]
    s:expire(ann)
    assert.is_true(state.get(ann).expired)
    set_name_outside(1, "Ann")
    s:refresh(ann)
    assert.equal("Ann", rawget(ann, "name"))
    assert.is_nil(state.get(ann).expired)
    assert.is_true(is_compact(ann))                         -- expiry moved it between its class's variants
    s:close()
  end)

  it("expire some attributes (a plain state then) and load them on access", function()
    local s = warm(fx.Session({ expire_on_commit = false }))
    local ann = s:get(fx.models.Person, 1)
    s:commit()                                              -- (SQLite: the outside write must not wait)
    assert.is_true(is_compact(ann))
    s:expire(ann, { "name" })
    assert.is_false(is_compact(ann))
    assert.same({ name = true }, state.get(ann).expired)
    assert.equal(30, rawget(ann, "age"))
    set_name_outside(1, "other")
    assert.equal("other", ann.name)
    assert.is_nil(state.get(ann).expired)
    assert.equal("persistent", orm.inspect(ann).state)
    s:close()
  end)

  it("are detached one at a time by expunge, and all at once by expunge_all and close", function()
    local s = warm(fx.session)
    local Person = fx.models.Person
    local people = s:query(Person):order_by(Person.id):all()
    s:expunge(people[1])
    assert.equal("detached", orm.inspect(people[1]).state)
    assert.is_nil(state.get(people[1]).session)
    assert.equal(1, state.get(people[1]).key)
    assert.equal("persistent", orm.inspect(people[2]).state)
    assert.equal(people[2], s:get(Person, 2))
    s:expire(people[3])
    people[2].name = "bobby"
    s:flush()                                               -- a changed state is plain after its flush
    assert.is_false(is_compact(people[2]))
    s:expunge_all()
    for _, p in ipairs(people) do
      local st = state.get(p)
      assert.equal("detached", orm.inspect(p).state)
      assert.is_nil(st.session)
      assert.is_nil(st.status)
      assert.equal(p.id or rawget(p, "id"), st.key)
    end
    assert.is_true(state.get(people[3]).expired)
    -- what the session loads next is its own again, the old objects stay detached
    local fresh = s:query(Person):order_by(Person.id):all()
    for i, p in ipairs(fresh) do
      assert.are_not.equal(people[i], p)
      assert.equal("persistent", orm.inspect(p).state)
    end
    assert.equal("detached", orm.inspect(people[2]).state)
    s:close()
    for _, p in ipairs(fresh) do assert.equal("detached", orm.inspect(p).state) end
  end)

  it("leave expunge_all and close to detach the plain states a session added", function()
    local Person = fx.models.Person
    local s1 = warm(fx.Session())
    local ann = s1:get(Person, 1)
    s1:close()
    local s2 = fx.Session()
    s2:add(ann)                                             -- a detached object: persistent again
    s2:expunge_all()
    assert.equal("detached", orm.inspect(ann).state)
    s2:close()
    -- new objects, by add_all and by add (each in a session of its own)
    for i, add in ipairs({ "add_all", "add" }) do
      local s = fx.Session()
      local p = Person{ id = 10 + i, name = add }
      if add == "add" then s:add(p) else s:add_all({ p }) end
      s:commit()
      assert.equal("persistent", orm.inspect(p).state)
      s:close()
      assert.equal("detached", orm.inspect(p).state, add)
    end
  end)

  it("move to another session once detached, and not before", function()
    local s1, s2 = warm(fx.Session()), fx.Session()
    local ann = s1:get(fx.models.Person, 1)
    local ok, err = pcall(s2.add, s2, ann)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("another Session", tostring(err), 1, true)
    assert.equal(s1, state.get(ann).session)
    s1:close()
    s2:add(ann)
    assert.equal("persistent", orm.inspect(ann).state)
    assert.equal(s2, state.get(ann).session)
    assert.equal(ann, s2:get(fx.models.Person, 1))
    ann.name = "moved"
    s2:commit()
    assert.equal("moved", row_of(1).name)
    -- and merge copies a detached compact object onto the session's own
    local s3 = fx.Session()
    local copy = s3:merge(ann)
    assert.are_not.equal(ann, copy)
    assert.equal("moved", copy.name)
    s2:close()
    s3:close()
  end)

  it("are deleted and rolled back as plain states are", function()
    local s = warm(fx.session)
    local Person = fx.models.Person
    local bob = s:get(Person, 2)
    s:delete(bob)
    s:flush()
    assert.equal("deleted", orm.inspect(bob).state)
    s:rollback()
    assert.equal("persistent", orm.inspect(bob).state)
    assert.equal(bob, s:get(Person, 2))
    local cy = s:get(Person, 3)
    cy.name = "changed"
    s:rollback()
    assert.is_true(state.get(cy).expired)
    assert.equal("cy", cy.name)
    assert.is_false(s:is_modified(cy))
  end)

  it("are not made for a few rows in a session without a class: those get plain states", function()
    local s = fx.Session()
    local ann = s:get(fx.models.Person, 1)
    local few = s:query(fx.models.Person):filter(fx.models.Person.id:le(3)):all()
    assert.equal(3, #few)
    for _, p in ipairs(few) do assert.is_false(is_compact(p)) end
    assert.equal(s, rawget(state.get(ann), "session"))
    assert.equal(1, rawget(state.get(ann), "key"))
    assert.equal("persistent", orm.inspect(ann).state)
    -- once a batch made the class, even one row has a compact state
    s:query(fx.models.Pair):all()
    assert.is_true(is_compact(s:get(fx.models.Pair, { 1, "x" })))
    s:close()
    assert.equal("detached", orm.inspect(ann).state)
    assert.equal("detached", orm.inspect(few[3]).state)
  end)

  it("go with their objects: a dropped clean object frees its state", function()
    local s = warm(fx.session)
    local weak = setmetatable({}, { __mode = "k" })
    do
      local people = s:query(fx.models.Person):all()
      for _, p in ipairs(people) do weak[state.get(p)] = true end
    end
    s:flush()                                               -- lets go of the loaded objects
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
    local n = 0
    for _ in pairs(s._identity[orm.inspect(fx.models.Person)]) do n = n + 1 end
    assert.equal(0, n)
  end)
end)
