-- Loading strategies (API.md §8), checked by counting the statements the
-- engine runs (its before_cursor_execute event): lazy "select" on access,
-- joinedload (one statement, LIMIT applied to parents), selectinload (one
-- IN query per relationship), chained options, raiseload, noload, the
-- relationship's own lazy strategy, and query joins along a relationship.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return fixtures.blog_models(Base, "rl", {
    addresses = { back_populates = "user", order_by = "Address.id" },
    posts = { backref = "author" },
    user = { back_populates = "addresses" },
    comments = { lazy = "selectin" },
  })
end)

local count, with_session, seed = fx.statements_run, fx.with_session, fx.seed_blog

describe("Relationship loading", function()
  before_each(fx.open)
  after_each(fx.close)

  it("loads 100 users with their addresses in 101 statements lazily", function()
    seed(100, 2)
    with_session(function(s)
      local n = count(function()
        for _, u in ipairs(s:query(fx.models.User):all()) do assert.equal(2, #u.addresses) end
      end)
      assert.equal(101, n)
    end)
  end)

  it("loads 100 users with their addresses in 1 statement with joinedload", function()
    seed(100, 2)
    with_session(function(s)
      local User = fx.models.User
      local n = count(function()
        local users = s:query(User):options(orm.joinedload(User.addresses)):all()
        assert.equal(100, #users)
        for _, u in ipairs(users) do
          assert.equal(2, #u.addresses)
          assert.equal(u, u.addresses[1].user)
          assert.truthy(u.addresses[1].id < u.addresses[2].id)   -- the relationship's order_by
        end
      end)
      assert.equal(1, n)
    end)
  end)

  it("loads 100 users with their addresses in 2 statements with selectinload", function()
    seed(100, 2)
    with_session(function(s)
      local User = fx.models.User
      local n = count(function()
        local users = s:query(User):options(orm.selectinload(User.addresses)):all()
        assert.equal(100, #users)
        for _, u in ipairs(users) do
          assert.equal(2, #u.addresses)
          assert.truthy(u.addresses[1].id < u.addresses[2].id)   -- the relationship's order_by
        end
      end)
      assert.equal(2, n)
    end)
  end)

  it("loads three levels with chained selectinload in 3 statements", function()
    seed(20, 1)
    with_session(function(s)
      local m = fx.models
      local n = count(function()
        local users = s:query(m.User):options(orm.selectinload(m.User.posts):selectinload(m.Post.comments)):all()
        for _, u in ipairs(users) do
          assert.equal(1, #u.posts)
          assert.equal(2, #u.posts[1].comments)
          assert.equal(u, u.posts[1].author)
        end
      end)
      assert.equal(3, n)
    end)
  end)

  it("chains a selectinload under a joinedload: 2 statements", function()
    seed(20, 1)
    with_session(function(s)
      local m = fx.models
      local n = count(function()
        local users = s:query(m.User):options(orm.joinedload(m.User.posts):selectinload(m.Post.comments)):all()
        assert.equal(20, #users)
        for _, u in ipairs(users) do assert.equal(2, #u.posts[1].comments) end
      end)
      assert.equal(2, n)
    end)
  end)

  it("loads three levels with chained joinedload in 1 statement, with or without LIMIT", function()
    seed(12, 1)
    for _, limit in ipairs({ false, 5 }) do
      with_session(function(s)
        local m = fx.models
        local q = s:query(m.User):options(orm.joinedload(m.User.posts):joinedload(m.Post.comments)):order_by(m.User.name)
        if limit then q = q:limit(limit) end
        local n = count(function()
          local users = q:all()
          assert.equal(limit or 12, #users)
          for _, u in ipairs(users) do
            assert.equal(1, #u.posts)
            assert.equal(2, #u.posts[1].comments)
          end
        end)
        assert.equal(1, n)
      end)
    end
  end)

  it("returns 10 parents with all their children from joinedload with LIMIT 10", function()
    seed(30, 3)
    with_session(function(s)
      local User = fx.models.User
      local users
      local n = count(function()
        users = s:query(User):options(orm.joinedload(User.addresses)):order_by(User.name):limit(10):all()
      end)
      assert.equal(1, n)
      assert.truthy(fx.sql[1]:find("anon_1", 1, true))             -- the LIMIT is inside a subquery
      assert.equal(10, #users)
      for i, u in ipairs(users) do
        assert.equal(string.format("u%03d", i), u.name)
        assert.equal(3, #u.addresses)
      end
    end)
  end)

  it("chunks the IN list of a selectin load of many parents", function()
    seed(1100, 1)
    with_session(function(s)
      local User = fx.models.User
      local n = count(function()
        local users = s:query(User):options(orm.selectinload(User.addresses)):all()
        assert.equal(1100, #users)
        for _, u in ipairs(users) do assert.equal(1, #u.addresses) end
      end)
      assert.equal(1 + 3, n)                                      -- 500 keys per IN query
    end)
  end)

  it("uses the relationship's own lazy = 'selectin' without an option", function()
    seed(10, 0)
    with_session(function(s)
      local n = count(function()
        local posts = s:query(fx.models.Post):all()
        for _, p in ipairs(posts) do assert.equal(2, #p.comments) end
      end)
      assert.equal(2, n)
    end)
  end)

  it("raises InvalidRequestError naming the attribute on the first lazy access under raiseload('*')", function()
    seed(3, 1)
    with_session(function(s)
      local User = fx.models.User
      local users = s:query(User):options(orm.raiseload("*")):all()
      local ok, err = pcall(function() return users[1].addresses end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.truthy(tostring(err):find("User.addresses", 1, true))
      -- an eager option beside it still loads
      local more = s:query(User):options(orm.raiseload("*"), orm.selectinload(User.posts)):all()
      assert.equal(1, #more[1].posts)
    end)
  end)

  it("gives an empty collection under noload and loads lazily again under lazyload", function()
    seed(2, 1)
    with_session(function(s)
      local User = fx.models.User
      local u = s:query(User):options(orm.noload(User.addresses)):first()
      assert.same({}, u.addresses)
    end)
    with_session(function(s)
      local User = fx.models.User
      local u = s:query(User):options(orm.lazyload(User.addresses)):first()
      assert.equal(1, #u.addresses)
    end)
  end)

  it("rejects a loader option that is not given a relationship", function()
    local ok, err = pcall(orm.joinedload, fx.models.User.name)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
  end)

  it("joins along a relationship with query:join(User.addresses)", function()
    seed(5, 2)
    with_session(function(s)
      local m = fx.models
      local users = s:query(m.User):join(m.User.addresses):filter(m.Address.email:eq("a3_2")):all()
      assert.equal(1, #users)
      assert.equal("u003", users[1].name)
      assert.equal(5, s:query(m.User):join(m.User.addresses):distinct():count())
      assert.equal(10, s:query(m.Address):join(m.Address.user):filter(m.User.name:like("u%")):count())
      local outer = s:query(m.User):outerjoin(m.User.addresses):count()
      assert.equal(10, outer)
    end)
  end)
end)

describe("contains_eager", function()
  before_each(fx.open)
  after_each(fx.close)

  it("fills collections from the query's own join in 1 statement, with only the joined rows", function()
    seed(5, 2)
    with_session(function(s)
      local m = fx.models
      fx.reset_sql()
      local users = s:query(m.User):join(m.User.addresses):filter(m.Address.email:like("%_1"))
        :options(orm.contains_eager(m.User.addresses)):order_by(m.User.name):all()
      assert.equal(5, #users)
      for i, u in ipairs(users) do
        assert.equal(1, #u.addresses)
        assert.equal("a" .. i .. "_1", u.addresses[1].email)
      end
      assert.equal(1, #fx.sql)
    end)
  end)

  it("raises InvalidRequestError when the query does not join the relationship's target", function()
    with_session(function(s)
      local m = fx.models
      local ok, err = pcall(function() return s:query(m.User):options(orm.contains_eager(m.User.addresses)):all() end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.truthy(tostring(err):find("contains_eager", 1, true))
    end)
  end)
end)

describe("Column loader options", function()
  before_each(fx.open)
  after_each(fx.close)

  it("leaves a deferred column out of the SELECT and reads it on first access", function()
    seed(3, 1)
    with_session(function(s)
      local m = fx.models
      fx.reset_sql()
      local users = s:query(m.User):options(orm.defer("name")):order_by(m.User.id):all()
      assert.equal(1, #fx.sql)
      assert.is_nil(fx.sql[1]:find("name", 1, true))
      assert.equal(3, #users)
      assert.same({ "name" }, orm.inspect(users[1]).expired)
      assert.equal("u001", users[1].name)
      assert.equal(2, #fx.sql)
      assert.equal("u001", users[1].name)
      assert.equal(2, #fx.sql)
    end)
  end)

  it("loads only the named columns (and the key) with load_only, beside a joinedload", function()
    seed(3, 2)
    with_session(function(s)
      local m = fx.models
      fx.reset_sql()
      local addrs = s:query(m.Address):options(orm.load_only("email")):all()
      assert.is_nil(fx.sql[1]:find("user_id", 1, true))
      assert.equal(6, #addrs)
      assert.truthy(addrs[1].email)
      assert.equal(1, #fx.sql)
      assert.truthy(addrs[1].user_id)                              -- read now
      assert.equal(2, #fx.sql)
      local users = s:query(m.User):options(orm.load_only("id"), orm.joinedload(m.User.addresses)):limit(2):all()
      assert.equal(2, #users)
      assert.equal(2, #users[1].addresses)
    end)
  end)

  it("rejects an attribute that is not a column of the model", function()
    with_session(function(s)
      local ok, err = pcall(function() return s:query(fx.models.User):options(orm.defer("addresses")) end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"))
      assert.truthy(tostring(err):find("addresses", 1, true))
    end)
  end)
end)

describe("A relationship with a custom primaryjoin", function()
  before_each(fx.open)
  after_each(fx.close)

  it("loads lazily, with selectinload and through any(), and is viewonly", function()
    seed(4, 2)
    local m = fx.models
    m.User.second_addresses = orm.relationship("Address", { primaryjoin = function()
      return ath.and_(m.User.id:eq(m.Address.user_id), m.Address.email:like("%_2"))
    end })
    with_session(function(s)
      local users = s:query(m.User):order_by(m.User.id):all()
      assert.equal(1, #users[1].second_addresses)
      assert.equal("a1_2", users[1].second_addresses[1].email)
      assert.equal(2, #users[1].addresses)
    end)
    with_session(function(s)
      fx.reset_sql()
      local users = s:query(m.User):options(orm.selectinload(m.User.second_addresses)):order_by(m.User.id):all()
      for i, u in ipairs(users) do assert.same({ "a" .. i .. "_2" }, { u.second_addresses[1].email }) end
      assert.equal(2, #fx.sql)
      local n = s:query(m.User):filter(m.User.second_addresses:any(m.Address.email:eq("a3_2"))):count()
      assert.equal(1, n)
      assert.equal(4, s:query(m.User):join(m.User.second_addresses):count())
      -- viewonly: nothing is written through it
      table.insert(users[1].second_addresses, m.Address{ email = "new" })
      s:commit()
      assert.equal(8, fx.count("rl_addresses"))
    end)
  end)
end)

describe("orm.aliased", function()
  before_each(fx.open)
  after_each(fx.close)

  it("joins the same model twice", function()
    seed(4, 2)
    with_session(function(s)
      local m = fx.models
      local a1, a2 = orm.aliased(m.Address), orm.aliased(m.Address)
      local users = s:query(m.User)
        :join(a1, m.User.id:eq(a1.user_id)):join(a2, m.User.id:eq(a2.user_id))
        :filter(a1.email:eq("a3_1"), a2.email:eq("a3_2")):all()
      assert.equal(1, #users)
      assert.equal("u003", users[1].name)
      local rows = s:query(m.User, a1):join(a1, m.User.id:eq(a1.user_id)):filter(a1.email:eq("a2_2")):all()
      assert.equal(1, #rows)
      assert.equal("u002", rows[1][1].name)
      assert.equal("a2_2", rows[1][2].email)
      assert.equal(rows[1][1], rows[1][2].user)               -- an Address like any other
    end)
  end)

  it("rejects what is not a model", function()
    local ok, err = pcall(orm.aliased, {})
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
  end)
end)

describe("Relationship EXISTS filters", function()
  before_each(fx.open)
  after_each(fx.close)

  it("filters with any() on a collection and has() on a many-to-one", function()
    seed(4, 1)
    with_session(function(s)
      local m = fx.models
      local got = s:query(m.User):filter(m.User.addresses:any(m.Address.email:eq("a2_1"))):all()
      assert.equal(1, #got)
      assert.equal("u002", got[1].name)
      assert.equal(4, s:query(m.User):filter(m.User.addresses:any()):count())
      assert.equal(0, s:query(m.User):filter(ath.not_(m.User.posts:any())):count())
      assert.equal(1, s:query(m.Address):filter(m.Address.user:has(m.User.name:eq("u003"))):count())
      local ok, err = pcall(function() return m.User.addresses:has() end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
    end)
  end)
end)
