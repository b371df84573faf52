-- Cascades (API.md §8): delete, delete-orphan, passive_deletes, and what
-- deleting a parent does without a delete cascade (its children's foreign
-- key becomes NULL). Read back through a fresh session.
local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.Order = Base:model("Order", {
    __tablename = "rc_orders",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    items = orm.relationship("Item", { back_populates = "order", cascade = "all, delete-orphan" }),
    notes = orm.relationship("Note"),                        -- default cascade: save-update, merge
  })
  m.Item = Base:model("Item", {
    __tablename = "rc_items",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    order_id = ath.Column(ath.Integer, ath.ForeignKey("rc_orders.id")),
    order = orm.relationship("Order", { back_populates = "items" }),
    parts = orm.relationship("Part", { cascade = "all" }),
  })
  m.Part = Base:model("Part", {
    __tablename = "rc_parts",
    id = ath.Column(ath.Integer, { primary_key = true }),
    item_id = ath.Column(ath.Integer, ath.ForeignKey("rc_items.id")),
  })
  m.Note = Base:model("Note", {
    __tablename = "rc_notes",
    id = ath.Column(ath.Integer, { primary_key = true }),
    body = ath.Column(ath.String(50)),
    order_id = ath.Column(ath.Integer, ath.ForeignKey("rc_orders.id")),
  })
  m.Folder = Base:model("Folder", {
    __tablename = "rc_folders",
    id = ath.Column(ath.Integer, { primary_key = true }),
    files = orm.relationship("File", { cascade = "all", passive_deletes = true }),
  })
  m.File = Base:model("File", {
    __tablename = "rc_files",
    id = ath.Column(ath.Integer, { primary_key = true }),
    folder_id = ath.Column(ath.Integer, ath.ForeignKey("rc_folders.id", { ondelete = "CASCADE" })),
  })
  return m
end)

-- { [note body] = order_id or false } as the database holds it.
local function note_owners()
  local out = {}
  local s = fx.Session()
  for _, n in ipairs(s:query(fx.models.Note):all()) do out[n.body] = n.order_id or false end
  s:close()
  return out
end

describe("Relationship cascades", function()
  before_each(fx.open)
  after_each(fx.close)

  it("deletes the children (and theirs) with the parent under cascade = 'all'", function()
    local m, s = fx.models, fx.session
    s:add(m.Order{ name = "o", items = { m.Item{ name = "a", parts = { m.Part{}, m.Part{} } }, m.Item{ name = "b" } } })
    s:add(m.Order{ name = "keep", items = { m.Item{ name = "c" } } })
    s:commit()
    assert.equal(3, fx.count("rc_items"))
    local o = s:query(m.Order):filter_by({ name = "o" }):one()
    s:delete(o)
    s:commit()
    assert.equal(1, fx.count("rc_orders"))
    assert.equal(1, fx.count("rc_items"))
    assert.equal(0, fx.count("rc_parts"))
    -- children first: the DELETEs ran parts, items, orders
    local dels = fx.statements("DELETE")
    assert.truthy(dels[1]:find("rc_parts", 1, true))
    assert.truthy(dels[#dels]:find("rc_orders", 1, true))
  end)

  it("deletes a child removed from its collection under delete-orphan", function()
    local m, s = fx.models, fx.session
    local o = m.Order{ name = "o", items = { m.Item{ name = "a" }, m.Item{ name = "b" } } }
    s:add(o)
    s:commit()
    local removed = table.remove(o.items, 1)
    s:commit()
    assert.equal(1, fx.count("rc_items"))
    assert.equal("detached", orm.inspect(removed).state)        -- deleted, then committed
    o.items = {}                                                -- replacing the array orphans the rest
    s:commit()
    assert.equal(0, fx.count("rc_items"))
    assert.equal(1, fx.count("rc_orders"))
  end)

  it("sets the children's foreign key to NULL when their parent is deleted without a delete cascade", function()
    local m, s = fx.models, fx.session
    s:add(m.Order{ name = "o", notes = { m.Note{ body = "x" }, m.Note{ body = "y" } } })
    s:add(m.Order{ name = "other", notes = { m.Note{ body = "z" } } })
    s:commit()
    local o = s:query(m.Order):filter_by({ name = "o" }):one()
    local other_id = s:query(m.Order):filter_by({ name = "other" }):one().id
    s:delete(o)                                                 -- notes not loaded: loaded to be updated
    s:commit()
    assert.same({ x = false, y = false, z = other_id }, note_owners())
    assert.equal(3, fx.count("rc_notes"))
  end)

  it("sets the foreign key of a child removed from a collection without delete-orphan to NULL", function()
    local m, s = fx.models, fx.session
    local o = m.Order{ name = "o", notes = { m.Note{ body = "x" }, m.Note{ body = "y" } } }
    s:add(o)
    s:commit()
    table.remove(o.notes, 2)
    s:commit()
    assert.same({ x = o.id, y = false }, note_owners())
  end)

  it("leaves a pending child removed under delete-orphan out of the flush", function()
    local m, s = fx.models, fx.session
    local o = m.Order{ name = "o" }
    s:add(o)
    s:commit()
    local i = m.Item{ name = "tmp" }
    table.insert(o.items, i)
    o.items[1] = nil
    s:commit()
    assert.equal(0, fx.count("rc_items"))
  end)
end)

describe("The merge cascade", function()
  before_each(fx.open)
  after_each(fx.close)

  it("merges a detached parent with its children into another session", function()
    local m, s = fx.models, fx.session
    local o = m.Order{ name = "o", items = { m.Item{ name = "a" } } }
    s:add(o)
    s:commit()
    local id = o.id
    local item_id = o.items[1].id
    s:close()                                                   -- o and its item are detached
    o.name = "renamed"
    o.items[1].name = "a2"
    table.insert(o.items, m.Item{ name = "b" })
    local s2 = fx.Session()
    local merged = s2:merge(o)
    assert.are_not.equal(o, merged)
    assert.equal(2, #merged.items)
    assert.equal(item_id, merged.items[1].id)
    s2:commit()
    s2:close()
    local s3 = fx.Session()
    local got = s3:get(m.Order, id)
    assert.equal("renamed", got.name)
    local names = {}
    for _, it in ipairs(got.items) do names[#names + 1] = it.name end
    table.sort(names)
    assert.same({ "a2", "b" }, names)
    s3:close()
  end)
end)

describe("Relationship cascades #postgresql", function()
  before_each(fx.open)
  after_each(fx.close)

  it("leaves deleting unloaded children to ON DELETE CASCADE with passive_deletes", function()
    if not h.is_postgresql then return end
    local m, s = fx.models, fx.session
    s:add(m.Folder{ files = { m.File{}, m.File{}, m.File{} } })
    s:commit()
    local f = s:query(m.Folder):one()
    fx.reset_sql()
    s:delete(f)
    s:commit()
    assert.equal(0, #fx.statements("SELECT"))                   -- the files were not loaded
    assert.equal(1, #fx.statements("DELETE"))
    assert.equal(0, fx.count("rc_files"))
  end)
end)
