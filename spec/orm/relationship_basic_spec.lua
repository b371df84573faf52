-- Relationships (API.md §8): many-to-one and one-to-many, back_populates
-- and backref, foreign keys set at flush, save-update cascade, changes to
-- collections, lazy loading. Every result is read back through a fresh
-- session.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  -- the parent names its children before the Child model exists
  m.Parent = Base:model("Parent", {
    __tablename = "rb_parents",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    children = orm.relationship("Child", { back_populates = "parent" }),
  })
  m.Child = Base:model("Child", {
    __tablename = "rb_children",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("rb_parents.id")),
    parent = orm.relationship("Parent", { back_populates = "children" }),
  })
  m.Tagline = Base:model("Tagline", {
    __tablename = "rb_taglines",
    id = ath.Column(ath.Integer, { primary_key = true }),
    text = ath.Column(ath.String(50), { nullable = false }),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("rb_parents.id")),
  })
  m.Parent.taglines = orm.relationship(m.Tagline)
  m.Author = Base:model("Author", {
    __tablename = "rb_authors",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    books = orm.relationship("Book", { backref = "author" }),
  })
  m.Book = Base:model("Book", {
    __tablename = "rb_books",
    id = ath.Column(ath.Integer, { primary_key = true }),
    title = ath.Column(ath.String(50)),
    author_id = ath.Column(ath.Integer, ath.ForeignKey("rb_authors.id")),
  })
  return m
end)

-- fn(session) with a fresh session, closed afterwards.
local function fresh(fn)
  local s = fx.Session()
  local ok, err = pcall(fn, s)
  s:close()
  if not ok then error(err, 0) end
end

-- { [child name] = parent name or false } as the database holds it.
local function tree()
  local out = {}
  fresh(function(s)
    for _, c in ipairs(s:query(fx.models.Child):all()) do
      out[c.name] = c.parent and c.parent.name or false
    end
  end)
  return out
end

describe("orm.relationship", function()
  before_each(fx.open)
  after_each(fx.close)

  it("inserts a parent with its children, setting their foreign keys from the parent's new key", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p = Parent{ name = "p", children = { Child{ name = "a" }, Child{ name = "b" } } }
    s:add(p)                                            -- save-update cascade: the children come along
    assert.equal(3, #s.new)
    s:commit()
    assert.same({ a = "p", b = "p" }, tree())
    fresh(function(s2)
      local got = s2:query(Parent):one()
      assert.equal(2, #got.children)
      assert.equal(got, got.children[1].parent)
    end)
  end)

  it("inserts the parent before the child when only the child was added", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Child{ name = "c", parent = Parent{ name = "p" } })
    s:commit()
    assert.same({ c = "p" }, tree())
    local inserts = fx.statements("INSERT")
    assert.truthy(inserts[1]:find("rb_parents", 1, true))
    assert.truthy(inserts[2]:find("rb_children", 1, true))
  end)

  it("keeps both sides of a back_populates pair in agreement in memory", function()
    local Parent, Child = fx.models.Parent, fx.models.Child
    local p = Parent{ name = "p" }
    local c = Child{ name = "c" }
    c.parent = p                                        -- the collection of a new parent starts here
    assert.same({ c }, p.children)
    local d = Child{ name = "d", parent = p }
    assert.same({ c, d }, p.children)
    local q = Parent{ name = "q", children = { Child{ name = "e" } } }
    assert.equal(q, q.children[1].parent)
  end)

  it("sets the many-to-one side at flush when a child is put into a collection with table.insert", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p = Parent{ name = "p" }
    s:add(p)
    s:commit()
    local c = Child{ name = "c" }
    table.insert(p.children, c)                         -- p.children lazy-loads (empty), then the insert
    s:flush()
    assert.equal(p, c.parent)
    assert.equal(p.id, c.parent_id)
    s:commit()
    assert.same({ c = "p" }, tree())
  end)

  it("sees table.remove, index assignment and a replaced array at flush", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p = Parent{ name = "p", children = { Child{ name = "a" }, Child{ name = "b" }, Child{ name = "c" } } }
    local q = Parent{ name = "q" }
    s:add_all({ p, q })
    s:commit()
    table.remove(p.children, 1)                         -- a loses its parent
    p.children[2] = Child{ name = "d" }                 -- c replaced by d
    s:commit()
    assert.same({ a = false, b = "p", c = false, d = "p" }, tree())
    q.children = { s:query(Child):filter_by({ name = "a" }):one() }   -- the whole array replaced
    s:commit()
    assert.same({ a = "q", b = "p", c = false, d = "p" }, tree())
    q.children = {}
    s:commit()
    assert.same({ a = false, b = "p", c = false, d = "p" }, tree())
  end)

  it("moves a child to another parent by assigning its many-to-one side", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p, q = Parent{ name = "p" }, Parent{ name = "q" }
    local c = Child{ name = "c", parent = p }
    s:add_all({ p, q })
    s:commit()
    assert.equal(1, #p.children)
    assert.equal(0, #q.children)
    c.parent = q
    s:flush()
    assert.same({}, p.children)                         -- loaded collections agree after flush
    assert.same({ c }, q.children)
    s:commit()
    assert.same({ c = "q" }, tree())
    c.parent = nil
    s:commit()
    assert.same({ c = false }, tree())
  end)

  it("creates the other side of a backref on the target model", function()
    local Author, Book, s = fx.models.Author, fx.models.Book, fx.session
    local a = Author{ name = "ann", books = { Book{ title = "one" } } }
    s:add(a)
    s:commit()
    assert.truthy(Book.author)
    fresh(function(s2)
      local b = s2:query(Book):one()
      assert.equal("ann", b.author.name)
      assert.equal(b, b.author.books[1])
    end)
  end)

  it("loads a many-to-one lazily on first access with one SELECT, then from the instance", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Child{ name = "c", parent = Parent{ name = "p" } })
    s:commit()
    fresh(function(s2)
      local c = s2:query(Child):one()
      fx.reset_sql()
      assert.equal("p", c.parent.name)
      assert.equal(1, #fx.statements("SELECT"))
      assert.equal("p", c.parent.name)
      assert.equal(1, #fx.statements("SELECT"))
      -- the parent is in the identity map: another child's parent needs no SQL
      local d = Child{ name = "d", parent_id = c.parent_id }
      s2:add(d)
      s2:flush()
      fx.reset_sql()
      s2:expire(d)
      assert.equal(c.parent, d.parent)
      assert.equal(1, #fx.statements("SELECT"))       -- d's own row, not the parent's
    end)
  end)

  it("returns nil for a missing many-to-one and an empty array for an empty collection", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add_all({ Child{ name = "c" }, Parent{ name = "p" } })
    s:commit()
    fresh(function(s2)
      assert.is_nil(s2:query(Child):one().parent)
      assert.same({}, s2:query(Parent):one().children)
    end)
  end)

  it("raises DetachedInstanceError naming the attribute on lazy access of a detached object", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Child{ name = "c", parent = Parent{ name = "p" } })
    s:commit()
    local c = s:query(Child):one()
    s:expunge(c)
    local ok, err = pcall(function() return c.parent end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "DetachedInstanceError"))
    assert.truthy(tostring(err):find("'parent'", 1, true))
  end)

  it("reads a relationship again after commit expired it", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p = Parent{ name = "p" }
    s:add(p)
    s:commit()
    assert.same({}, p.children)
    s:execute(ath.insert(Child), { { name = "c", parent_id = p.id } })   -- a bulk insert: no objects
    assert.same({}, p.children)
    s:commit()                                          -- expires p, children included
    assert.equal("c", p.children[1].name)
  end)

  it("rejects an unknown relationship option, cascade and lazy strategy", function()
    for _, opts in ipairs({ { bogus = 1 }, { cascade = "save-update, explode" }, { lazy = "sometimes" } }) do
      local ok, err = pcall(orm.relationship, "Child", opts)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"))
    end
  end)

  it("raises InvalidRequestError naming a target model that is never defined", function()
    local Base = orm.declarative_base()
    local M = Base:model("Lonely", {
      __tablename = "rb_lonely",
      id = ath.Column(ath.Integer, { primary_key = true }),
      friends = orm.relationship("Nobody"),
    })
    local ok, err = pcall(function() return M{}.friends end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.truthy(tostring(err):find("Nobody", 1, true))
  end)

  it("lets parents and children that refer to each other be collected after commit", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Parent{ name = "p", children = { Child{ name = "a" }, Child{ name = "b" } } })
    s:commit()
    local ps = s:query(Parent):options(orm.joinedload(Parent.children)):all()
    assert.equal(ps[1], ps[1].children[1].parent)
    local weak = setmetatable({ ps[1], ps[1].children[1] }, { __mode = "v" })
    ps = nil                                             -- luacheck: ignore 311
    s:commit()
    fixtures.full_gc()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
    local n = 0
    for _, idmap in pairs(s._identity) do for _ in pairs(idmap) do n = n + 1 end end
    assert.equal(0, n)
  end)

  it("loads a viewonly relationship and writes nothing through it", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    Parent.kids_view = orm.relationship(Child, { viewonly = true })
    local p = Parent{ name = "p", children = { Child{ name = "a" } } }
    s:add(p)
    s:commit()
    assert.equal("a", p.kids_view[1].name)
    table.insert(p.kids_view, Child{ name = "ignored" })
    s:commit()
    assert.same({ a = "p" }, tree())
  end)

  it("raises InvalidRequestError naming the attribute for lazy = 'raise'", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    Parent.strict_children = orm.relationship(Child, { lazy = "raise" })
    s:add(Parent{ name = "p" })
    s:commit()
    local p = s:query(Parent):one()
    local ok, err = pcall(function() return p.strict_children end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.truthy(tostring(err):find("Parent.strict_children", 1, true))
    local q = s:query(Parent):options(orm.selectinload(Parent.strict_children)):one()
    assert.same({}, q.strict_children)
  end)

  it("loads a relationship again after session:expire(obj, { key })", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    local p = Parent{ name = "p" }
    s:add(p)
    s:commit()
    assert.same({}, p.children)
    s:execute(ath.insert(Child), { { name = "c", parent_id = p.id } })
    s:expire(p, { "children" })
    assert.equal("c", p.children[1].name)
  end)

  it("writes nothing when a child's INSERT fails, and flushes the same graph after rollback", function()
    local Parent, Tagline, s = fx.models.Parent, fx.models.Tagline, fx.session
    local bad = Tagline{}                                  -- text is NOT NULL
    local p = Parent{ name = "p", taglines = { Tagline{ text = "ok" }, bad } }
    s:add(p)
    local ok, err = pcall(s.commit, s)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "IntegrityError"))
    assert.equal(0, fx.count("rb_parents"))
    assert.equal(0, fx.count("rb_taglines"))
    local ok2, err2 = pcall(s.flush, s)
    assert.is_false(ok2)
    assert.is_true(errors.is(err2, "PendingRollbackError"))
    s:rollback()
    assert.equal("transient", orm.inspect(p).state)
    assert.is_nil(p.id)
    bad.text = "fixed"
    s:add(p)
    s:commit()
    assert.equal(1, fx.count("rb_parents"))
    assert.equal(2, fx.count("rb_taglines"))
    fresh(function(s2)
      local got = s2:query(Parent):one()
      assert.equal(2, #got.taglines)
    end)
  end)

  it("autoflushes pending objects before a lazy load, so it sees a child added by its foreign key", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Parent{ name = "p" })
    s:commit()
    local p = s:query(Parent):one()
    s:add(Child{ name = "c", parent_id = p.id })
    assert.equal("c", p.children[1].name)
  end)

  it("compares a lazily loaded collection with what was loaded, without reading it again at flush", function()
    local Parent, Child, s = fx.models.Parent, fx.models.Child, fx.session
    s:add(Parent{ name = "p", children = { Child{ name = "a" }, Child{ name = "b" } } })
    s:commit()
    local p = s:query(Parent):one()
    table.remove(p.children, 1)                          -- lazy load, then the removal
    fx.reset_sql()
    s:flush()
    assert.equal(0, #fx.statements("SELECT"))
    assert.equal(1, #fx.statements("UPDATE"))
    s:commit()
    assert.same({ a = false, b = "p" }, tree())
  end)
end)
