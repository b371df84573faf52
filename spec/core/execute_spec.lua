local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("Connection:execute() with ath.text", function()
  local engine, conn
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "people")
    conn:exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER, score REAL, photo " ..
      (h.is_postgresql and "BYTEA" or "BLOB") .. ")")
  end)
  after_each(function()
    h.drop(conn, "people")
    conn:close(); engine:dispose(); h.cleanup()
  end)

  local function insert(id, name, age)
    return conn:execute(ath.text("INSERT INTO people (id, name, age) VALUES (:id, :name, :age)"),
      { id = id, name = name, age = age })
  end

  it("binds :name parameters and reports the rowcount", function()
    local r = insert(1, "Alice", 30)
    assert.equal(1, r.rowcount)
    assert.equal("Alice", conn:execute(ath.text("SELECT name FROM people WHERE id = :id"), { id = 1 }):scalar())
  end)

  it("binds the same name twice", function()
    insert(1, "Alice", 30)
    local n = conn:execute(ath.text("SELECT count(*) FROM people WHERE id = :v OR age = :v"), { v = 30 }):scalar()
    assert.equal(1, n)
  end)

  it("leaves ::casts and quoted colons alone", function()
    local sql = h.is_postgresql and "SELECT ':nope' AS a, :x::int AS b" or "SELECT ':nope' AS a, :x AS b"
    local row = conn:execute(ath.text(sql), { x = 5 }):one()
    assert.equal(":nope", row.a)
    assert.equal(5, row.b)
  end)

  it("raises ArgumentError naming a missing parameter, and writes nothing", function()
    local err = h.catch(conn.execute, conn,
      ath.text("INSERT INTO people (id, name, age) VALUES (:id, :name, :age)"), { id = 1, name = "Bob" })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("'age'", 1, true))
    assert.equal(0, conn:execute(ath.text("SELECT count(*) FROM people")):scalar())
  end)

  it("raises ArgumentError for a value of a type that cannot be bound", function()
    local err = h.catch(insert, 1, "Bob", function() end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.equal("parameter 'age': cannot bind a value of type function", err.message)
    err = h.catch(conn.exec_driver_sql, conn, "SELECT " .. h.ph(1) .. ", " .. h.ph(2), { 1, coroutine.create(print) })
    assert.equal("parameter 2: cannot bind a value of type thread", err.message)
    err = h.catch(insert, 1, "Bob", { _ath_type = "mystery", "x" })
    assert.equal("parameter 'age': unknown _ath_type 'mystery'", err.message)
    err = h.catch(insert, 1, "Bob", { 1, 2 })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("table", 1, true))
  end)

  it("binds ath.null as SQL NULL and reads it back as nil", function()
    insert(1, "Alice", ath.null)
    local row = conn:execute(ath.text("SELECT id, age FROM people")):one()
    assert.is_nil(row.age)
    assert.is_nil(row[2])
    local r = conn:execute(ath.text("SELECT id, age FROM people"))
    assert.same({ "id", "age" }, r:keys())
    r:close()
  end)

  it("runs executemany with an array of parameter tables", function()
    local rows = {}
    for i = 1, 50 do rows[i] = { id = i, name = "n" .. i, age = i } end
    local r = conn:execute(ath.text("INSERT INTO people (id, name, age) VALUES (:id, :name, :age)"), rows)
    assert.equal(50, r.rowcount)
    assert.equal(1275, conn:execute(ath.text("SELECT sum(age) FROM people")):scalar())
  end)

  it("round-trips hostile strings exactly, without changing the statement", function()
    local hostile = {
      "Robert'); DROP TABLE people;--", "' OR '1'='1", "a\"b", "semi;colon", ":name",
      "$1", "?", "back\\slash", "ünïcødé ☃", "new\nline",
    }
    for i, s in ipairs(hostile) do insert(i, s, i) end
    for i, s in ipairs(hostile) do
      assert.equal(s, conn:execute(ath.text("SELECT name FROM people WHERE id = :id"), { id = i }):scalar())
      assert.equal(i, conn:execute(ath.text("SELECT id FROM people WHERE name = :n"), { n = s }):scalar())
    end
    assert.equal(#hostile, conn:execute(ath.text("SELECT count(*) FROM people")):scalar())
  end)

  it("round-trips binary data with zero bytes", function()
    local blob = "\0\1\2\255\0abc\0"
    conn:exec_driver_sql("INSERT INTO people (id, name, photo) VALUES (" .. h.ph(1) .. ", " .. h.ph(2) .. ", " .. h.ph(3) .. ")",
      { 1, "b", { _ath_type = "blob", blob } })
    local got = conn:execute(ath.text("SELECT photo FROM people")):scalar()
    assert.equal(#blob, #got)
    assert.equal(blob, got)
  end)

  it("round-trips integers, floats and text", function()
    conn:exec_driver_sql("INSERT INTO people (id, name, age, score) VALUES (" ..
      h.ph(1) .. ", " .. h.ph(2) .. ", " .. h.ph(3) .. ", " .. h.ph(4) .. ")", { 1, "x", 2147483647, 0.1 })
    local row = conn:execute(ath.text("SELECT age, score, name FROM people")):one()
    assert.equal(2147483647, row.age)
    assert.equal(0.1, row.score)
    assert.equal("x", row.name)
  end)

  it("refuses raw strings, pointing to ath.text and exec_driver_sql", function()
    local err = h.catch(conn.execute, conn, "SELECT 1")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("ath.text", 1, true))
  end)

  it("logs each statement and its parameters through an echo function", function()
    local seen = {}
    local e = h.engine({ echo = function(sql, params) seen[#seen + 1] = { sql, params } end })
    e:connect(function(c) c:execute(ath.text("SELECT :a AS a"), { a = 1 }) end)
    assert.equal(1, #seen)
    assert.truthy(seen[1][1]:find("SELECT", 1, true))
    e:dispose()
  end)
end)

describe("Connection:exec_driver_sql()", function()
  local engine, conn
  before_each(function() engine = h.engine(); conn = engine:connect() end)
  after_each(function() conn:close(); engine:dispose(); h.cleanup() end)

  it("binds positional parameters in the driver's own style", function()
    local sql = h.is_postgresql and "SELECT $1::int AS a, $2::text AS b" or "SELECT ? AS a, ? AS b"
    local r = conn:exec_driver_sql(sql, { 1, "two" })
    local row = r:one()
    assert.equal(1, row.a)
    assert.equal("two", row.b)
  end)

  it("raises ArgumentError when a positional parameter is missing", function()
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT " .. h.ph(1) .. ", " .. h.ph(2), { 1 })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("2", 1, true))
  end)

  it("raises ArgumentError when too many parameters are given", function()
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT " .. h.ph(1), { 1, 2 })
    assert.is_true(errors.is(err, "ArgumentError"))
  end)
end)

describe("Result.lastrowid and inserted_primary_key #sqlite", function()
  it("report the rowid of the inserted row", function()
    local e = ath.create_engine("sqlite://")
    local c = e:connect()
    c:exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c:execute(ath.text("INSERT INTO t (v) VALUES (:v)"), { v = "a" })
    local r = c:execute(ath.text("INSERT INTO t (v) VALUES (:v)"), { v = "b" })
    assert.equal(2, r.lastrowid)
    assert.same({ 2 }, r:inserted_primary_key())
    c:close()
  end)
end)
