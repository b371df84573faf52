-- Presized identity maps (lua/athanor/orm/loading.lua, presize_identity):
-- a fresh session's first big load of a model with dense integer keys
-- replaces the empty identity map with one sized for the batch. These specs
-- show the replaced map is the session's map from then on (found by get
-- without SQL, by the next query, by flush), that sparse keys, string keys
-- and a map with objects in it keep the map they had, and that a key met
-- twice in a fresh load (whose slot lookups l_orm.c skips) is one object.
local ath = require("athanor")
local core = require("athanor.core")
local errors = require("athanor.errors")
local fixtures = require("spec.orm.fixtures")
local loading = require("athanor.orm.loading")
local state = require("athanor.orm.state")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "pm_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      label = ath.Column(ath.String(20)),
    }),
    Tag = Base:model("Tag", {
      __tablename = "pm_tags",
      code = ath.Column(ath.String(20), { primary_key = true }),
      label = ath.Column(ath.String(20)),
    }),
  }
end)

local ROWS = 300                     -- over loading.lua's PRESIZE_MIN (256)

local function fill(first_id)
  fx.engine:begin(function(c)
    local items, tags = {}, {}
    for i = 1, ROWS do
      items[i] = { id = first_id + i - 1, label = "i" .. i }
      tags[i] = { code = "c" .. i, label = "t" .. i }
    end
    c:execute(ath.insert(fx.models.Item.__table__), items)
    c:execute(ath.insert(fx.models.Tag.__table__), tags)
  end)
end

local function ordered(q, col) return q:order_by(col):all() end

local function map_of(session, model) return loading.identity_map(session, model.__mapper__) end

describe("presized identity maps", function()
  before_each(fx.open)
  after_each(fx.close)

  it("replace a fresh session's empty map on a big load of dense keys, and the new map serves get, queries and flush", function()
    fill(1)
    local s, Item = fx.session, fx.models.Item
    local before = map_of(s, Item)
    local items = ordered(s:query(Item), Item.id)
    assert.equal(ROWS, #items)
    local map = map_of(s, Item)
    assert.are_not.equal(before, map)                      -- replaced: presized
    for i = 1, ROWS do assert.equal(items[i], map[i]) end
    assert.equal(0, fx.statements_run(function()
      assert.equal(items[7], s:get(Item, 7))               -- from the map, no SQL
    end))
    local again = ordered(s:query(Item), Item.id)
    for i = 1, ROWS do assert.equal(items[i], again[i]) end
    assert.equal(map, map_of(s, Item))       -- not empty: kept
    items[9].label = "changed"
    fx.reset_sql()
    s:flush()
    assert.equal(1, #fx.statements("UPDATE"))
    s:commit()
    fx.with_session(function(other) assert.equal("changed", other:get(Item, 9).label) end)
  end)

  it("keep the map for keys beyond twice the batch, and load them all the same", function()
    fill(10000)
    local s, Item = fx.session, fx.models.Item
    local before = map_of(s, Item)
    local items = ordered(s:query(Item), Item.id)
    assert.equal(ROWS, #items)
    assert.equal(before, map_of(s, Item))
    assert.equal(0, fx.statements_run(function() assert.equal(items[1], s:get(Item, 10000)) end))
  end)

  it("keep the map for string keys", function()
    fill(1)
    local s, Tag = fx.session, fx.models.Tag
    local before = map_of(s, Tag)
    local tags = s:query(Tag):all()
    assert.equal(ROWS, #tags)
    assert.equal(before, map_of(s, Tag))
    assert.equal(0, fx.statements_run(function() assert.equal("t5", s:get(Tag, "c5").label) end))
  end)

  it("keep a map that holds objects already, and find them in the next big load", function()
    fill(1)
    local s, Item = fx.session, fx.models.Item
    local first = s:get(Item, 5)
    local map = map_of(s, Item)
    local items = ordered(s:query(Item), Item.id)
    assert.equal(map, map_of(s, Item))
    assert.equal(first, items[5])
  end)

  it("give each row of a fresh load's repeated key the one object, compared at flush with what was loaded", function()
    fill(1)
    local s, Item, Tag = fx.session, fx.models.Item, fx.models.Tag
    -- every item twice (with tags c1 and c2): 600 rows, a fresh session
    local rows = s:query(Item, Tag):filter(Tag.code:in_({ "c1", "c2" })):order_by(Item.id, Tag.code):all()
    assert.equal(2 * ROWS, #rows)
    for r = 1, #rows, 2 do
      assert.equal(rows[r].Item, rows[r + 1].Item)
      assert.equal("c1", rows[r].Tag.code)
      assert.equal("c2", rows[r + 1].Tag.code)
    end
    local item = rows[11].Item
    assert.equal(6, item.id)
    assert.same({ 6, "i6" }, { state.get(item)[1], state.get(item)[2] })
    rows[21].Item.label = "changed"
    fx.reset_sql()
    s:flush()
    assert.equal(1, #fx.statements("UPDATE"))
  end)

  it("refuse a negative size with an ArgumentError", function()
    local ok, err = pcall(core.orm_new_table, -1)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("out of range", 1, true))
  end)
end)
