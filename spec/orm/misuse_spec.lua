local ath = require("athanor")
local orm = require("athanor.orm")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    User = Base:model("User", {
      __tablename = "mis_users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
    }),
  }
end)

-- The error of fn(...), which must fail.
local function catch(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("ORM misuse", function()
  before_each(fx.open)
  after_each(fx.close)

  it("names the model and the key of an unknown attribute (constructor, filter_by, bulk update)", function()
    local User, s = fx.models.User, fx.session
    for _, fn in ipairs({
      function() return User{ nmae = "x" } end,
      function() return s:query(User):filter_by({ nmae = "x" }) end,
      function() return s:query(User):update({ nmae = "x" }) end,
      function() return s:execute(ath.insert(User), { { nmae = "x" } }) end,
      function() return orm.validates(User, "nmae", function(_, _, v) return v end) end,
    }) do
      local err = catch(fn)
      assert.is_true(errors.is(err, "ArgumentError"))
      assert.matches("User has no attribute 'nmae'", tostring(err), 1, true)
    end
    assert.equal(0, fx.count("mis_users"))
  end)

  it("raises DetachedInstanceError for an expired attribute of a detached object", function()
    local User, s = fx.models.User, fx.session
    local u = User{ name = "d" }
    s:add(u)
    s:commit()                                    -- expired on commit
    s:expunge(u)
    assert.equal("detached", orm.inspect(u).state)
    local err = catch(function() return u.name end)
    assert.is_true(errors.is(err, "DetachedInstanceError"))
    assert.matches("'name'", tostring(err), 1, true)
    assert.matches("<User id=", tostring(err), 1, true)
    assert.equal(u.id, rawget(u, "id"))           -- the key itself stays readable
  end)

  it("refuses to add an object that belongs to another session", function()
    local User, s = fx.models.User, fx.session
    local other = fx.Session()
    local u = User{ name = "x" }
    other:add(u)
    local err = catch(s.add, s, u)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("already attached to another Session", tostring(err), 1, true)
    other:close()
    s:add(u)                                      -- free again after close (expunged)
    s:commit()
    assert.equal(1, fx.count("mis_users"))
  end)

  it("refuses to attach a second object with an identity already in the session", function()
    local User, s = fx.models.User, fx.session
    s:add(User{ id = 1, name = "a" })
    s:commit()
    local a = s:get(User, 1)
    local other = fx.Session()
    local copy = other:get(User, 1)
    other:expunge(copy)
    other:close()
    local err = catch(s.add, s, copy)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("same identity", tostring(err), 1, true)
    assert.equal(a, s:get(User, 1))
  end)

  it("raises ObjectDeletedError when an expired object's row is gone", function()
    local User, s = fx.models.User, fx.session
    local u = User{ name = "gone" }
    s:add(u)
    s:commit()
    fx.engine:connect(function(c) c:execute(ath.delete(User)) end)
    local err = catch(function() return u.name end)
    assert.is_true(errors.is(err, "ObjectDeletedError"))
  end)

  it("refuses non-mapped objects and deleting what was never persisted", function()
    local User, s = fx.models.User, fx.session
    local err = catch(s.add, s, { name = "plain" })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("mapped object", tostring(err), 1, true)
    err = catch(s.delete, s, User{ name = "new" })
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("not persisted", tostring(err), 1, true)
    err = catch(s.expunge, s, User{ name = "new" })
    assert.is_true(errors.is(err, "InvalidRequestError"))
  end)

  it("refuses a model without a primary key or __tablename", function()
    local Base = orm.declarative_base()
    local err = catch(Base.model, Base, "NoKey", { __tablename = "nokey", x = ath.Column(ath.Integer) })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("no primary key", tostring(err), 1, true)
    err = catch(Base.model, Base, "NoTable", { id = ath.Column(ath.Integer, { primary_key = true }) })
    assert.matches("__tablename", tostring(err), 1, true)
    err = catch(Base.model, Base, "Bad", { __tablename = "bad", id = ath.Column(ath.Integer, { primary_key = true }), x = 5 })
    assert.matches("field 'x'", tostring(err), 1, true)
  end)

  it("needs a bound engine to run anything", function()
    local s = orm.Session()
    local err = catch(s.query(s, fx.models.User).all, s:query(fx.models.User))
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("not bound", tostring(err), 1, true)
  end)
end)
