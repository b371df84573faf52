-- One insert plan (docs/insert-plan.md): Insert:plan says what runs and how
-- the keys come back; a list of rows executed with RETURNING is one
-- multi-row VALUES ... RETURNING (in batches) whose rows come back in the
-- order of the parameter rows.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local md = ath.MetaData()
local items = ath.Table("ip_items", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40), { nullable = false, unique = true }),
  ath.Column("qty", ath.Integer, { default = 7 }))
local tags = ath.Table("ip_tags", md,
  ath.Column("code", ath.String(10), { primary_key = true }),
  ath.Column("label", ath.String(40)))

-- Names in an order unrelated to the keys the database gives.
local function shuffled_rows(n)
  local rows = {}
  for i = 1, n do rows[i] = { name = string.format("item-%05d", (i * 7919) % 100003), qty = i } end
  return rows
end

describe("Insert:plan()", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)
  before_each(function() conn:execute(ath.delete(items)); conn:execute(ath.delete(tags)) end)

  local function count() return conn:execute(ath.select(ath.func.count()):select_from(items)):scalar() end

  it("plans one row as a single insert whose key comes back as the dialect allows", function()
    local plan = ath.insert(items):values({ name = "a" }):plan(nil, conn.dialect)
    assert.equal("single", plan.kind)
    assert.equal(h.is_postgresql and "implicit_returning" or "lastrowid", plan.keys)
    assert.equal(1, plan.pk.autoinc_index)
    local given = ath.insert(items):values({ id = 5, name = "b" }):plan(nil, conn.dialect)
    assert.equal("given", given.keys)
    assert.same({ 5 }, given.pk.values)
  end)

  it("plans a list of rows without RETURNING as an executemany of converted rows", function()
    local plan = ath.insert(items):plan({ { name = "a" }, { name = "b", qty = 2 } }, conn.dialect)
    assert.equal("executemany", plan.kind)
    assert.equal("none", plan.keys)
    assert.equal(2, #plan.params)
    assert.equal(7, plan.params[1].qty)                -- the column's Lua default
  end)

  it("plans a list of rows with RETURNING as multi-row VALUES with the key as sentinel", function()
    local plan = ath.insert(items):returning(items.c.id, items.c.name):plan(shuffled_rows(3), conn.dialect)
    assert.equal("multivalues", plan.kind)
    assert.equal("returning", plan.keys)
    assert.equal(1, #plan.batches)
    assert.equal(1, plan.sentinel)
    local sql = ath.insert(items):returning(items.c.id):compile({ dialect = "postgresql",
      params = shuffled_rows(2) })
    assert.truthy(sql:find("VALUES ($1, $2), ($3, $4) RETURNING", 1, true), sql)
  end)

  it("returns every key of a list of rows in the order of the rows", function()
    local rows = shuffled_rows(50)
    local res = conn:execute(ath.insert(items):returning(items.c.id, items.c.name), rows)
    local got = res:all()
    assert.equal(50, #got)
    local by_id = {}
    for _, r in ipairs(conn:execute(ath.select(items.c.id, items.c.name)):all()) do by_id[r.id] = r.name end
    for i, r in ipairs(got) do
      assert.equal(rows[i].name, r.name)
      assert.equal(rows[i].name, by_id[r.id])
      if i > 1 then assert.is_true(r.id > got[i - 1].id) end
    end
  end)

  it("returns given keys in the order of the rows, whatever their order", function()
    local rows = { { code = "m", label = "1" }, { code = "c", label = "2" }, { code = "x", label = "3" } }
    local got = conn:execute(ath.insert(tags):returning(tags.c.code), rows):scalars():all()
    assert.same({ "m", "c", "x" }, got)
  end)

  it("splits many rows into batches and still returns every key in row order", function()
    local rows = shuffled_rows(2600)
    local plan = ath.insert(items):returning(items.c.id):plan(rows, conn.dialect)
    assert.equal(3, #plan.batches)
    local got = conn:execute(ath.insert(items):returning(items.c.id, items.c.name), rows):all()
    assert.equal(2600, #got)
    for i = 1, #got, 97 do assert.equal(rows[i].name, got[i].name) end
    assert.equal(rows[2600].name, got[2600].name)
    assert.equal(2600, count())
  end)

  it("writes nothing when a later batch fails, and raises IntegrityError", function()
    local rows = shuffled_rows(2100)
    rows[2050].name = rows[3].name                    -- a duplicate in the third batch
    local ok, err = pcall(conn.execute, conn, ath.insert(items):returning(items.c.id), rows)
    assert.is_false(ok)
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    assert.equal(0, count())
  end)

  it("raises ArgumentError naming an unknown column of a row, and writes nothing", function()
    local ok, err = pcall(conn.execute, conn, ath.insert(items):returning(items.c.id),
      { { name = "a" }, { name = "b", colour = "red" } })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("colour", 1, true))
    assert.equal(0, count())
  end)

  it("keeps multi-row values{} and executemany as they were", function()
    local res = conn:execute(ath.insert(items):values({ { name = "a" }, { name = "b" } }))
    assert.equal(2, res.rowcount)
    res = conn:execute(ath.insert(items), { { name = "c" }, { name = "d" } })
    assert.equal(2, res.rowcount)
    assert.equal(4, count())
    local single = conn:execute(ath.insert(items):values({ name = "e" }))
    assert.equal(single:inserted_primary_key()[1],
      conn:execute(ath.select(items.c.id):where(items.c.name:eq("e"))):scalar())
  end)
end)
