-- Loader options (API.md §8) outside query():all(): q:iter() and the 2.0
-- style session:execute(ath.select(User):options(...)) / session:scalars(),
-- counted with the engine's before_cursor_execute event and read through a
-- fresh session.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return fixtures.blog_models(Base, "ro", { addresses = { order_by = "Address.id" } })
end)

local count, with_session, seed = fx.statements_run, fx.with_session, fx.seed_blog

-- Every user's addresses and posts' comments, read without more statements.
local function check_loaded(users, n, per)
  assert.equal(n, #users)
  for _, u in ipairs(users) do
    assert.equal(per, #u.addresses)
    for j, a in ipairs(u.addresses) do assert.equal("a" .. u.name:sub(2) + 0 .. "_" .. j, a.email) end
  end
end

describe("Loader options outside query():all()", function()
  before_each(fx.open)
  after_each(fx.close)

  it("q:iter() with selectinload runs one IN query per batch of 100", function()
    seed(150, 2)
    with_session(function(s)
      local users = {}
      local n = count(function()
        for u in s:query(fx.models.User):options(orm.selectinload(fx.models.User.addresses)):order_by(fx.models.User.id):iter() do
          users[#users + 1] = u
        end
        check_loaded(users, 150, 2)
      end)
      assert.equal(3, n)   -- the users, and one IN query for each of the two batches
    end)
  end)

  it("q:iter() with joinedload runs one statement", function()
    seed(20, 3)
    with_session(function(s)
      local users = {}
      local n = count(function()
        for u in s:query(fx.models.User):options(orm.joinedload(fx.models.User.addresses)):order_by(fx.models.User.id):iter() do
          users[#users + 1] = u
        end
        check_loaded(users, 20, 3)
      end)
      assert.equal(1, n)
    end)
  end)

  it("q:iter() with chained selectinload loads three levels in three statements", function()
    seed(10, 1)
    with_session(function(s)
      local m = fx.models
      local n = count(function()
        local seen = 0
        for u in s:query(m.User):options(orm.selectinload(m.User.posts):selectinload(m.Post.comments)):iter() do
          assert.equal(1, #u.posts)
          assert.equal(2, #u.posts[1].comments)
          seen = seen + 1
        end
        assert.equal(10, seen)
      end)
      assert.equal(3, n)
    end)
  end)

  it("q:iter() with raiseload('*') raises on the first lazy access", function()
    seed(2, 1)
    with_session(function(s)
      local it = s:query(fx.models.User):options(orm.raiseload("*")):iter()
      local u = it()
      local ok, err = pcall(function() return u.addresses end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.matches("addresses", tostring(err))
    end)
  end)

  it("session:scalars(select(User):options(selectinload)) loads in two statements", function()
    seed(100, 2)
    with_session(function(s)
      local m = fx.models
      local n = count(function()
        local users = s:scalars(ath.select(m.User):options(orm.selectinload(m.User.addresses)):order_by(m.User.id)):all()
        check_loaded(users, 100, 2)
      end)
      assert.equal(2, n)
    end)
  end)

  it("session:execute(select(User):options(...)) rows carry loaded objects, options survive where()", function()
    seed(5, 2)
    with_session(function(s)
      local m = fx.models
      local stmt = ath.select(m.User):options(orm.selectinload(m.User.posts):selectinload(m.Post.comments))
      stmt = stmt:where(m.User.id:le(3)):order_by(m.User.id)
      local n = count(function()
        local rows = s:execute(stmt):all()
        assert.equal(3, #rows)
        for _, row in ipairs(rows) do
          assert.equal(1, #row[1].posts)
          assert.equal(2, #row.User.posts[1].comments)
        end
      end)
      assert.equal(3, n)
    end)
  end)

  it("session:scalars(select(User):options(joinedload)) loads the collections eagerly", function()
    seed(10, 2)
    with_session(function(s)
      local m = fx.models
      local n = count(function()
        local users = s:scalars(ath.select(m.User):options(orm.joinedload(m.User.addresses))):all()
        check_loaded(users, 10, 2)
      end)
      assert.equal(2, n)   -- (as selectinload: the select is not rewritten with a join)
    end)
  end)

  it("session:scalars(select(User):options(raiseload('*'))) raises on lazy access", function()
    seed(1, 1)
    with_session(function(s)
      local u = s:scalars(ath.select(fx.models.User):options(orm.raiseload("*"))):first()
      local ok, err = pcall(function() return u.addresses end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.matches("addresses", tostring(err))
    end)
  end)

  it("select():options() rejects what is not a relationship loader option", function()
    local ok, err = pcall(function() return ath.select(fx.models.User):options(orm.defer("name")) end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("not a relationship loader option", tostring(err))
  end)
end)
