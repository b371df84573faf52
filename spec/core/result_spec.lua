local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("Result", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "nums")
    conn:exec_driver_sql("CREATE TABLE nums (id INTEGER PRIMARY KEY, label TEXT, half REAL)")
    local rows = {}
    for i = 1, 10 do rows[i] = { id = i, label = "n" .. i, half = i / 2 } end
    rows[10].label = ath.null
    conn:execute(ath.text("INSERT INTO nums (id, label, half) VALUES (:id, :label, :half)"), rows)
  end)
  after_each(function() h.drop(conn, "nums"); conn:close(); engine:dispose(); h.cleanup() end)

  local function q(sql, params) return conn:execute(ath.text(sql), params) end

  it("all() returns every row, by position and by name", function()
    local rows = q("SELECT id, label FROM nums ORDER BY id"):all()
    assert.equal(10, #rows)
    assert.equal(3, rows[3].id)
    assert.equal("n3", rows[3][2])
    assert.is_nil(rows[10].label)
  end)

  it("first() returns the first row or nil", function()
    assert.equal(1, q("SELECT id FROM nums ORDER BY id"):first().id)
    assert.is_nil(q("SELECT id FROM nums WHERE id > 100"):first())
  end)

  it("one() raises NoResultFound and MultipleResultsFound", function()
    assert.equal(4, q("SELECT id FROM nums WHERE id = 4"):one().id)
    local err = h.catch(function() return q("SELECT id FROM nums WHERE id > 100"):one() end)
    assert.is_true(errors.is(err, "NoResultFound"))
    err = h.catch(function() return q("SELECT id FROM nums"):one() end)
    assert.is_true(errors.is(err, "MultipleResultsFound"))
  end)

  it("one_or_none() returns nil for no rows and raises for several", function()
    assert.is_nil(q("SELECT id FROM nums WHERE id > 100"):one_or_none())
    assert.equal(5, q("SELECT id FROM nums WHERE id = 5"):one_or_none().id)
    local err = h.catch(function() return q("SELECT id FROM nums"):one_or_none() end)
    assert.is_true(errors.is(err, "MultipleResultsFound"))
  end)

  it("scalar() and scalar_one() return the first column", function()
    assert.equal(55, q("SELECT sum(id) FROM nums"):scalar())
    assert.is_nil(q("SELECT id FROM nums WHERE id > 100"):scalar())
    assert.equal(7, q("SELECT id FROM nums WHERE id = 7"):scalar_one())
    local err = h.catch(function() return q("SELECT id FROM nums WHERE id > 100"):scalar_one() end)
    assert.is_true(errors.is(err, "NoResultFound"))
  end)

  it("scalars() gives single values with the same methods", function()
    assert.same({ 1, 2, 3 }, q("SELECT id FROM nums WHERE id <= 3 ORDER BY id"):scalars():all())
    assert.same({ "n1", "n2" }, q("SELECT id, label FROM nums WHERE id <= 2 ORDER BY id"):scalars(2):all())
    assert.equal(1, q("SELECT id FROM nums ORDER BY id"):scalars():first())
  end)

  it("mappings() gives plain name -> value tables", function()
    local m = q("SELECT id, label FROM nums WHERE id = 2"):mappings():one()
    assert.same({ id = 2, label = "n2" }, m)
    assert.is_nil(getmetatable(m))
  end)

  it("fetchmany(n) returns batches until empty", function()
    local r = q("SELECT id FROM nums ORDER BY id")
    assert.equal(4, #r:fetchmany(4))
    assert.equal(4, #r:fetchmany(4))
    assert.equal(2, #r:fetchmany(4))
    assert.equal(0, #r:fetchmany(4))
  end)

  it("keys() lists every column even when its value is NULL", function()
    local r = q("SELECT label, id FROM nums WHERE id = 10")
    assert.same({ "label", "id" }, r:keys())
    local row = r:one()
    assert.is_nil(row.label)
    assert.equal(10, row.id)
  end)

  it("iterates with result:iter() and with `for row in result`", function()
    local sum = 0
    for row in q("SELECT id FROM nums"):iter() do sum = sum + row.id end
    assert.equal(55, sum)
    sum = 0
    for row in q("SELECT id FROM nums") do sum = sum + row.id end
    assert.equal(55, sum)
  end)

  it("keeps duplicate column names reachable by position", function()
    local row = q("SELECT id AS x, label AS x FROM nums WHERE id = 1"):one()
    assert.equal(1, row[1])
    assert.equal("n1", row[2])
    assert.equal(1, row.x)
  end)

  it("shows a row's values with tostring", function()
    local row = q("SELECT id, label FROM nums WHERE id = 1"):one()
    assert.equal('(1, "n1")', tostring(row))
    assert.same({ "id", "label" }, row:_fields())
  end)

  it("raises ResourceClosedError when rows are read from a statement that returns none", function()
    local r = q("UPDATE nums SET half = 0 WHERE id = 1")
    assert.equal(1, r.rowcount)
    local err = h.catch(r.all, r)
    assert.is_true(errors.is(err, "ResourceClosedError"))
  end)

  it("streams with { stream = true } and yields every row", function()
    local n = 0
    for row in conn:execute(ath.text("SELECT id FROM nums"), nil, { stream = true }):iter() do
      n = n + row.id
    end
    assert.equal(55, n)
  end)

  it("lets a statement run again while an earlier result of it is still open", function()
    local r1 = q("SELECT id FROM nums ORDER BY id")
    assert.equal(1, r1:fetchone().id)
    local r2 = q("SELECT id FROM nums ORDER BY id")
    assert.equal(1, r2:fetchone().id)
    assert.equal(2, r1:fetchone().id)
    r1:close(); r2:close()
  end)

  it("keeps a streamed result's parameters valid after the caller drops them", function()
    local r
    do
      local label = table.concat({ "n", "5" })      -- a fresh string only the params table holds
      r = q("SELECT id FROM nums WHERE label >= :l ORDER BY id", { l = label })
    end
    collectgarbage(); collectgarbage()
    local ids = {}
    for row in r do ids[#ids + 1] = row.id end
    assert.same({ 5, 6, 7, 8, 9 }, ids)
  end)

  it("reuses the prepared statement when the same SQL runs again", function()
    q("SELECT id FROM nums WHERE id = :id", { id = 1 }):all()
    local before = conn:_stats().prepares
    for i = 1, 20 do q("SELECT id FROM nums WHERE id = :id", { id = i }):all() end
    assert.equal(before, conn:_stats().prepares)
  end)
end)
