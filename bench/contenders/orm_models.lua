-- The ORM benchmark's models, shared by the athanor ORM contender and the
-- callgrind targets in bench/profile/: the Core workloads' tables (id,
-- name, age, score) as models, and OW6's parents with their children.
local ath = require("athanor")
local orm = require("athanor.orm")

local M = {}

--- Models on Base: BenchWrite, BenchRead, BenchStream, Parent (children),
-- Child, over the tables bench_write, bench_read, bench_stream,
-- bench_parent and bench_child.
function M.define(Base)
  local function bench_model(name, tablename)
    return Base:model(name, {
      __tablename = tablename,
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.Text),
      age = ath.Column(ath.Integer),
      score = ath.Column(ath.Float),
    })
  end
  local m = {
    BenchWrite = bench_model("BenchWrite", "bench_write"),
    BenchRead = bench_model("BenchRead", "bench_read"),
    BenchStream = bench_model("BenchStream", "bench_stream"),
  }
  m.Parent = Base:model("Parent", {
    __tablename = "bench_parent",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.Text),
    children = orm.relationship("Child"),
  })
  m.Child = Base:model("Child", {
    __tablename = "bench_child",
    id = ath.Column(ath.Integer, { primary_key = true }),
    parent_id = ath.Column(ath.Integer, ath.ForeignKey("bench_parent.id")),
    age = ath.Column(ath.Integer),
  })
  return m
end

return M
