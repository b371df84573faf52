local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "idm_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(50)),
    }),
  }
end)

describe("ORM Lua idioms", function()
  before_each(fx.open)
  after_each(fx.close)

  it("give each coroutine its own session, interleaved, with nothing global", function()
    local Item = fx.models.Item
    local seen = {}
    local function worker(name)
      return coroutine.create(function()
        local s = fx.Session()
        s:add(Item{ name = name })
        coroutine.yield()
        s:commit()
        coroutine.yield()
        seen[name] = s:query(Item):filter_by({ name = name }):one()
        s:close()
      end)
    end
    local a, b = worker("a"), worker("b")
    for _ = 1, 3 do
      assert(coroutine.resume(a))
      assert(coroutine.resume(b))
    end
    assert.equal("a", seen.a.name)
    assert.equal("b", seen.b.name)
    assert.are_not.equal(seen.a, seen.b)
    assert.equal(2, fx.count("idm_items"))
  end)

  it("close a session held in a <close> variable at the end of its block (Lua 5.4)", function()
    if not h.lua54 then return end                        -- <close> is 5.4 syntax
    local chunk = assert(load([[
      local Session, Item = ...
      local held
      do
        local s <close> = Session()
        held = Item{ name = "x" }
        s:add(held)
      end
      return held
    ]]))
    local held = chunk(fx.Session, fx.models.Item)
    assert.equal("transient", orm.inspect(held).state)  -- closed: the pending object was expunged
    assert.equal(0, fx.count("idm_items"))
  end)
end)
