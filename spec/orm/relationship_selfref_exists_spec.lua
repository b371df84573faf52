-- any()/has() on self-referential relationships: the related rows are an
-- alias of the table, the criteria name them (as in SQLAlchemy).
local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  local follows = ath.Table("rs_follows", Base.metadata,
    ath.Column("follower_id", ath.Integer, ath.ForeignKey("rs_nodes.id"), { primary_key = true }),
    ath.Column("followed_id", ath.Integer, ath.ForeignKey("rs_nodes.id"), { primary_key = true }))
  m.Node = Base:model("Node", {
    __tablename = "rs_nodes",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("rs_nodes.id")),
    children = orm.relationship("Node", { backref = "parent", order_by = "Node.id" }),
    following = orm.relationship("Node", { secondary = follows }),
  })
  return m
end)

local function names(nodes)
  local out = {}
  for i, n in ipairs(nodes) do out[i] = n.name end
  return out
end

describe("any() and has() on a self-referential relationship", function()
  before_each(fx.open)
  after_each(fx.close)

  it("filter a tree by its children and by its parent, read in a fresh session", function()
    local m, s = fx.models, fx.session
    local root = m.Node{ name = "root" }
    local c1, c2 = m.Node{ name = "c1" }, m.Node{ name = "c2" }
    root.children = { c1, c2 }
    c1.children = { m.Node{ name = "g1" } }
    c1.following = { c2, root }
    s:add(root)
    s:commit()
    local s2 = fx.Session()
    local N = m.Node
    assert.same({ "root", "c1" }, names(s2:query(N):filter(N.children:any()):order_by(N.id):all()))
    assert.same({ "c1" }, names(s2:query(N):filter(N.children:any(N.name:eq("g1"))):all()))
    assert.same({ "root" }, names(s2:query(N):filter(N.children:any(N.name:like("c%"))):all()))
    assert.same({}, names(s2:query(N):filter(N.children:any(N.name:eq("root"))):all()))
    assert.same({ "c1", "c2" }, names(s2:query(N):filter(N.parent:has(N.name:eq("root"))):order_by(N.id):all()))
    assert.same({ "g1" }, names(s2:query(N):filter(N.parent:has(N.parent_id:is_not(nil))):all()))
    assert.same({ "root" }, names(s2:query(N):filter(ath.not_(N.parent:has())):all()))
    assert.same({ "c1" }, names(s2:query(N):filter(N.following:any(N.name:eq("root"))):all()))
    assert.equal(0, s2:query(N):filter(N.following:any(N.name:eq("g1"))):count())
    s2:close()
  end)
end)
