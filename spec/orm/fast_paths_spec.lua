-- The ORM's fast paths (constructor copy, add_all inline, compiled INSERT
-- rows grouped by shape, the loader's strong array and NULL keys) keep the
-- behaviour of the general paths they stand beside.
local ath = require("athanor")
local orm = require("athanor.orm")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")
local state = require("athanor.orm.state")

local fx = fixtures.new(function(Base)
  local m = {}
  m.Item = Base:model("Item", {
    __tablename = "fp_items",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    qty = ath.Column(ath.Integer, { server_default = ath.text("7") }),
    tag = ath.Column(ath.String(20), { default = "plain" }),
    note = ath.Column(ath.String(20), { default = function() return ath.null end }),
  })
  -- attribute and column names a compiled row builder must quote
  m.Odd = Base:model("Odd", {
    __tablename = "fp_odd",
    id = ath.Column(ath.Integer, { primary_key = true }),
    ["it's \"odd\"\n"] = ath.Column("weird col", ath.String(20)),
  })
  m.Box = Base:model("Box", {
    __tablename = "fp_boxes",
    id = ath.Column(ath.Integer, { primary_key = true }),
    item_id = ath.Column(ath.Integer),
  })
  return m
end)

describe("the ORM's fast paths", function()
  before_each(fx.open)
  after_each(fx.close)

  it("copies the constructor's fields: the table given stays the caller's", function()
    local Item = fx.models.Item
    local fields = { id = 1, name = "a" }
    local a = Item(fields)
    local b = Item(fields)
    assert.are_not.equal(a, b)
    assert.are_not.equal(fields, a)
    fields.name = "changed"
    assert.equal("a", a.name)
    assert.equal("a", b.name)
  end)

  it("keeps ath.null, validators and unknown keys on the constructor's general path", function()
    local Item = fx.models.Item
    local it = Item{ id = 1, name = ath.null }
    assert.is_nil(rawget(it, "name"))
    local ok, err = pcall(Item, { id = 1, nope = 2 })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("nope", tostring(err), 1, true)
    orm.validates(Item, "name", function(_, _, v) return v:upper() end)
    assert.equal("BOB", Item{ name = "bob" }.name)
  end)

  it("runs a validator added after construction on the attributes set, at flush", function()
    local Item, s = fx.models.Item, fx.session
    local it = Item{ id = 1, name = "late" }
    orm.validates(Item, "name", function(_, _, v) return v .. "!" end)
    s:add(it)
    s:flush()
    assert.equal("late!", it.name)
  end)

  it("makes every object of add_all pending, and still refuses one of another session", function()
    local Item, s = fx.models.Item, fx.session
    local objs = {}
    for i = 1, 5 do objs[i] = Item{ id = i, name = "n" .. i } end
    s:add_all(objs)
    s:add_all(objs)                                  -- twice: still once each
    assert.equal(5, #s.new)
    for _, o in ipairs(objs) do assert.equal("pending", orm.inspect(o).state) end
    local other = fx.Session()
    local ok, err = pcall(other.add_all, other, { objs[1] })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("another Session", tostring(err), 1, true)
    assert.equal(0, #other.new)
    other:close()
  end)

  it("inserts objects of two shapes in one batch per shape, each with its own columns", function()
    local Item, s = fx.models.Item, fx.session
    local objs = {}
    for i = 1, 10 do
      -- even ones give qty, odd ones leave it to the server default
      objs[i] = Item{ id = i, name = "n" .. i, qty = (i % 2 == 0) and i or nil }
    end
    s:add_all(objs)
    fx.reset_sql()
    s:flush()
    local inserts = fx.statements("INSERT")
    assert.equal(2, #inserts)
    s:commit()
    local rows = fx.engine:connect(function(c)
      return c:execute(ath.text("SELECT id, qty, tag, note FROM fp_items ORDER BY id")):all()
    end)
    assert.equal(10, #rows)
    for i, r in ipairs(rows) do
      assert.equal((i % 2 == 0) and i or 7, r.qty)
      assert.equal("plain", r.tag)                 -- the Lua default
      assert.is_nil(r.note)                        -- a default of ath.null: NULL
    end
    assert.equal("plain", objs[1].tag)
  end)

  it("undoes the Lua defaults it set when the flush fails", function()
    local Item, s = fx.models.Item, fx.session
    s:add(Item{ id = 1, name = "first" })
    s:commit()
    local dup = Item{ id = 1, name = "dup" }
    s:add(dup)
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "IntegrityError"))
    assert.is_nil(rawget(dup, "tag"))
    s:rollback()
  end)

  it("quotes any attribute and column name in the compiled row and constructor", function()
    local Odd, s = fx.models.Odd, fx.session
    local key = "it's \"odd\"\n"
    s:add(Odd{ id = 1, [key] = "v" })
    s:commit()
    local other = fx.Session()
    assert.equal("v", other:get(Odd, 1)[key])
    other:close()
  end)

  it("holds loaded objects until the flush, then lets a clean one go", function()
    local Item, s = fx.models.Item, fx.session
    for i = 1, 3 do s:add(Item{ id = i, name = "n" .. i }) end
    s:commit()
    local objs = s:query(Item):all()
    assert.equal(3, #objs)
    objs[2].name = "changed"
    objs = nil                                      -- luacheck: ignore
    collectgarbage("collect")
    collectgarbage("collect")
    s:commit()                                      -- the change survived being dropped
    local check = fx.Session()
    assert.equal("changed", check:get(Item, 2).name)
    check:close()
    collectgarbage("collect")
    collectgarbage("collect")
    local left = 0
    for _ in pairs(s._identity[require("athanor.orm.mapper").mapper_of(Item)] or {}) do left = left + 1 end
    assert.equal(0, left)
  end)

  it("loads nil for the missing side of an outer join, and the objects after it", function()
    local Item, Box, s = fx.models.Item, fx.models.Box, fx.session
    s:add_all({ Item{ id = 1, name = "a" }, Box{ id = 1, item_id = 2 }, Box{ id = 2, item_id = 1 } })
    s:commit()
    local rows = s:query(Box, Item):outerjoin(Item, Item.id:eq(Box.item_id)):order_by(Box.id):all()
    assert.equal(2, #rows)
    assert.is_nil(rows[1].Item)
    assert.equal("a", rows[2].Item.name)
    local items = s:execute(ath.select(Item):select_from(Box.__table__)
      :outerjoin(Item.__table__, Item.id:eq(Box.item_id)):order_by(Box.id)):scalars():all()
    assert.is_nil(items[1])
    assert.equal("a", items[2].name)
    assert.equal("persistent", state.status_name(state.get(items[2])))
  end)

  it("flushes pending objects before a get that misses, so it finds them", function()
    local Item, s = fx.models.Item, fx.session
    local it = Item{ id = 5, name = "new" }
    s:add(it)
    assert.equal(it, s:get(Item, 5))
    assert.equal("persistent", orm.inspect(it).state)
  end)

  it("leaves a loaded object's assignments to the flush when a get misses (no UPDATE, no scan)", function()
    local Item, s = fx.models.Item, fx.session
    s:add_all({ Item{ id = 1, name = "a" }, Item{ id = 2, name = "b" } })
    s:commit()
    s:expunge_all()                                 -- (so that the get of 2 misses)
    local a = s:get(Item, 1)
    a.name = "changed"
    fx.reset_sql()
    local b = s:get(Item, 2)
    assert.equal("b", b.name)
    assert.equal(0, #fx.statements("UPDATE"))
    s:commit()
    assert.equal(1, #fx.statements("UPDATE"))
    local check = fx.Session()
    assert.equal("changed", check:get(Item, 1).name)
    check:close()
  end)

  it("answers a get after a deleted object's flush with nil", function()
    local Item, s = fx.models.Item, fx.session
    s:add(Item{ id = 1, name = "a" })
    s:commit()
    local other = fx.Session()
    other:delete(other:get(Item, 1))
    other:commit()
    other:close()
    s:expunge_all()
    assert.is_nil(s:get(Item, 1))
  end)
end)
