-- orm.aliased() as the target of a join along a relationship
-- (`join(User.addresses:of_type(a))`, SQLAlchemy 1.4's `join(a, User.addresses)`),
-- on a self-referential tree too, and loader options on a query of an alias
-- (statements counted with before_cursor_execute, read in a fresh session).
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.User = Base:model("User", {
    __tablename = "ra_users",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    addresses = orm.relationship("Address", { back_populates = "user", order_by = "Address.id" }),
  })
  m.Address = Base:model("Address", {
    __tablename = "ra_addresses",
    id = ath.Column(ath.Integer, { primary_key = true }),
    email = ath.Column(ath.String(50)),
    user_id = ath.Column(ath.Integer, ath.ForeignKey("ra_users.id")),
    user = orm.relationship("User", { back_populates = "addresses" }),
  })
  m.Node = Base:model("Node", {
    __tablename = "ra_nodes",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("ra_nodes.id")),
    children = orm.relationship("Node", { backref = "parent", order_by = "Node.id" }),
  })
  return m
end)

local count = fx.statements_run

local function seed()
  local m, s = fx.models, fx.session
  for i = 1, 4 do
    local u = m.User{ name = "u" .. i }
    for j = 1, 2 do table.insert(u.addresses, m.Address{ email = "a" .. i .. "_" .. j }) end
    s:add(u)
  end
  local root = m.Node{ name = "root" }
  local c1, c2 = m.Node{ name = "c1" }, m.Node{ name = "c2" }
  root.children = { c1, c2 }
  c1.children = { m.Node{ name = "g1" } }
  s:add(root)
  s:commit()
end

local with_session = fx.with_session

describe("Joins along a relationship to an alias", function()
  before_each(fx.open)
  after_each(fx.close)

  it("join(User.addresses:of_type(a)) joins the same model twice", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local a1, a2 = orm.aliased(m.Address), orm.aliased(m.Address)
      local users = s:query(m.User):join(m.User.addresses:of_type(a1)):join(m.User.addresses:of_type(a2))
        :filter(a1.email:eq("a3_1"), a2.email:eq("a3_2")):all()
      assert.equal(1, #users)
      assert.equal("u3", users[1].name)
      assert.equal(0, s:query(m.User):join(m.User.addresses:of_type(a1)):join(m.User.addresses:of_type(a2))
        :filter(a1.email:eq("a3_1"), a2.email:eq("a2_2")):count())
      assert.equal(4, s:query(m.User):outerjoin(m.User.addresses:of_type(a1)):filter(a1.email:like("%_1")):count())
    end)
  end)

  it("join(a, User.addresses) is the same join", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local a1 = orm.aliased(m.Address)
      local rows = s:query(m.User, a1):join(a1, m.User.addresses):filter(a1.email:eq("a2_2")):all()
      assert.equal(1, #rows)
      assert.equal("u2", rows[1][1].name)
      assert.equal("a2_2", rows[1][2].email)
      assert.equal(rows[1][1], rows[1][2].user)
    end)
  end)

  it("joins a self-referential tree to itself through an alias", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local child, grandchild = orm.aliased(m.Node), orm.aliased(m.Node)
      local got = s:query(m.Node):join(m.Node.children:of_type(child)):join(grandchild, child.id:eq(grandchild.parent_id))
        :filter(grandchild.name:eq("g1")):one()
      assert.equal("root", got.name)
      local parents = s:query(m.Node):join(child, m.Node.children):filter(child.name:like("c%")):distinct():all()
      assert.equal(1, #parents)
      assert.equal("root", parents[1].name)
    end)
  end)

  it("rejects an alias of another model", function()
    local m = fx.models
    local ok, err = pcall(function() return m.User.addresses:of_type(orm.aliased(m.User)) end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("of_type", tostring(err))
    with_session(function(s)
      local ok2, err2 = pcall(function() return s:query(m.User):join(orm.aliased(m.User), m.User.addresses) end)
      assert.is_false(ok2)
      assert.is_true(errors.is(err2, "ArgumentError"))
      assert.matches("not an alias of Address", tostring(err2))
    end)
  end)
end)

describe("Loader options on a query of an alias", function()
  before_each(fx.open)
  after_each(fx.close)

  it("selectinload loads the alias's objects' collections in one more statement", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local ua = orm.aliased(m.User)
      local n = count(function()
        local users = s:query(ua):options(orm.selectinload(m.User.addresses)):order_by(ua.id):all()
        assert.equal(4, #users)
        for i, u in ipairs(users) do
          assert.equal(2, #u.addresses)
          assert.equal("a" .. i .. "_2", u.addresses[2].email)
        end
      end)
      assert.equal(2, n)
    end)
  end)

  it("joinedload loads the collections (the selectin way) and iter() honours the options", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local na = orm.aliased(m.Node)
      local n = count(function()
        local sizes = {}
        for node in s:query(na):options(orm.joinedload(m.Node.children)):order_by(na.id):iter() do
          sizes[#sizes + 1] = node.name .. "=" .. #node.children
        end
        assert.same({ "root=2", "c1=1", "c2=0", "g1=0" }, sizes)
      end)
      assert.equal(2, n)   -- lazily: 5
    end)
  end)

  it("raiseload('*') raises on the first lazy access", function()
    seed()
    with_session(function(s)
      local m = fx.models
      local ua = orm.aliased(m.User)
      local u = s:query(ua):options(orm.raiseload("*")):first()
      local ok, err = pcall(function() return u.addresses end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.matches("addresses", tostring(err))
    end)
  end)
end)
