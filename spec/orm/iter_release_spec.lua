-- q:iter() over many rows: the session lets go of the clean objects the
-- loop has moved past (memory stays at a batch), while a changed object the
-- loop dropped is still held and written at the next flush.
local ath = require("athanor")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "ir_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      n = ath.Column(ath.Integer),
    }),
  }
end)

local ROWS = 2000

describe("Query:iter over many rows", function()
  before_each(function()
    fx.open()
    local rows = {}
    for i = 1, ROWS do rows[i] = { id = i, n = i } end
    fx.engine:begin(function(conn) conn:execute(ath.insert(fx.models.Item.__table__), rows) end)
  end)
  after_each(fx.close)

  for _, per in ipairs({ false, 50 }) do
    local how = per and ("yield_per(" .. per .. ")") or "default batches"
    it("lets the objects it moved past be collected (" .. how .. ")", function()
      local s = fx.Session()
      local q = s:query(fx.models.Item):order_by(fx.models.Item.id)
      if per then q = q:yield_per(per) end
      local seen = setmetatable({}, { __mode = "k" })
      local count, sum = 0, 0
      for item in q:iter() do
        seen[item] = true
        count, sum = count + 1, sum + item.n
      end
      assert.equal(ROWS, count)
      assert.equal(ROWS * (ROWS + 1) / 2, sum)
      collectgarbage(); collectgarbage()
      local alive = 0
      for _ in pairs(seen) do alive = alive + 1 end
      -- at most the last batch is still held (the loop ended inside it)
      assert.is_true(alive <= 100, alive .. " of " .. ROWS .. " objects still alive")
      s:close()
    end)
  end

  it("still holds an object changed in the loop and then dropped, and writes it at commit", function()
    local s = fx.Session()
    for item in s:query(fx.models.Item):yield_per(50):iter() do
      if item.id == 7 then item.n = -7 end           -- changed, then no reference kept
    end
    collectgarbage(); collectgarbage()
    s:commit()
    s:close()
    fx.with_session(function(s2)
      assert.equal(-7, s2:get(fx.models.Item, 7).n)
      assert.equal(8, s2:get(fx.models.Item, 8).n)
    end)
  end)

  it("keeps objects loaded before the loop held as before", function()
    local s = fx.Session()
    local first = s:get(fx.models.Item, 1)
    first.n = 100
    for _ in s:query(fx.models.Item):yield_per(50):iter() do end
    first = nil                                      -- luacheck: ignore
    collectgarbage(); collectgarbage()
    s:commit()
    s:close()
    fx.with_session(function(s2) assert.equal(100, s2:get(fx.models.Item, 1).n) end)
  end)
end)
