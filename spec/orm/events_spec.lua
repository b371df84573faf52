local ath = require("athanor")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    User = Base:model("User", {
      __tablename = "ev_users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
      slug = ath.Column(ath.String(50)),
    }),
  }
end)

describe("ORM events", function()
  before_each(fx.open)
  after_each(fx.close)

  it("fire the session events in order, on the session and on its sessionmaker", function()
    local User, s = fx.models.User, fx.session
    local log = {}
    for _, name in ipairs({ "before_flush", "after_flush", "after_commit", "after_rollback" }) do
      ath.event.listen(s, name, function(sess) assert.equal(s, sess); log[#log + 1] = name end)
    end
    ath.event.listen(fx.Session, "after_commit", function() log[#log + 1] = "maker after_commit" end)
    s:add(User{ name = "a" })
    s:commit()
    s:rollback()
    assert.same({ "before_flush", "after_flush", "maker after_commit", "after_commit", "after_rollback" }, log)
  end)

  it("let before_flush add objects to the same flush", function()
    local User, s = fx.models.User, fx.session
    ath.event.listen(s, "before_flush", function(sess)
      if #sess.new == 1 then sess:add(User{ name = "audit" }) end
    end)
    s:add(User{ name = "a" })
    s:commit()
    assert.equal(2, fx.count("ev_users"))
  end)

  it("fire the mapper events around each INSERT, UPDATE and DELETE, with the model, connection and object", function()
    local User, s = fx.models.User, fx.session
    local log = {}
    for _, name in ipairs({ "before_insert", "after_insert", "before_update", "after_update",
                            "before_delete", "after_delete" }) do
      ath.event.listen(User, name, function(model, conn, obj)
        assert.equal(User, model)
        assert.is_not_nil(conn)
        log[#log + 1] = name .. ":" .. tostring(obj.name) .. (name == "after_insert" and (":" .. tostring(obj.id)) or "")
      end)
    end
    local u = User{ name = "a" }
    s:add(u)
    s:commit()
    u.name = "b"
    s:commit()
    s:delete(u)
    s:commit()
    assert.same({ "before_insert:a", "after_insert:a:1", "before_update:b", "after_update:b",
                  "before_delete:b", "after_delete:b" }, log)
  end)

  it("let before_insert and before_update set columns that are written", function()
    local User, s = fx.models.User, fx.session
    local function slug(_, _, obj) obj.slug = obj.name:lower() end
    ath.event.listen(User, "before_insert", slug)
    ath.event.listen(User, "before_update", slug)
    local u = User{ name = "Hello" }
    s:add(u)
    s:commit()
    assert.equal("hello", u.slug)
    u.name = "Again"
    s:commit()
    assert.equal("again", s:query(User.slug):scalar())
  end)

  it("fire load once per object made from a row", function()
    local User, s = fx.models.User, fx.session
    s:add_all({ User{ name = "a" }, User{ name = "b" } })
    s:commit()
    s:close()
    local loaded = {}
    ath.event.listen(User, "load", function(obj) loaded[#loaded + 1] = obj.name end)
    s:query(User):order_by(User.name):all()
    s:query(User):order_by(User.name):all()            -- already in the identity map
    assert.same({ "a", "b" }, loaded)
  end)

  it("abort the flush when a mapper listener raises", function()
    local User, s = fx.models.User, fx.session
    ath.event.listen(User, "before_insert", function() errors.raise("ArgumentError", 2, "refused by listener") end)
    s:add(User{ name = "x" })
    local ok, err = pcall(s.commit, s)
    assert.is_false(ok)
    assert.matches("refused by listener", tostring(err), 1, true)
    s:rollback()
    assert.equal(0, fx.count("ev_users"))
  end)

  it("refuses an unknown session or mapper event name", function()
    local ok, err = pcall(ath.event.listen, fx.session, "before_commitx", function() end)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    ok, err = pcall(ath.event.listen, fx.models.User, "after_flush", function() end)
    assert.is_false(ok)
    assert.matches("no event 'after_flush' on a mapper", tostring(err), 1, true)
  end)
end)
