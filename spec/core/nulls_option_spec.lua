-- The `nulls = ath.null` option (API.md §1, issue 20 item 5): rows and
-- mappings carry SQL NULL as ath.null (= cjson.null = ngx.null), so a JSON
-- response keeps every column. An engine option and a per-execution option.
local ath = require("athanor")
local errors = ath.errors
local cjson = require("cjson")
local h = require("spec.helpers")

-- what a JSON client receives for v
local function roundtrip(v) return cjson.decode(cjson.encode(v)) end

describe("The nulls option", function()
  local engine, conn
  local md = ath.MetaData()
  local people = ath.Table("nulls_people", md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.String(40)),
    ath.Column("score", ath.Float),
    ath.Column("born", ath.Date),
    ath.Column("meta", ath.JSON))

  local function open(opts)
    engine = h.engine(opts)
    conn = engine:connect()
    md:drop_all(conn)
    md:create_all(conn)
    conn:execute(ath.insert(people), {
      { id = 1, name = "ann", score = 1.5, born = "2001-02-03", meta = { a = 1 } },
      { id = 2, name = ath.null, score = ath.null, born = ath.null, meta = ath.null },
    })
  end
  after_each(function()
    if conn then md:drop_all(conn); conn:close() end
    if engine then engine:dispose() end
    conn, engine = nil, nil
    h.cleanup()
  end)

  local select_two = ath.text("SELECT id, name, score FROM nulls_people WHERE id = 2")

  it("is off by default: NULL is nil and cjson.encode drops the column", function()
    open()
    local row = conn:execute(select_two):one()
    assert.is_nil(row.name)
    assert.is_nil(row[2])
    local json = roundtrip(row)
    assert.equal(2, json.id)
    assert.is_nil(json.name)
  end)

  it("as an engine option makes rows carry NULL as ath.null, which cjson.encode keeps", function()
    open({ nulls = ath.null })
    local row = conn:execute(select_two):one()
    assert.equal(ath.null, row.name)
    assert.equal(ath.null, row[2])
    assert.equal(cjson.null, row.score)
    assert.equal("(2, NULL, NULL)", tostring(row))
    local json = roundtrip(row)
    assert.equal(2, json.id)
    assert.equal(cjson.null, json.name)
    assert.equal(cjson.null, json.score)
  end)

  it("keeps every column in mappings(), and scalars() yields ath.null", function()
    open({ nulls = ath.null })
    local maps = conn:execute(ath.text("SELECT id, name, score FROM nulls_people ORDER BY id")):mappings():all()
    local json = roundtrip(maps)
    assert.same({ id = 1, name = "ann", score = 1.5 }, json[1])
    assert.same({ id = 2, name = cjson.null, score = cjson.null }, json[2])
    local names = conn:execute(ath.text("SELECT name FROM nulls_people ORDER BY id")):scalars():all()
    assert.same({ "ann", ath.null }, names)
    -- iteration does not stop at a NULL scalar
    local seen = 0
    for _ in conn:execute(ath.text("SELECT name FROM nulls_people ORDER BY id")):scalars():iter() do
      seen = seen + 1
    end
    assert.equal(2, seen)
    assert.equal(ath.null, conn:execute(ath.text("SELECT name FROM nulls_people WHERE id = 2")):scalar())
  end)

  it("holds on every fetch path: first, fetchone, fetchmany, iteration and streams", function()
    open({ nulls = ath.null })
    local function q() return conn:execute(ath.text("SELECT name FROM nulls_people WHERE id = 2")) end
    assert.equal(ath.null, q():first().name)
    assert.equal(ath.null, q():fetchone().name)
    assert.equal(ath.null, q():fetchmany(5)[1].name)
    for row in q():iter() do assert.equal(ath.null, row.name) end
    local streamed = conn:execute(ath.text("SELECT name FROM nulls_people ORDER BY id"), nil, { stream = true }):all()
    assert.equal("ann", streamed[1].name)
    assert.equal(ath.null, streamed[2].name)
  end)

  it("applies to typed columns of the expression language (result processors)", function()
    open({ nulls = ath.null })
    local row = conn:execute(ath.select(people):where(people.c.id:eq(2))):one()
    assert.equal(ath.null, row.name)
    assert.equal(ath.null, row.born)
    assert.equal(ath.null, row.meta)
    local json = roundtrip(row)
    assert.equal(cjson.null, json.born)
    assert.equal(cjson.null, json.meta)
    local first = conn:execute(ath.select(people):where(people.c.id:eq(1))):one()
    assert.equal("2001-02-03", first.born)
    assert.same({ a = 1 }, first.meta)
  end)

  it("as a per-execution option turns it on for one execution, and false turns it off", function()
    open()
    assert.equal(ath.null, conn:execute(select_two, nil, { nulls = ath.null }):one().name)
    assert.is_nil(conn:execute(select_two):one().name)
    conn:close(); engine:dispose()
    open({ nulls = ath.null })
    assert.is_nil(conn:execute(select_two, nil, { nulls = false }):one().name)
    assert.equal(ath.null, conn:execute(select_two):one().name)
  end)

  it("refuses any other value, naming the option, and writes nothing", function()
    local err = h.catch(ath.create_engine, h.url, { nulls = "null" })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("'nulls' must be ath.null", err.message, 1, true)
    open()
    err = h.catch(function()
      return conn:execute(ath.insert(people), { id = 3, name = "bob" }, { nulls = true })
    end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("'nulls' must be ath.null", err.message, 1, true)
    assert.equal(2, conn:execute(ath.text("SELECT count(*) FROM nulls_people")):scalar())
  end)
end)

describe("The nulls option #postgresql", function()
  if not h.is_postgresql then return end

  it("keeps NULL items of an array as ath.null, also the last one", function()
    local engine = h.engine({ nulls = ath.null })
    local conn = engine:connect()
    local row = conn:execute(ath.text("SELECT ARRAY[1, NULL, 3]::int4[] AS a, ARRAY['x', NULL]::text[] AS b")):one()
    assert.same({ 1, ath.null, 3 }, row.a)
    assert.same({ "x", ath.null }, row.b)
    assert.same({ a = { 1, cjson.null, 3 }, b = { "x", cjson.null } }, roundtrip(row))
    conn:close()
    engine:dispose()
  end)
end)
