-- A session its program drops without close() is collected with what it
-- loaded, however its objects were loaded (lazy and compact states hold
-- their session weakly: the mapper keeps the stores of loaded values, and
-- a strong session there kept every such session alive for good). Its
-- objects that the program still holds read as detached, as SQLAlchemy's
-- do once their session is gone, and can be added to another session.
local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "sr_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
      qty = ath.Column(ath.Integer),
    }),
  }
end)

local ROWS = 40

local full_gc = fixtures.full_gc

describe("A session dropped without close()", function()
  before_each(function()
    fx.open()
    fx.engine:begin(function(c)
      local rows = {}
      for i = 1, ROWS do rows[i] = { id = i, name = "item" .. i, qty = i } end
      c:execute(ath.insert(fx.models.Item.__table__), rows)
    end)
  end)
  after_each(fx.close)

  it("is collected with the values it loaded, load after load", function()
    local Item = fx.models.Item
    local alive = setmetatable({}, { __mode = "k" })
    for _ = 1, 30 do
      local s = fx.Session()
      assert.equal(ROWS, #s:query(Item):all())
      assert.equal(ROWS, #s:query(Item):all())              -- the second load is a lazy one
      s:commit()                                            -- (gives its connection back; not closed)
      alive[s] = true
    end
    full_gc()
    local left = 0
    for _ in pairs(alive) do left = left + 1 end
    assert.equal(0, left)
    local s = fx.Session()                                  -- a load looks at the mapper's stores
    s:query(Item):all()
    assert.is_true(#rawget(Item.__mapper__, "_stores") <= 2)
    s:close()
  end)

  it("leaves the objects the program holds detached, with their keys", function()
    local Item = fx.models.Item
    local kept
    do
      local s = fx.Session()
      s:query(Item):all()
      local items = s:query(Item):order_by(Item.id):all()
      kept = { items[3], items[30] }
      s:commit()
    end
    full_gc()
    for _, obj in ipairs(kept) do
      local info = orm.inspect(obj)
      assert.equal("detached", info.state)
      assert.same({ obj.id }, info.identity)
    end
    -- expired by its commit, as in a closed session
    local ok, err = pcall(function() return kept[1].name end)
    assert.is_false(ok)
    assert.is_true(ath.errors.is(err, "DetachedInstanceError"))
    -- it can join another session, which loads it and updates only what changed
    local s = fx.Session()
    s:add(kept[2])
    assert.equal("persistent", orm.inspect(kept[2]).state)
    assert.equal("item30", kept[2].name)
    kept[2].qty = 300
    fx.reset_sql()
    s:commit()
    local updates = fx.statements("UPDATE")
    assert.equal(1, #updates)
    assert.is_nil(updates[1]:find("name", 1, true))
    local other = fx.Session()
    assert.equal(300, other:get(Item, 30).qty)
    other:close()
    s:close()
  end)
end)
