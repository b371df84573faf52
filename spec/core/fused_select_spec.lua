-- The fused point select (docs/performance.md): select(t) is built once per
-- table, and select(t):where(col <op> value) keeps its SQL per column,
-- operator and dialect, so later executions bind the value and skip the
-- conversion to C nodes. Every value stays bound, every other shape takes
-- the ordinary path, and the result is the same as the ordinary path's.
local ath = require("athanor")
local core = require("athanor.core")
local h = require("spec.helpers")

local md = ath.MetaData()
local people = ath.Table("fs_people", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40)),
  ath.Column("score", ath.Float))

describe("the fused point select", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    local rows = {}
    for i = 1, 30 do rows[i] = { id = i, name = "p" .. i, score = i / 4 } end
    conn:execute(ath.insert(people), rows)
  end)
  teardown(fx.close)
  before_each(function() core.compile_cache_clear() end)
  after_each(function() core.set_compile_cache_size(500) end)

  -- the SQL and parameters of each statement sent, through the public event
  local function capture(fn)
    local sent = {}
    local function listener(_, _, sql, params) sent[#sent + 1] = { sql = sql, params = params } end
    ath.event.listen(fx.engine, "before_cursor_execute", listener)
    local ok, err = pcall(fn)
    ath.event.remove(fx.engine, "before_cursor_execute", listener)
    assert(ok, err)
    return sent
  end

  it("select(t) is one statement per table, and its methods still copy it", function()
    local s = ath.select(people)
    assert.equal(s, ath.select(people))
    assert.equal(s, people:select())
    local w = s:where(people.c.id:eq(1))
    assert.are_not.equal(s, w)
    assert.are_not.equal(w, s:where(people.c.id:eq(1)))
    assert.equal("SELECT fs_people.id, fs_people.name, fs_people.score FROM fs_people", tostring(s))
    -- the kept select was not changed by anything built from it
    s:order_by(people.c.id):limit(3):where(people.c.name:eq("x"))
    assert.equal(30, #conn:execute(s):all())
  end)

  it("binds each value into SQL rendered once, and returns each row", function()
    local sent = capture(function()
      for i = 1, 30 do
        local r = conn:execute(ath.select(people):where(people.c.id:eq(i))):one()
        assert.equal(i, r.id)
        assert.equal("p" .. i, r.name)
        assert.equal(i / 4, r.score)
      end
    end)
    assert.equal(1, core.compile_stats().renders)
    assert.equal(30, core.compile_stats().hits + 1)
    assert.equal(30, #sent)
    for i = 1, 30 do
      assert.equal(sent[1].sql, sent[i].sql)
      assert.same({ i }, sent[i].params)
    end
    assert.falsy(sent[17].sql:find("17", 1, true))   -- the value is a parameter, not in the text
  end)

  it("keeps one SQL per column and operator", function()
    local got = {}
    for _, case in ipairs({
      { people.c.id:eq(3), 1 }, { people.c.id:gt(28), 2 }, { people.c.id:ne(1), 29 },
      { people.c.id:le(2), 2 }, { people.c.name:eq("p7"), 1 }, { people.c.score:ge(7.0), 3 },
      { people.c.id:eq(4), 1 }, { people.c.id:gt(29), 1 },
    }) do
      got[#got + 1] = #conn:execute(ath.select(people):where(case[1])):all()
      assert.equal(case[2], got[#got])
    end
    assert.equal(6, core.compile_stats().renders)
  end)

  it("leaves a value that would inject as a value", function()
    local evil = "p1' OR '1'='1"
    assert.equal(0, #conn:execute(ath.select(people):where(people.c.name:eq(evil))):all())
    assert.equal(0, #conn:execute(ath.select(people):where(people.c.name:eq(evil .. "--"))):all())
    assert.equal(1, #conn:execute(ath.select(people):where(people.c.name:eq("p1"))):all())
  end)

  it("gives the ordinary path's answer for shapes it does not fuse", function()
    local named = ath.select(people):where(people.c.id:eq(ath.bindparam("k")))
    assert.equal("p5", conn:execute(named, { k = 5 }):one().name)
    assert.equal("p6", conn:execute(named, { k = 6 }):one().name)
    local cast = ath.select(people):where(people.c.id:eq(ath.literal(8, ath.Integer)))
    assert.equal("p8", conn:execute(cast):one().name)
    local like = ath.select(people):where(people.c.name:like("p1%"))
    assert.equal(11, #conn:execute(like):all())
    local two = ath.select(people):where(people.c.id:gt(10), people.c.id:lt(13))
    assert.equal(2, #conn:execute(two):all())
    local chained = ath.select(people):where(people.c.id:gt(10)):where(people.c.id:lt(12))
    assert.equal(11, conn:execute(chained):one().id)
    local isnull = ath.select(people):where(people.c.name:eq(ath.null))
    assert.equal(0, #conn:execute(isnull):all())
    local other = ath.select(people.c.id):where(people.c.id:eq(9))
    assert.equal(9, conn:execute(other):scalar())
    local alias = people:alias("p2")
    assert.equal("p3", conn:execute(ath.select(alias):where(alias.c.id:eq(3))):one().name)
  end)

  it("renders again after the compiled cache is cleared, and every time with a cache of size 0", function()
    local function name(i) return conn:execute(ath.select(people):where(people.c.id:eq(i))):one().name end
    assert.equal("p1", name(1))
    assert.equal("p2", name(2))
    assert.equal(1, core.compile_stats().renders)
    core.compile_cache_clear()
    assert.equal("p3", name(3))
    assert.equal(1, core.compile_stats().renders)
    core.set_compile_cache_size(0)
    assert.equal("p4", name(4))
    assert.equal("p5", name(5))
    assert.equal(3, core.compile_stats().renders)
  end)

  it("refuses a value the column's type refuses, as the ordinary path does", function()
    conn:execute(ath.select(people):where(people.c.id:eq(1))):one()
    local err = h.catch(function() conn:execute(ath.select(people):where(people.c.id:eq({}))) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"), tostring(err))
  end)

  it("is still a select to embed, compile and print", function()
    local w = ath.select(people):where(people.c.id:eq(2))
    conn:execute(w):one()
    local sql, params = w:compile()
    assert.equal("SELECT fs_people.id, fs_people.name, fs_people.score FROM fs_people WHERE fs_people.id = ?", sql)
    assert.same({ 2 }, params)
    local sub = w:subquery("s")
    assert.equal("p2", conn:execute(ath.select(sub.c.name)):scalar())
    assert.equal(1, conn:execute(ath.select(ath.func.count()):where(ath.exists(w))):scalar())
    local u = ath.union_all(w, ath.select(people):where(people.c.id:eq(3)))
    assert.equal(2, #conn:execute(u):all())
  end)
end)
