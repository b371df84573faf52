local ath = require("athanor")
local orm = require("athanor.orm")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.User = Base:model("User", {
    __tablename = "md_users",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50), { nullable = false }),
    age = ath.Column(ath.Integer, { default = 18 }),
    email = ath.Column("email_address", ath.String(100)),
    created = ath.Column(ath.String(30), { default = function() return "now" end }),
  })
  function m.User:greeting() return "Hello, " .. self.name end
  -- a model naming a table defined after it
  m.Membership = Base:model("Membership", {
    __tablename = "md_memberships",
    user_id = ath.Column(ath.Integer, ath.ForeignKey("md_users.id"), { primary_key = true }),
    team_id = ath.Column(ath.Integer, ath.ForeignKey("md_teams.id"), { primary_key = true }),
    role = ath.Column(ath.String(20)),
  })
  m.Team = Base:model("Team", {
    __tablename = "md_teams",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50), { unique = true }),
  })
  return m
end)

describe("Declarative models", function()
  before_each(fx.open)
  after_each(fx.close)

  it("build a Table in Base.metadata with the columns in the order they were written", function()
    local User = fx.models.User
    assert.equal(fx.Base.metadata.tables.md_users, User.__table__)
    local names = {}
    for i, c in ipairs(User.__table__.columns) do names[i] = c.name end
    assert.same({ "id", "name", "age", "email_address", "created" }, names)
    assert.equal(User, fx.Base.registry.User)
  end)

  it("make User.name a column expression usable in Core statements", function()
    local User = fx.models.User
    assert.equal(User.__table__.c.name, User.name)
    local sql = tostring(ath.select(User.name):where(User.age:gt(20)))
    assert.matches('SELECT md_users.name FROM md_users WHERE md_users.age > ?', sql, 1, true)
    -- the model itself stands for its table (the __clause_element__ protocol)
    assert.matches("FROM md_users", tostring(ath.select(User)), 1, true)
    fx.engine:connect(function(c)
      c:execute(ath.insert(User), { name = "Core", age = 40 })
      assert.equal("Core", c:execute(ath.select(User.name):where(User.age:eq(40))):scalar())
    end)
  end)

  it("give instances the model's methods and plain-table attributes", function()
    local User = fx.models.User
    local bob = User{ name = "Bob", age = 25 }
    assert.equal("Hello, Bob", bob:greeting())
    assert.equal(User, getmetatable(bob))
    assert.equal("Bob", rawget(bob, "name"))             -- a plain field, no metamethod
    assert.is_nil(bob.email)                              -- not set: nil
    assert.is_nil(bob.__clause_element__)                 -- an instance is a value, not its table
  end)

  it("refuse an unknown constructor key with an ArgumentError naming the model and the key", function()
    local ok, err = pcall(fx.models.User, { nmae = "Bob" })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("User has no attribute 'nmae'", tostring(err), 1, true)
  end)

  it("map an attribute to a column of another name", function()
    local User, s = fx.models.User, fx.session
    s:add(User{ name = "Eve", email = "eve@x.org" })
    s:commit()
    local row = fx.engine:connect(function(c)
      return c:execute(ath.text("SELECT email_address FROM md_users")):scalar()
    end)
    assert.equal("eve@x.org", row)
    local eve = s:query(User):filter_by({ email = "eve@x.org" }):one()
    assert.equal("eve@x.org", eve.email)
  end)

  it("apply column defaults at flush and set them on the object", function()
    local User, s = fx.models.User, fx.session
    local u = User{ name = "Dee" }
    assert.is_nil(u.age)
    s:add(u)
    s:flush()
    assert.equal(18, u.age)
    assert.equal("now", u.created)
  end)

  it("support composite primary keys and foreign keys to a model defined later", function()
    local m, s = fx.models, fx.session
    local u, t = m.User{ id = 1, name = "A" }, m.Team{ id = 7, name = "T" }
    s:add_all({ m.Membership{ user_id = 1, team_id = 7, role = "lead" }, u, t })
    s:commit()
    local mem = s:get(m.Membership, { 1, 7 })
    assert.equal("lead", mem.role)
    assert.equal(mem, s:get(m.Membership, { user_id = 1, team_id = 7 }))
    assert.same({ 1, 7 }, orm.inspect(mem).identity)
  end)

  it("report states, identity and modified attributes through orm.inspect", function()
    local User, s = fx.models.User, fx.session
    local u = User{ name = "Ivy" }
    assert.equal("transient", orm.inspect(u).state)
    s:add(u)
    assert.equal("pending", orm.inspect(u).state)
    s:flush()
    local info = orm.inspect(u)
    assert.equal("persistent", info.state)
    assert.same({ u.id }, info.identity)
    assert.same({}, info.modified)
    u.name, u.age = "Ivy2", 30
    assert.same({ "name", "age" }, orm.inspect(u).modified)
    s:delete(u)
    s:flush()
    assert.equal("deleted", orm.inspect(u).state)
    s:commit()
    assert.equal("detached", orm.inspect(u).state)
    assert.equal(fx.models.User.__mapper__, orm.inspect(User))
  end)

  it("run validators in the constructor and for changed attributes at flush", function()
    local User, s = fx.models.User, fx.session
    orm.validates(User, "name", function(_, _, value)
      if value == "" then errors.raise("ArgumentError", 2, "name must not be empty") end
      return value:upper()
    end)
    local u = User{ name = "bob" }
    assert.equal("BOB", u.name)
    s:add(u)
    s:commit()
    u.name = "carl"
    s:flush()
    assert.equal("CARL", u.name)
    u.name = ""
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("must not be empty", tostring(err), 1, true)
    -- a failed flush rolls back the whole transaction: the committed name is back
    s:rollback()
    assert.equal("BOB", s:query(User):one().name)
  end)
end)
