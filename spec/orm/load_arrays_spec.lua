-- The loader's arrays (csrc/lua/l_orm.c, lua/athanor/orm/state.lua): a big
-- load keeps its objects and loaded values in arrays of at most 16,000
-- slots (LuaJIT maps a bigger block fresh from the system at every load),
-- and the slots of a session's first load of a model with a one-column key
-- are written only when something asks for one. These specs show the
-- objects behave as every loaded object does all the same.
local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")
local state = require("athanor.orm.state")

local fx = fixtures.new(function(Base)
  return {
    Item = Base:model("Item", {
      __tablename = "la_items",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String(20)),
      qty = ath.Column(ath.Integer),
    }),
    Pair = Base:model("Pair", {
      __tablename = "la_pairs",
      a = ath.Column(ath.Integer, { primary_key = true }),
      b = ath.Column(ath.String(10), { primary_key = true }),
      v = ath.Column(ath.String(10)),
    }),
  }
end)

local PIECE_SLOTS = 16000

local full_gc = fixtures.full_gc

local function fill(n)
  fx.engine:begin(function(c)
    local items = {}
    for i = 1, n do items[i] = { id = i, name = "i" .. i, qty = (i % 7 == 0) and ath.null or i } end
    c:execute(ath.insert(fx.models.Item.__table__), items)
    local pairs_ = {}
    for i = 1, math.min(n, 20) do pairs_[i] = { a = i, b = "k" .. i, v = "v" .. i } end
    c:execute(ath.insert(fx.models.Pair.__table__), pairs_)
  end)
end

local function store_of(session, model)
  return session._state_classes[model.__mapper__]._pair.store
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- the highest index holding a value (a chunk may end in NULLs)
local function top_index(t)
  local top = 0
  for k in pairs(t) do if k > top then top = k end end
  return top
end

local function by_id(objs)
  local out = {}
  for _, o in ipairs(objs) do out[o.id] = o end
  return out
end

describe("the loader's arrays", function()
  before_each(fx.open)
  after_each(fx.close)

  it("keep a load of 20,000 objects in arrays of at most 16,000 slots", function()
    local N = 20000
    fill(N)
    local s = fx.session
    local items = s:query(fx.models.Item):all()
    assert.equal(N, #items)
    local held = 0
    for _, batch in ipairs(s._strong) do
      assert.is_true(#batch <= PIECE_SLOTS, "a held array of " .. #batch)
      held = held + #batch
    end
    assert.equal(N, held)
    local store = store_of(s, fx.models.Item)
    assert.is_true(#store.chunks > 1)
    for _, chunk in ipairs(store.chunks) do
      assert.is_true(top_index(chunk) <= PIECE_SLOTS, "a chunk of " .. top_index(chunk))
    end
    local byid = by_id(items)
    for _, id in ipairs({ 1, 7, 5333, 5334, 16000, 16001, N }) do
      local st = state.get(byid[id])
      local qty = id
      if id % 7 == 0 then qty = nil end                     -- NULL
      assert.same({ id, "i" .. id, qty }, { st[1], st[2], st[3] })
    end
  end)

  it("write the slots of a first load when a state is asked for, and compare the objects at flush", function()
    local N = 3000
    fill(N)
    local s = fx.session
    local items = by_id(s:query(fx.models.Item):all())
    local store = store_of(s, fx.models.Item)
    assert.is_nil(next(store.slot_of))                      -- nothing written at load
    assert.equal(N, count(s._identity[fx.models.Item.__mapper__]))
    local info = orm.inspect(items[2500])
    assert.equal("persistent", info.state)
    assert.same({ 2500 }, info.identity)
    assert.equal(N, count(store.slot_of))                   -- every row's slot, once asked
    assert.same({ 2500, "i2500", 2500 }, { state.get(items[2500])[1], state.get(items[2500])[2], state.get(items[2500])[3] })
    items[2999].qty = 1
    fx.reset_sql()
    s:flush()
    local updates = fx.statements("UPDATE")
    assert.equal(1, #updates)
    assert.is_nil(updates[1]:find("name", 1, true))
  end)

  it("write the slots of only the store whose object is asked for", function()
    fill(300)
    local Item = fx.models.Item
    local s = fx.session
    local obj = s:query(Item):all()[5]
    local first = store_of(s, Item)
    local other = fx.Session()
    other:query(Item):all()                                 -- a newer store, looked at first
    local second = store_of(other, Item)
    assert.are_not.equal(first, second)
    assert.equal("persistent", orm.inspect(obj).state)
    assert.equal(300, count(first.slot_of))
    assert.is_nil(next(second.slot_of), "the other session's store left as it was")
    other:close()
  end)

  it("write the slots of a first load at the flush that compares its objects", function()
    fill(50)
    local s = fx.session
    local items = by_id(s:query(fx.models.Item):all())
    items[14].qty = 140                                     -- was NULL
    items[20].name = "twenty"
    s:commit()
    local other = fx.Session()
    assert.equal(140, other:get(fx.models.Item, 14).qty)
    assert.equal("twenty", other:get(fx.models.Item, 20).name)
    assert.equal("i21", other:get(fx.models.Item, 21).name)
    other:close()
  end)

  it("write the first load's slots before a second load, which writes a reloaded row in place", function()
    fill(100)
    local s = fx.session
    local Item = fx.models.Item
    s:query(Item):all()
    local store = store_of(s, Item)
    local chunks = #store.chunks
    s:commit()                                              -- clean: nothing holds them now
    full_gc()
    assert.is_nil(next(s._identity[Item.__mapper__]))
    fx.engine:begin(function(c)
      c:execute(ath.update(Item.__table__):where(Item.__table__.c.id:eq(30)):values({ name = "thirty" }))
    end)
    local again = by_id(s:query(Item):all())
    assert.equal(store, store_of(s, Item))
    assert.equal(chunks, #store.chunks, "the rows written again in their slots")
    assert.equal(100, count(store.slot_of))
    assert.equal("thirty", again[30].name)
    assert.equal("thirty", state.get(again[30])[2])
    assert.is_false(s:is_modified(again[30]))
    fx.reset_sql()
    s:flush()
    assert.equal(0, #fx.statements("UPDATE"))
  end)

  it("write the slots of a composite key's load at once", function()
    fill(10)
    local s = fx.session
    local pairs_ = s:query(fx.models.Pair):all()
    assert.equal(10, #pairs_)
    local store = store_of(s, fx.models.Pair)
    assert.is_nil(store.unindexed)
    assert.equal(10, count(store.slot_of))
    assert.same({ 2, "k2" }, orm.inspect(s:get(fx.models.Pair, { 2, "k2" })).identity)
  end)

  it("let the clean objects of a first load be collected and their entries freed", function()
    fill(400)
    local s = fx.session
    local Item = fx.models.Item
    local weak = setmetatable({}, { __mode = "v" })
    for i, o in ipairs(s:query(Item):all()) do weak[i] = o end
    s:commit()
    full_gc()
    assert.is_nil(next(weak))
    assert.is_nil(next(s._identity[Item.__mapper__]))
  end)
end)
