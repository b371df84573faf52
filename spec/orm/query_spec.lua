local ath = require("athanor")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.User = Base:model("User", {
    __tablename = "q_users",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    age = ath.Column(ath.Integer),
  })
  m.Address = Base:model("Address", {
    __tablename = "q_addresses",
    id = ath.Column(ath.Integer, { primary_key = true }),
    email = ath.Column(ath.String(100)),
    user_id = ath.Column(ath.Integer, ath.ForeignKey("q_users.id")),
  })
  return m
end)

describe("Session:query()", function()
  local User, Address, s
  before_each(function()
    fx.open()
    User, Address, s = fx.models.User, fx.models.Address, fx.session
    s:add_all({ User{ id = 1, name = "ann", age = 30 }, User{ id = 2, name = "bob", age = 20 },
                User{ id = 3, name = "cy", age = 40 } })
    s:add_all({ Address{ email = "ann@x.org", user_id = 1 }, Address{ email = "ann@y.org", user_id = 1 },
                Address{ email = "bob@x.org", user_id = 2 } })
    s:commit()
  end)
  after_each(fx.close)

  local function names(objs)
    local out = {}
    for i, o in ipairs(objs) do out[i] = o.name end
    return out
  end

  it("filters, orders, limits and offsets", function()
    assert.same({ "cy", "ann" }, names(s:query(User):filter(User.age:gt(25)):order_by(User.age:desc()):all()))
    assert.same({ "bob" }, names(s:query(User):order_by(User.name):limit(1):offset(1):all()))
    assert.same({ "ann" }, names(s:query(User):filter(User.age:gt(25), User.name:like("a%")):all()))
  end)

  it("is generative: a base query stays as it was", function()
    local base = s:query(User)
    local older = base:filter(User.age:gt(25))
    assert.equal(3, #base:all())
    assert.equal(2, #older:all())
    assert.equal(2, older:count())
  end)

  it("answers first, one, one_or_none, scalar, count, exists and get", function()
    assert.equal("ann", s:query(User):order_by(User.name):first().name)
    assert.is_nil(s:query(User):filter_by({ name = "zed" }):first())
    assert.equal("bob", s:query(User):filter_by({ name = "bob" }):one().name)
    local err = select(2, pcall(function() return s:query(User):one() end))
    assert.is_true(errors.is(err, "MultipleResultsFound"))
    err = select(2, pcall(function() return s:query(User):filter_by({ name = "zed" }):one() end))
    assert.is_true(errors.is(err, "NoResultFound"))
    assert.is_nil(s:query(User):filter_by({ name = "zed" }):one_or_none())
    assert.equal(40, s:query(User.age):filter_by({ name = "cy" }):scalar())
    assert.equal(3, s:query(User):count())
    assert.is_true(s:query(s:query(User):filter_by({ name = "bob" }):exists()):scalar() and true)
    assert.equal(s:get(User, 2), s:query(User):get(2))
  end)

  it("joins, groups and selects columns as rows", function()
    local rows = s:query(User.name, ath.func.count(Address.id):label("n"))
      :join(Address, User.id:eq(Address.user_id)):group_by(User.name):order_by(User.name):all()
    assert.equal(2, #rows)
    assert.equal("ann", rows[1].name)
    assert.equal(2, rows[1].n)
    local users = s:query(User):join(Address):filter(Address.email:like("%@x.org")):distinct():order_by(User.id):all()
    assert.same({ "ann", "bob" }, names(users))
    assert.equal(2, s:query(User):join(Address):filter(Address.email:like("%@x.org")):distinct():count())
    local outer = s:query(User):outerjoin(Address):filter(Address.id:is_(ath.null)):all()
    assert.same({ "cy" }, names(outer))
  end)

  it("returns tuples of objects for several models", function()
    local rows = s:query(User, Address):filter(User.id:eq(Address.user_id)):order_by(Address.id):all()
    assert.equal(3, #rows)
    assert.equal(rows[1].User, rows[2].User)
    assert.equal("ann@x.org", rows[1].Address.email)
    assert.equal(rows[1][1], rows[1].User)
  end)

  it("switches entities with with_entities and builds subqueries", function()
    local q = s:query(User):filter(User.age:ge(30))
    local rows = q:with_entities(User.name):order_by(User.name):all()
    assert.same({ "ann", "cy" }, { rows[1].name, rows[2].name })
    local sub = s:query(Address.user_id):subquery("owners")
    assert.same({ "ann", "bob" }, names(s:query(User):filter(User.id:in_(ath.select(sub.c.user_id))):order_by(User.id):all()))
  end)

  it("streams objects with iter() and yield_per()", function()
    local seen = {}
    for u in s:query(User):order_by(User.id):yield_per(2):iter() do seen[#seen + 1] = u.name end
    assert.same({ "ann", "bob", "cy" }, seen)
    seen = {}
    for u in s:query(User):order_by(User.id):iter() do seen[#seen + 1] = u.name end
    assert.equal(3, #seen)
  end)

  it("updates in bulk, returns the rows matched and expires what the session holds", function()
    local bob = s:get(User, 2)
    assert.equal(2, s:query(User):filter(User.age:lt(35)):update({ age = User.age + 1 }))
    assert.equal(21, bob.age)
  end)

  it("deletes in bulk, returns the rows matched and marks the loaded objects deleted", function()
    local bob = s:get(User, 2)
    s:query(Address):delete()
    assert.equal(1, s:query(User):filter_by({ name = "bob" }):delete())
    assert.is_nil(s:get(User, 2))
    s:commit()
    assert.equal(2, fx.count("q_users"))
    assert.equal("detached", require("athanor.orm").inspect(bob).state)
  end)
end)

describe("Session:execute() in the 2.0 style", function()
  local User, s
  before_each(function()
    fx.open()
    User, s = fx.models.User, fx.session
    -- keys from the database (PostgreSQL's sequence does not see explicit ids)
    local ann, bob = User{ name = "ann", age = 30 }, User{ name = "bob", age = 20 }
    s:add(ann); s:flush(); s:add(bob)
    s:commit()
    assert.equal(1, ann.id)
    assert.equal(2, bob.id)
  end)
  after_each(fx.close)

  it("returns objects for select(User) through scalars()", function()
    local users = s:scalars(ath.select(User):where(User.name:eq("bob"))):all()
    assert.equal(1, #users)
    assert.equal(s:get(User, 2), users[1])
    local rows = s:execute(ath.select(User):order_by(User.id)):all()
    assert.equal(s:get(User, 1), rows[1][1])
    assert.equal(rows[1][1], rows[1].User)
    assert.equal(s:get(User, 1), s:execute(ath.select(User):order_by(User.id)):scalars():first())
  end)

  it("returns rows for a select of columns", function()
    local rows = s:execute(ath.select(User.name):order_by(User.name)):all()
    assert.same({ "ann", "bob" }, { rows[1].name, rows[2].name })
    assert.equal(2, s:scalar(ath.select(ath.func.count()):select_from(User)))
  end)

  it("inserts in bulk with ath.insert(User) and rows keyed by attribute", function()
    s:execute(ath.insert(User), { { name = "c1", age = 1 }, { name = "c2", age = 2 } })
    s:commit()
    assert.equal(4, fx.count("q_users"))
  end)

  it("expires the session's objects after a Core UPDATE of their table", function()
    local ann = s:get(User, 1)
    s:execute(ath.update(User):where(User.id:eq(1)):values({ age = 31 }))
    assert.equal(31, ann.age)
  end)
end)
