local ath = require("athanor")
local orm = require("athanor.orm")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    User = Base:model("User", {
      __tablename = "fail_users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50), { unique = true }),
      age = ath.Column(ath.Integer),
    }),
  }
end)

describe("A failed flush", function()
  local User, s
  before_each(function()
    fx.open()
    User, s = fx.models.User, fx.session
    s:add_all({ User{ name = "taken", age = 1 }, User{ name = "old", age = 2 } })
    s:commit()
  end)
  after_each(fx.close)

  -- 100 new objects, the 50th of which violates the unique constraint
  local function add_hundred()
    local objs = {}
    for i = 1, 100 do
      objs[i] = User{ name = i == 50 and "taken" or ("u" .. i), age = i }
    end
    s:add_all(objs)
    return objs
  end

  it("raises IntegrityError and leaves the database as it was", function()
    local old = s:query(User):filter_by({ name = "old" }):one()
    old.age = 99                                          -- an UPDATE in the same flush
    local objs = add_hundred()
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "IntegrityError"))
    assert.equal(2, fx.count("fail_users"))
    -- no object took a key it does not have in the database
    for _, o in ipairs(objs) do assert.is_nil(o.id) end
    assert.equal(2, fx.engine:connect(function(c)
      return c:execute(ath.select(User.age):where(User.name:eq("old"))):scalar()
    end))
  end)

  it("makes the session raise PendingRollbackError until rollback()", function()
    add_hundred()
    assert.is_false(pcall(s.commit, s))
    for _, use in ipairs({
      function() return s:query(User):all() end,
      function() return s:flush() end,
      function() return s:commit() end,
      function() return s:execute(ath.select(User)) end,
      function() return s:get(User, 12345) end,
    }) do
      local ok, err = pcall(use)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "PendingRollbackError"))
      assert.is_true(errors.is(err, "InvalidRequestError"))
      assert.matches("rollback", tostring(err), 1, true)
    end
    assert.equal(2, fx.count("fail_users"))
  end)

  it("after rollback() expunges pending objects, expires persistent ones, and works again", function()
    local old = s:query(User):filter_by({ name = "old" }):one()
    old.age = 99
    local objs = add_hundred()
    assert.is_false(pcall(s.commit, s))
    s:rollback()
    for _, o in ipairs(objs) do assert.equal("transient", orm.inspect(o).state) end
    assert.equal("persistent", orm.inspect(old).state)
    assert.equal(2, old.age)                               -- expired, read again: the committed value
    s:add(User{ name = "fresh", age = 3 })
    s:commit()
    assert.equal(3, fx.count("fail_users"))
  end)

  it("undoes objects inserted by an earlier flush of the same transaction on rollback", function()
    local early = User{ name = "early" }
    s:add(early)
    s:flush()
    assert.equal("persistent", orm.inspect(early).state)
    s:add(User{ name = "taken" })
    assert.is_false(pcall(s.flush, s))
    s:rollback()
    assert.equal("transient", orm.inspect(early).state)
    assert.equal(2, fx.count("fail_users"))
  end)

  it("restores objects deleted in the rolled-back transaction", function()
    local old = s:query(User):filter_by({ name = "old" }):one()
    s:delete(old)
    s:flush()
    assert.equal("deleted", orm.inspect(old).state)
    s:rollback()
    assert.equal("persistent", orm.inspect(old).state)
    assert.equal(old, s:query(User):filter_by({ name = "old" }):one())
  end)
end)
