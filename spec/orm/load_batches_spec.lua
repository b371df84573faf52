-- The loader holds the objects of each loaded batch in an array of its own
-- (appended to the session's strong array) until the next flush: a change
-- made to an object the caller then dropped, or removed from the array the
-- query returned, is still written; after the flush the clean objects go.
local ath = require("athanor")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "lb_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.Text),
    }),
  }
end)

local ROWS = 40

local full_gc = fixtures.full_gc

local function entries(s)
  local n = 0
  for _ in pairs(s._identity[fx.models.Item.__mapper__] or {}) do n = n + 1 end
  return n
end

describe("Loaded batches", function()
  before_each(function()
    fx.open()
    local rows = {}
    for i = 1, ROWS do rows[i] = { id = i, name = "n" .. i } end
    fx.engine:begin(function(conn) conn:execute(ath.insert(fx.models.Item.__table__), rows) end)
  end)
  after_each(fx.close)

  it("keep a changed object the caller removed from the returned array until the flush writes it", function()
    local Item, s = fx.models.Item, fx.session
    local objs = s:query(Item):order_by(Item.id):all()
    assert.equal(ROWS, #objs)
    for i = 10, 12 do objs[i].name = "changed " .. i end
    -- the caller edits its own array: the session's hold is not this array
    for i = ROWS, 1, -1 do objs[i] = nil end
    objs = nil                                      -- luacheck: ignore 311
    full_gc()
    s:commit()
    local check = fx.Session()
    for i = 10, 12 do assert.equal("changed " .. i, check:get(Item, i).name) end
    assert.equal("n9", check:get(Item, 9).name)
    check:close()
  end)

  it("hold every batch of a session, then let the clean objects of all of them go after the flush", function()
    local Item, s = fx.models.Item, fx.session
    s.autoflush = false                             -- (a flush lets go of what was loaded before it)
    local first = s:query(Item):filter(Item.id:le(20)):all()
    local second = s:query(Item):filter(Item.id:gt(20)):all()
    assert.equal(20, #first)
    assert.equal(20, #second)
    first[3].name, second[7].name = "a", "b"
    first, second = nil, nil                        -- luacheck: ignore 311
    full_gc()
    assert.equal(ROWS, entries(s))                  -- all held until the flush
    s:flush()
    full_gc()
    assert.equal(0, entries(s))                     -- clean after the flush: nothing holds them
    s:commit()
    local check = fx.Session()
    assert.equal("a", check:get(Item, 3).name)
    assert.equal("b", check:get(Item, 27).name)
    check:close()
  end)

  it("hold an object found again by a later load as well as the new ones", function()
    local Item, s = fx.models.Item, fx.session
    local one = s:get(Item, 5)
    local all = s:query(Item):all()
    local found
    for _, o in ipairs(all) do if o.id == 5 then found = o end end
    assert.equal(one, found)
    found.name = "again"
    one, all, found = nil, nil, nil                 -- luacheck: ignore 311
    full_gc()
    s:commit()
    local check = fx.Session()
    assert.equal("again", check:get(Item, 5).name)
    check:close()
  end)
end)
