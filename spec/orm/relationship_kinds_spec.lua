-- Relationship kinds (API.md §8): many-to-many through `secondary`
-- (association rows inserted and deleted by the unit of work), one-to-one
-- (uselist = false), self-referential trees (remote_side), and several
-- relationships to one table (foreign_keys). Round trips read back through
-- a fresh session.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  local post_tags = ath.Table("rk_post_tags", Base.metadata,
    ath.Column("post_id", ath.Integer, ath.ForeignKey("rk_posts.id"), { primary_key = true }),
    ath.Column("tag_id", ath.Integer, ath.ForeignKey("rk_tags.id"), { primary_key = true }))
  m.Post = Base:model("Post", {
    __tablename = "rk_posts",
    id = ath.Column(ath.Integer, { primary_key = true }),
    title = ath.Column(ath.String(50)),
    tags = orm.relationship("Tag", { secondary = post_tags, back_populates = "posts", order_by = "name" }),
  })
  m.Tag = Base:model("Tag", {
    __tablename = "rk_tags",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    posts = orm.relationship("Post", { secondary = "rk_post_tags", back_populates = "tags" }),
  })
  m.Person = Base:model("Person", {
    __tablename = "rk_people",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    passport = orm.relationship("Passport", { uselist = false, back_populates = "holder",
                                              cascade = "all, delete-orphan" }),
  })
  m.Passport = Base:model("Passport", {
    __tablename = "rk_passports",
    id = ath.Column(ath.Integer, { primary_key = true }),
    number = ath.Column(ath.String(20)),
    person_id = ath.Column(ath.Integer, ath.ForeignKey("rk_people.id")),
    holder = orm.relationship("Person", { back_populates = "passport" }),
  })
  m.Node = Base:model("Node", {
    __tablename = "rk_nodes",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("rk_nodes.id")),
    children = orm.relationship("Node", { back_populates = "parent", order_by = "name" }),
  })
  m.Node.parent = orm.relationship("Node", { back_populates = "children", remote_side = m.Node.id })
  m.Dancer = Base:model("Dancer", {
    __tablename = "rk_dancers",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    partner_id = ath.Column(ath.Integer, ath.ForeignKey("rk_dancers.id")),
  })
  m.Dancer.partner = orm.relationship("Dancer", { remote_side = m.Dancer.id, post_update = true })
  m.Customer = Base:model("Customer", {
    __tablename = "rk_customers",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
  })
  m.Invoice = Base:model("Invoice", {
    __tablename = "rk_invoices",
    id = ath.Column(ath.Integer, { primary_key = true }),
    billing_id = ath.Column(ath.Integer, ath.ForeignKey("rk_customers.id")),
    shipping_id = ath.Column(ath.Integer, ath.ForeignKey("rk_customers.id")),
  })
  m.Invoice.billing = orm.relationship(m.Customer, { foreign_keys = m.Invoice.billing_id })
  m.Invoice.shipping = orm.relationship(m.Customer, { foreign_keys = { m.Invoice.shipping_id } })
  m.post_tags = post_tags
  return m
end)

local with_session = fx.with_session

local function names(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.name or x.title end
  table.sort(out)
  return out
end

describe("Relationship kinds", function()
  before_each(fx.open)
  after_each(fx.close)

  describe("many-to-many through secondary", function()
    it("inserts association rows for tags added from either side", function()
      local m, s = fx.models, fx.session
      local lua, sql = m.Tag{ name = "lua" }, m.Tag{ name = "sql" }
      local p1 = m.Post{ title = "p1", tags = { lua, sql } }
      local p2 = m.Post{ title = "p2" }
      table.insert(lua.posts, p2)                   -- from the other side
      s:add_all({ p1, p2 })
      s:commit()
      assert.equal(3, fx.count("rk_post_tags"))
      with_session(function(s2)
        local posts = s2:query(m.Post):order_by(m.Post.title):all()
        assert.same({ "lua", "sql" }, names(posts[1].tags))
        assert.same({ "lua" }, names(posts[2].tags))
        local tag = s2:query(m.Tag):filter_by({ name = "lua" }):one()
        assert.same({ "p1", "p2" }, names(tag.posts))
      end)
    end)

    it("deletes the association row of a removed tag and keeps the tag", function()
      local m, s = fx.models, fx.session
      local p = m.Post{ title = "p", tags = { m.Tag{ name = "a" }, m.Tag{ name = "b" }, m.Tag{ name = "c" } } }
      s:add(p)
      s:commit()
      table.remove(p.tags, 2)                        -- ordered by name: b
      s:commit()
      assert.equal(2, fx.count("rk_post_tags"))
      assert.equal(3, fx.count("rk_tags"))
      with_session(function(s2)
        assert.same({ "a", "c" }, names(s2:query(m.Post):one().tags))
      end)
      -- removed and added again in one flush: the row stays
      local a = p.tags[1]
      table.remove(p.tags, 1)
      table.insert(p.tags, a)
      fx.reset_sql()
      s:commit()
      assert.equal(0, #fx.statements("DELETE"))
      assert.equal(0, #fx.statements("INSERT"))
    end)

    it("deletes the association rows of a deleted post", function()
      local m, s = fx.models, fx.session
      s:add(m.Post{ title = "p", tags = { m.Tag{ name = "a" }, m.Tag{ name = "b" } } })
      s:add(m.Post{ title = "q", tags = { m.Tag{ name = "c" } } })
      s:commit()
      s:delete(s:query(m.Post):filter_by({ title = "p" }):one())
      s:commit()
      assert.equal(1, fx.count("rk_post_tags"))
      assert.equal(3, fx.count("rk_tags"))
    end)

    it("loads with selectinload in 2 statements and joinedload in 1", function()
      local m, s = fx.models, fx.session
      for i = 1, 5 do s:add(m.Post{ title = "p" .. i, tags = { m.Tag{ name = "t" .. i }, m.Tag{ name = "u" .. i } } }) end
      s:commit()
      for _, opt in ipairs({ { orm.selectinload(m.Post.tags), 2 }, { orm.joinedload(m.Post.tags), 1 } }) do
        with_session(function(s2)
          fx.reset_sql()
          local posts = s2:query(m.Post):options(opt[1]):all()
          for _, p in ipairs(posts) do assert.equal(2, #p.tags) end
          assert.equal(opt[2], #fx.sql)
        end)
      end
    end)

    it("joins along a many-to-many relationship", function()
      local m, s = fx.models, fx.session
      s:add(m.Post{ title = "p", tags = { m.Tag{ name = "a" } } })
      s:add(m.Post{ title = "q", tags = { m.Tag{ name = "b" } } })
      s:commit()
      local got = s:query(m.Post):join(m.Post.tags):filter(m.Tag.name:eq("b")):all()
      assert.same({ "q" }, names(got))
    end)
  end)

  describe("one-to-one (uselist = false)", function()
    it("holds one object on both sides and round-trips", function()
      local m, s = fx.models, fx.session
      local ann = m.Person{ name = "ann", passport = m.Passport{ number = "X1" } }
      assert.equal(ann, ann.passport.holder)
      s:add(ann)
      s:commit()
      with_session(function(s2)
        local p = s2:query(m.Person):one()
        assert.equal("X1", p.passport.number)
        assert.equal(p, p.passport.holder)
      end)
    end)

    it("replaces the object: the old one is deleted as an orphan", function()
      local m, s = fx.models, fx.session
      local ann = m.Person{ name = "ann", passport = m.Passport{ number = "X1" } }
      s:add(ann)
      s:commit()
      ann.passport = m.Passport{ number = "X2" }
      s:commit()
      with_session(function(s2)
        assert.equal("X2", s2:query(m.Person):one().passport.number)
        assert.equal(1, s2:query(m.Passport):count())
      end)
    end)
  end)

  describe("self-referential (remote_side)", function()
    it("stores a tree three levels deep and reads it back", function()
      local m, s = fx.models, fx.session
      local root = m.Node{ name = "root", children = {
        m.Node{ name = "a", children = { m.Node{ name = "a1" }, m.Node{ name = "a2", children = { m.Node{ name = "a2x" } } } } },
        m.Node{ name = "b" },
      } }
      s:add(root)
      s:commit()
      assert.equal(6, fx.count("rk_nodes"))
      with_session(function(s2)
        local r = s2:query(m.Node):filter(m.Node.parent_id:is_(ath.null)):one()
        assert.equal("root", r.name)
        assert.same({ "a", "b" }, names(r.children))
        local a = r.children[1]
        assert.equal(r, a.parent)
        assert.same({ "a1", "a2" }, names(a.children))
        assert.equal("a2x", a.children[2].children[1].name)
        assert.equal(a, a.children[2].children[1].parent.parent)
      end)
    end)

    it("moves a subtree by assigning its parent", function()
      local m, s = fx.models, fx.session
      local a, b = m.Node{ name = "a" }, m.Node{ name = "b" }
      local x = m.Node{ name = "x", parent = a }
      s:add_all({ a, b })
      s:commit()
      x.parent = b
      s:commit()
      with_session(function(s2)
        local nb = s2:query(m.Node):filter_by({ name = "b" }):one()
        assert.same({ "x" }, names(nb.children))
        assert.same({}, s2:query(m.Node):filter_by({ name = "a" }):one().children)
      end)
    end)

    it("loads children with selectinload and joinedload", function()
      local m, s = fx.models, fx.session
      s:add(m.Node{ name = "r", children = { m.Node{ name = "c1" }, m.Node{ name = "c2" } } })
      s:commit()
      for _, opt in ipairs({ orm.selectinload(m.Node.children), orm.joinedload(m.Node.children) }) do
        with_session(function(s2)
          local r = s2:query(m.Node):filter_by({ name = "r" }):options(opt):one()
          fx.reset_sql()
          assert.same({ "c1", "c2" }, names(r.children))
          assert.equal(0, #fx.sql)
        end)
      end
    end)
  end)

  describe("rows that refer to each other (post_update)", function()
    it("inserts both rows, then sets their foreign keys with UPDATEs", function()
      local m, s = fx.models, fx.session
      local a, b = m.Dancer{ name = "a" }, m.Dancer{ name = "b" }
      a.partner, b.partner = b, a
      s:add_all({ a, b })
      fx.reset_sql()
      s:commit()
      assert.equal(2, #fx.statements("UPDATE"))
      with_session(function(s2)
        local da = s2:query(m.Dancer):filter_by({ name = "a" }):one()
        assert.equal("b", da.partner.name)
        assert.equal(da, da.partner.partner)
      end)
    end)
  end)

  describe("several relationships to one table (foreign_keys)", function()
    it("keeps each relationship on its own foreign key", function()
      local m, s = fx.models, fx.session
      local bill, ship = m.Customer{ name = "bill" }, m.Customer{ name = "ship" }
      s:add(m.Invoice{ billing = bill, shipping = ship })
      s:commit()
      with_session(function(s2)
        local inv = s2:query(m.Invoice):one()
        assert.equal("bill", inv.billing.name)
        assert.equal("ship", inv.shipping.name)
        assert.are_not.equal(inv.billing_id, inv.shipping_id)
      end)
    end)

    it("asks for foreign_keys when two foreign keys lead to the same table", function()
      local Base = orm.declarative_base()
      Base:model("C", { __tablename = "rk_c", id = ath.Column(ath.Integer, { primary_key = true }) })
      local I = Base:model("I", {
        __tablename = "rk_i",
        id = ath.Column(ath.Integer, { primary_key = true }),
        a_id = ath.Column(ath.Integer, ath.ForeignKey("rk_c.id")),
        b_id = ath.Column(ath.Integer, ath.ForeignKey("rk_c.id")),
        c = orm.relationship("C"),
      })
      local ok, err = pcall(function() return I{}.c end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"))
      assert.truthy(tostring(err):find("foreign_keys", 1, true))
    end)
  end)
end)
