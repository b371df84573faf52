-- A custom primaryjoin that is an equality of foreign-key columns writes
-- like the plain relationship (SQLAlchemy's behaviour): the foreign key is
-- set at flush, cascades and back_populates work; any other condition stays
-- viewonly. Read back through a fresh session.
local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.Customer = Base:model("Customer", {
    __tablename = "pj_customers",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    billing_id = ath.Column(ath.Integer, ath.ForeignKey("pj_addresses.id")),
    shipping_id = ath.Column(ath.Integer, ath.ForeignKey("pj_addresses.id")),
    billing = orm.relationship("Address", { primaryjoin = function() return m.Customer.billing_id:eq(m.Address.id) end }),
    shipping = orm.relationship("Address", { primaryjoin = function() return m.Address.id:eq(m.Customer.shipping_id) end }),
    orders = orm.relationship("Order", { back_populates = "customer", order_by = "Order.id", cascade = "all, delete-orphan",
                                         primaryjoin = function() return m.Customer.id:eq(m.Order.customer_id) end }),
    big_orders = orm.relationship("Order", { primaryjoin = function()
      return ath.and_(m.Customer.id:eq(m.Order.customer_id), m.Order.total:gt(100))
    end }),
  })
  m.Address = Base:model("Address", {
    __tablename = "pj_addresses",
    id = ath.Column(ath.Integer, { primary_key = true }),
    street = ath.Column(ath.String(50)),
  })
  m.Order = Base:model("Order", {
    __tablename = "pj_orders",
    id = ath.Column(ath.Integer, { primary_key = true }),
    total = ath.Column(ath.Integer),
    customer_id = ath.Column(ath.Integer, ath.ForeignKey("pj_customers.id")),
    customer = orm.relationship("Customer", { back_populates = "orders",
                                              primaryjoin = function() return m.Order.customer_id:eq(m.Customer.id) end }),
  })
  return m
end)

local with_session = fx.with_session

describe("A primaryjoin of foreign-key equalities", function()
  before_each(fx.open)
  after_each(fx.close)

  it("writes the many-to-one foreign keys it names, each to its own column", function()
    local m, s = fx.models, fx.session
    local c = m.Customer{ name = "c", billing = m.Address{ street = "bill st" }, shipping = m.Address{ street = "ship st" } }
    s:add(c)
    s:commit()
    with_session(function(s2)
      local got = s2:query(m.Customer):one()
      assert.equal("bill st", got.billing.street)
      assert.equal("ship st", got.shipping.street)
      assert.are_not.equal(got.billing_id, got.shipping_id)
      got.shipping = got.billing
      s2:commit()
    end)
    with_session(function(s2)
      local got = s2:query(m.Customer):one()
      assert.equal(got.billing_id, got.shipping_id)
      assert.equal("bill st", got.shipping.street)
    end)
  end)

  it("writes a one-to-many collection, keeps back_populates in agreement and cascades delete-orphan", function()
    local m, s = fx.models, fx.session
    local c = m.Customer{ name = "c" }
    table.insert(c.orders, m.Order{ total = 50 })
    table.insert(c.orders, m.Order{ total = 500 })
    local o3 = m.Order{ total = 7 }
    o3.customer = c
    assert.equal(3, #c.orders)
    s:add(c)
    s:commit()
    with_session(function(s2)
      local got = s2:query(m.Customer):one()
      local totals = {}
      for i, o in ipairs(got.orders) do totals[i] = o.total; assert.equal(got, o.customer) end
      assert.same({ 50, 500, 7 }, totals)
      assert.equal(1, #got.big_orders)
      table.remove(got.orders, 1)
      s2:commit()
    end)
    assert.equal(2, fx.count("pj_orders"))
    with_session(function(s2)
      s2:delete(s2:query(m.Customer):one())
      s2:commit()
    end)
    assert.equal(0, fx.count("pj_orders"))
  end)

  it("stays viewonly when the condition is more than equalities", function()
    local m, s = fx.models, fx.session
    local c = m.Customer{ name = "c", orders = { m.Order{ total = 500 } } }
    s:add(c)
    s:commit()
    with_session(function(s2)
      local got = s2:query(m.Customer):one()
      assert.equal(1, #got.big_orders)
      table.insert(got.big_orders, m.Order{ total = 900 })
      s2:commit()
    end)
    assert.equal(1, fx.count("pj_orders"))
  end)
end)
