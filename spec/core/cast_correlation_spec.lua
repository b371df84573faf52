-- CAST spelled by the dialect in use, and the correlation of subqueries
-- (issue 14, items 2 and 3). SQLAlchemy 1.4 is the reference: its SQL
-- for every type's CAST per dialect is the golden text below, and the same
-- statements built in SQLAlchemy run against the same database (through
-- /usr/bin/python3, as bench/ does) must return the same rows or refuse
-- the statement as athanor does.
local ath = require("athanor")
local h = require("spec.helpers")
local cjson = require("cjson")

local md = ath.MetaData()
local depts = ath.Table("cc_depts", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(20)))
local emps = ath.Table("cc_emps", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("dept_id", ath.Integer),
  ath.Column("salary", ath.Integer),
  ath.Column("name", ath.String(20)))
local e, d = emps.c, depts.c

local DEPTS = { { id = 1, name = "eng" }, { id = 2, name = "ops" }, { id = 3, name = "hr" } }
local EMPS = {
  { id = 1, dept_id = 1, salary = 100, name = "ann" }, { id = 2, dept_id = 1, salary = 150, name = "bob" },
  { id = 3, dept_id = 2, salary = 90, name = "cy" }, { id = 4, dept_id = 2, salary = 120, name = "dee" },
  { id = 5, dept_id = 3, salary = 80, name = "eve" },
}

-- The same tables in SQLAlchemy; each case below gives its statement as a
-- Python expression over these names.
local PY_PRELUDE = [[
import json, sys, datetime, decimal, uuid
import sqlalchemy as sa
m = sa.MetaData()
depts = sa.Table("cc_depts", m, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20)))
emps = sa.Table("cc_emps", m, sa.Column("id", sa.Integer, primary_key=True), sa.Column("dept_id", sa.Integer),
                sa.Column("salary", sa.Integer), sa.Column("name", sa.String(20)))
e, d = emps.c, depts.c
def plain(v):
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, (datetime.date, datetime.time, uuid.UUID)): return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)): return bytes(v).decode("latin-1")
    return v
engine = sa.create_engine(sys.argv[1])
out = {}
for name, build in CASES:
    try:
        with engine.connect() as conn:
            out[name] = {"rows": [[plain(v) for v in row] for row in conn.execute(build())]}
    except Exception as exc:
        out[name] = {"error": type(exc).__name__ + ": " + str(exc).split("\n")[0]}
print(json.dumps(out))
]]

-- Run SQLAlchemy on cases { {name, python_expr}, ... } against url; returns
-- name -> { rows = {...} } or { error = "Kind: message" }.
local function sqlalchemy_results(url, cases)
  url = url:gsub("^(%w+)%+cosocket:", "%1:")   -- SQLAlchemy knows libpq's drivers, not ours
  local lines = { "CASES = [" }
  for _, c in ipairs(cases) do lines[#lines + 1] = ("  (%q, lambda: %s),"):format(c[1], c[2]) end
  lines[#lines + 1] = "]"
  local script = h.tmpname(".py")
  local f = assert(io.open(script, "w"))
  f:write(table.concat(lines, "\n"), "\n", PY_PRELUDE)
  f:close()
  local p = assert(io.popen("/usr/bin/python3 -W ignore " .. script .. " '" .. url .. "' 2>&1"))
  local text = p:read("*a")
  p:close()
  os.remove(script)
  local ok, decoded = pcall(cjson.decode, text)
  assert(ok and type(decoded) == "table", "SQLAlchemy (the reference) did not run: " .. text)
  return decoded
end

-- Rows of a result as arrays of plain values, for comparison with SQLAlchemy's.
local function rows_of(result)
  local out = {}
  for i, row in ipairs(result:all()) do
    local r = {}
    for j = 1, #result:keys() do r[j] = row[j] end
    out[i] = r
  end
  return out
end

local function count(conn, tbl)
  return conn:execute(ath.select(ath.func.count()):select_from(tbl)):scalar()
end

-------------------------------------------------------------------- CAST

-- The SQL of an expression for a dialect (rendered as the one column of a SELECT).
local function sql_of(expr, dialect)
  return ((ath.select(expr):compile({ dialect = dialect })):gsub("^SELECT ", ""))
end

describe("ath.cast() spelled by the dialect in use", function()
  local x = ath.literal_column("x")

  -- golden(type, sqlite, postgresql, mysql): SQLAlchemy 1.4's CAST(x AS ...)
  -- for each dialect (MySQL renders x alone where it has no CAST target).
  local function golden(ty, sqlite, postgresql, mysql)
    local c = ath.cast(x, ty)
    assert.equal(sqlite, tostring(c))
    assert.equal(sqlite, sql_of(c, "sqlite"))
    assert.equal(postgresql, sql_of(c, "postgresql"))
    assert.equal(mysql, sql_of(c, "mysql"))
  end

  it("casts to String without a length on every dialect (MySQL: CHAR)", function()
    golden(ath.String, "CAST(x AS VARCHAR)", "CAST(x AS VARCHAR)", "CAST(x AS CHAR)")
    golden(ath.String(20), "CAST(x AS VARCHAR(20))", "CAST(x AS VARCHAR(20))", "CAST(x AS CHAR(20))")
    golden(ath.Text, "CAST(x AS TEXT)", "CAST(x AS TEXT)", "CAST(x AS CHAR)")
  end)

  it("spells every type as SQLAlchemy 1.4 does for sqlite, postgresql and mysql", function()
    golden(ath.Integer, "CAST(x AS INTEGER)", "CAST(x AS INTEGER)", "CAST(x AS SIGNED INTEGER)")
    golden(ath.SmallInteger, "CAST(x AS SMALLINT)", "CAST(x AS SMALLINT)", "CAST(x AS SIGNED INTEGER)")
    golden(ath.BigInteger, "CAST(x AS BIGINT)", "CAST(x AS BIGINT)", "CAST(x AS SIGNED INTEGER)")
    golden(ath.Float, "CAST(x AS FLOAT)", "CAST(x AS FLOAT)", "x")
    golden(ath.Numeric, "CAST(x AS NUMERIC)", "CAST(x AS NUMERIC)", "CAST(x AS DECIMAL)")
    golden(ath.Numeric(10, 2), "CAST(x AS NUMERIC(10, 2))", "CAST(x AS NUMERIC(10, 2))", "CAST(x AS DECIMAL(10, 2))")
    golden(ath.Numeric(10), "CAST(x AS NUMERIC(10))", "CAST(x AS NUMERIC(10))", "CAST(x AS DECIMAL(10))")
    golden(ath.Boolean, "CAST(x AS BOOLEAN)", "CAST(x AS BOOLEAN)", "x")
    golden(ath.Date, "CAST(x AS DATE)", "CAST(x AS DATE)", "CAST(x AS DATE)")
    golden(ath.Time, "CAST(x AS TIME)", "CAST(x AS TIME WITHOUT TIME ZONE)", "CAST(x AS TIME)")
    golden(ath.DateTime, "CAST(x AS DATETIME)", "CAST(x AS TIMESTAMP WITHOUT TIME ZONE)", "CAST(x AS DATETIME)")
    golden(ath.DateTime({ timezone = true }), "CAST(x AS DATETIME)", "CAST(x AS TIMESTAMP WITH TIME ZONE)",
      "CAST(x AS DATETIME)")
    golden(ath.LargeBinary, "CAST(x AS BLOB)", "CAST(x AS BYTEA)", "CAST(x AS BINARY)")
    -- athanor's JSON is JSONB on PostgreSQL (its DDL), as SQLAlchemy's postgresql.JSONB casts
    golden(ath.JSON, "CAST(x AS JSON)", "CAST(x AS JSONB)", "CAST(x AS JSON)")
    -- SQLAlchemy 2.0's Uuid: the native type on PostgreSQL, CHAR(32) elsewhere
    golden(ath.Uuid, "CAST(x AS CHAR(32))", "CAST(x AS UUID)", "CAST(x AS CHAR(32))")
    golden(ath.Enum({ "a", "bcd", name = "Mood" }), "CAST(x AS VARCHAR(3))", 'CAST(x AS "Mood")', "x")
  end)

  it("keeps the operand's parentheses where MySQL has no CAST target", function()
    local c = ath.cast(ath.literal_column("x") + 1, ath.Float) * 2
    assert.equal("(x + ?) * ?", sql_of(c, "mysql"))
    assert.equal("CAST(x + ? AS FLOAT) * ?", sql_of(c, "sqlite"))
  end)

  it("raises CompileError for an Enum without a name on PostgreSQL only", function()
    local c = ath.cast(x, ath.Enum({ "a", "b" }))
    assert.equal("CAST(x AS VARCHAR(1))", sql_of(c, "sqlite"))
    assert.equal("x", sql_of(c, "mysql"))
    local err = h.catch(function() sql_of(c, "postgresql") end)
    assert.is_true(ath.errors.is(err, "CompileError"))
    assert.matches("needs its type name", err.message, 1, true)
  end)

  it("caches one rendering per dialect and type", function()
    local a = ath.select(ath.cast(x, ath.String(5)))
    local b = ath.select(ath.cast(x, ath.String(6)))
    assert.equal("SELECT CAST(x AS VARCHAR(5))", (a:compile()))
    assert.equal("SELECT CAST(x AS VARCHAR(6))", (b:compile()))
    assert.equal("SELECT CAST(x AS CHAR(5))", (a:compile({ dialect = "mysql" })))
  end)
end)

describe("ath.cast() executed", function()
  local engine, conn
  local fx = h.schema_fixture(md)
  local reference

  -- { name, athanor statement, SQLAlchemy statement }
  local CASES = {
    { "salary as String", ath.select(e.id, ath.cast(e.salary, ath.String)):order_by(e.id),
      "sa.select(e.id, sa.cast(e.salary, sa.String)).order_by(e.id)" },
    { "salary as String(10) and Text", ath.select(ath.cast(e.salary, ath.String(10)), ath.cast(e.id, ath.Text)):order_by(e.id),
      "sa.select(sa.cast(e.salary, sa.String(10)), sa.cast(e.id, sa.Text)).order_by(e.id)" },
    { "name length as Integer", ath.select(ath.cast(ath.literal("42"), ath.Integer), ath.cast(ath.literal("7"), ath.BigInteger),
        ath.cast(ath.literal("3"), ath.SmallInteger)),
      "sa.select(sa.cast(sa.literal('42'), sa.Integer), sa.cast(sa.literal('7'), sa.BigInteger), "
      .. "sa.cast(sa.literal('3'), sa.SmallInteger))" },
    { "salary as Float", ath.select(ath.cast(e.salary, ath.Float)):where(e.id:eq(1)),
      "sa.select(sa.cast(e.salary, sa.Float)).where(e.id == 1)" },
    { "string compared after a cast", ath.select(e.name):where(ath.cast(e.salary, ath.String):eq("120")),
      "sa.select(e.name).where(sa.cast(e.salary, sa.String) == '120')" },
  }

  setup(function()
    conn = fx.open()
    engine = fx.engine
    conn:execute(ath.insert(depts), DEPTS)
    conn:execute(ath.insert(emps), EMPS)
    local cases = {}
    for i, c in ipairs(CASES) do cases[i] = { c[1], c[3] } end
    reference = sqlalchemy_results(h.url == "sqlite://" and ("sqlite:///" .. h._files[#h._files]) or h.url, cases)
  end)
  teardown(fx.close)

  it("casts to String without a length on the backend in use (it raised for MySQL's sake before)", function()
    local rows = rows_of(conn:execute(ath.select(ath.cast(e.salary, ath.String)):where(e.id:eq(3))))
    assert.same({ { "90" } }, rows)
  end)

  for _, c in ipairs(CASES) do
    it("returns SQLAlchemy's rows for " .. c[1], function()
      local ref = reference[c[1]]
      assert.is_nil(ref.error)
      assert.same(ref.rows, rows_of(conn:execute(c[2])))
    end)
  end

  it("keeps the engine usable", function()
    assert.equal(5, count(conn, emps))
    assert.is_truthy(engine)
  end)
end)

describe("ath.cast() to PostgreSQL's own types #postgresql", function()
  local conn
  local fx = h.schema_fixture(md)
  setup(function() conn = fx.open() end)
  teardown(fx.close)

  it("casts text to dates, times, JSONB, UUID and bytea", function()
    local row = conn:execute(ath.select(
      ath.cast(ath.literal("2026-11-24"), ath.Date):label("d"),
      ath.cast(ath.literal("2026-11-24 13:05:09"), ath.DateTime):label("dt"),
      ath.cast(ath.literal("13:05:09"), ath.Time):label("t"),
      ath.cast(ath.literal('{"a": 1}'), ath.JSON):label("j"),
      ath.cast(ath.literal("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), ath.Uuid):label("u"),
      ath.cast(ath.literal("12.5"), ath.Numeric(10, 2)):label("n"))):first()
    assert.equal("2026-11-24", row.d)
    assert.equal("2026-11-24 13:05:09", row.dt)
    assert.equal("13:05:09", row.t)
    assert.same({ a = 1 }, row.j)
    assert.equal("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", row.u)
    assert.equal(12.5, tonumber(row.n))
  end)
end)

--------------------------------------------------------------- correlation

describe("Correlation of subqueries", function()
  local conn
  local fx = h.schema_fixture(md)
  local reference

  -- A scalar subquery on emps alone: it keeps its FROM wherever it stands.
  local top2 = ath.select(ath.func.max(e.salary)):where(e.dept_id:eq(2)):scalar_subquery()
  local PY_TOP2 = "sa.select(sa.func.max(e.salary)).where(e.dept_id == 2).scalar_subquery()"
  -- One on emps and depts inside a select from emps: emps is correlated, depts stays.
  local dept_name = ath.select(d.name):where(d.id:eq(e.dept_id)):scalar_subquery()
  local PY_DEPT_NAME = "sa.select(d.name).where(d.id == e.dept_id).scalar_subquery()"
  -- One whose every table the enclosing select (emps, depts) has.
  local all_outer = ath.select(ath.func.max(e.salary)):where(e.dept_id:eq(d.id)):scalar_subquery()
  local PY_ALL_OUTER = "sa.select(sa.func.max(e.salary)).where(e.dept_id == d.id).scalar_subquery()"

  -- { name, athanor statement, SQLAlchemy statement, golden SQLite SQL }
  local KEEPS = {
    { "a single-table subquery in WHERE",
      ath.select(e.id):where(e.salary:eq(top2)),
      "sa.select(e.id).where(e.salary == " .. PY_TOP2 .. ")",
      "SELECT cc_emps.id FROM cc_emps WHERE cc_emps.salary = (SELECT max(cc_emps.salary) FROM cc_emps "
      .. "WHERE cc_emps.dept_id = ?)" },
    { "a single-table subquery in HAVING",
      ath.select(e.dept_id):group_by(e.dept_id):having(ath.func.max(e.salary):ge(top2)):order_by(e.dept_id),
      "sa.select(e.dept_id).group_by(e.dept_id).having(sa.func.max(e.salary) >= " .. PY_TOP2 .. ").order_by(e.dept_id)",
      "SELECT cc_emps.dept_id FROM cc_emps GROUP BY cc_emps.dept_id HAVING max(cc_emps.salary) >= "
      .. "(SELECT max(cc_emps.salary) FROM cc_emps WHERE cc_emps.dept_id = ?) ORDER BY cc_emps.dept_id" },
    { "a single-table subquery in the columns clause",
      ath.select(e.id, top2:label("top")):order_by(e.id),
      "sa.select(e.id, " .. PY_TOP2 .. ".label('top')).order_by(e.id)",
      "SELECT cc_emps.id, (SELECT max(cc_emps.salary) FROM cc_emps WHERE cc_emps.dept_id = ?) AS top FROM cc_emps "
      .. "ORDER BY cc_emps.id" },
    { "a two-table subquery in WHERE (emps correlated, depts kept)",
      ath.select(e.id):where(dept_name:eq("ops")):order_by(e.id),
      "sa.select(e.id).where(" .. PY_DEPT_NAME .. " == 'ops').order_by(e.id)",
      "SELECT cc_emps.id FROM cc_emps WHERE (SELECT cc_depts.name FROM cc_depts WHERE cc_depts.id = cc_emps.dept_id) "
      .. "= ? ORDER BY cc_emps.id" },
    { "a two-table subquery in HAVING",
      ath.select(e.dept_id, ath.func.count():label("n")):group_by(e.dept_id)
        :having(ath.select(ath.func.count()):where(d.id:eq(e.dept_id), d.name:ne("hr")):scalar_subquery():eq(1))
        :order_by(e.dept_id),
      "sa.select(e.dept_id, sa.func.count().label('n')).group_by(e.dept_id).having(sa.select(sa.func.count())"
      .. ".where(d.id == e.dept_id, d.name != 'hr').scalar_subquery() == 1).order_by(e.dept_id)",
      "SELECT cc_emps.dept_id, count(*) AS n FROM cc_emps GROUP BY cc_emps.dept_id HAVING (SELECT count(*) FROM cc_depts "
      .. "WHERE cc_depts.id = cc_emps.dept_id AND cc_depts.name != ?) = ? ORDER BY cc_emps.dept_id" },
    { "a two-table subquery in the columns clause",
      ath.select(e.name, dept_name:label("dept")):order_by(e.id),
      "sa.select(e.name, " .. PY_DEPT_NAME .. ".label('dept')).order_by(e.id)",
      "SELECT cc_emps.name, (SELECT cc_depts.name FROM cc_depts WHERE cc_depts.id = cc_emps.dept_id) AS dept "
      .. "FROM cc_emps ORDER BY cc_emps.id" },
    { "an explicit correlate() of a table the enclosing select lacks (kept)",
      ath.select(d.id):where(d.id:eq(ath.select(ath.func.max(e.dept_id)):correlate(emps):scalar_subquery())),
      "sa.select(d.id).where(d.id == sa.select(sa.func.max(e.dept_id)).correlate(emps).scalar_subquery())",
      "SELECT cc_depts.id FROM cc_depts WHERE cc_depts.id = (SELECT max(cc_emps.dept_id) FROM cc_emps)" },
    { "an explicit correlate() turning implicit correlation off",
      ath.select(e.id, d.name):where(e.dept_id:eq(d.id),
        e.salary:eq(ath.select(ath.func.max(e.salary)):where(e.dept_id:eq(d.id)):correlate(depts):scalar_subquery()))
        :order_by(e.id),
      "sa.select(e.id, d.name).where(e.dept_id == d.id, e.salary == sa.select(sa.func.max(e.salary))"
      .. ".where(e.dept_id == d.id).correlate(depts).scalar_subquery()).order_by(e.id)",
      "SELECT cc_emps.id, cc_depts.name FROM cc_emps, cc_depts WHERE cc_emps.dept_id = cc_depts.id AND cc_emps.salary = "
      .. "(SELECT max(cc_emps.salary) FROM cc_emps WHERE cc_emps.dept_id = cc_depts.id) ORDER BY cc_emps.id" },
    { "a subquery inside a subquery (correlated to the nearest enclosing query)",
      ath.select(e.id):where(ath.exists(ath.select(d.id):where(
        d.id:eq(ath.select(ath.func.max(e.dept_id)):where(e.id:eq(d.id)):scalar_subquery())))):order_by(e.id),
      "sa.select(e.id).where(sa.exists(sa.select(d.id).where(d.id == sa.select(sa.func.max(e.dept_id))"
      .. ".where(e.id == d.id).scalar_subquery()))).order_by(e.id)",
      "SELECT cc_emps.id FROM cc_emps WHERE EXISTS (SELECT cc_depts.id FROM cc_depts WHERE cc_depts.id = "
      .. "(SELECT max(cc_emps.dept_id) FROM cc_emps WHERE cc_emps.id = cc_depts.id)) ORDER BY cc_emps.id" },
  }

  -- { name, athanor statement, SQLAlchemy statement, phrase of the error }
  local REFUSED = {
    { "every table of the subquery in the enclosing select, in WHERE",
      ath.select(e.id, d.name):where(e.salary:eq(all_outer)),
      "sa.select(e.id, d.name).where(e.salary == " .. PY_ALL_OUTER .. ")",
      "SELECT max(cc_emps.salary) FROM cc_emps, cc_depts WHERE cc_emps.dept_id = cc_depts.id" },
    { "every table of the subquery in the enclosing select, in HAVING",
      ath.select(e.dept_id, d.name):group_by(e.dept_id, d.name):having(ath.func.max(e.salary):eq(all_outer)),
      "sa.select(e.dept_id, d.name).group_by(e.dept_id, d.name).having(sa.func.max(e.salary) == " .. PY_ALL_OUTER .. ")",
      "SELECT max(cc_emps.salary) FROM cc_emps, cc_depts WHERE cc_emps.dept_id = cc_depts.id" },
    { "every table of the subquery in the enclosing select, in the columns clause",
      ath.select(e.id, d.name, all_outer:label("top")),
      "sa.select(e.id, d.name, " .. PY_ALL_OUTER .. ".label('top'))",
      "SELECT max(cc_emps.salary) FROM cc_emps, cc_depts WHERE cc_emps.dept_id = cc_depts.id" },
  }

  -- correlate() naming the subquery's only table: SQLAlchemy renders a
  -- subquery with no FROM, which the database then refuses or reads as an
  -- aggregate of the enclosing query; athanor refuses it before sending.
  local explicit = ath.select(ath.func.max(e.salary)):where(e.dept_id:eq(2)):correlate(emps):scalar_subquery()
  local EXPLICIT = {
    { "in WHERE", ath.select(e.id):where(e.salary:eq(explicit)) },
    { "in HAVING", ath.select(e.dept_id):group_by(e.dept_id):having(ath.func.max(e.salary):eq(explicit)) },
    { "in the columns clause", ath.select(e.id, explicit:label("top")) },
  }

  setup(function()
    conn = fx.open()
    conn:execute(ath.insert(depts), DEPTS)
    conn:execute(ath.insert(emps), EMPS)
    local cases = {}
    for _, c in ipairs(KEEPS) do cases[#cases + 1] = { c[1], c[3] } end
    for _, c in ipairs(REFUSED) do cases[#cases + 1] = { c[1], c[3] } end
    reference = sqlalchemy_results(h.url == "sqlite://" and ("sqlite:///" .. h._files[#h._files]) or h.url, cases)
  end)
  teardown(fx.close)

  for _, c in ipairs(KEEPS) do
    it("renders " .. c[1] .. " with a FROM of its own", function()
      assert.equal(c[4], (c[2]:compile({ dialect = "sqlite" })))
      local n = 0
      assert.equal(c[4]:gsub("%?", function() n = n + 1 return "$" .. n end), (c[2]:compile({ dialect = "postgresql" })))
      assert.equal(c[4], (c[2]:compile({ dialect = "mysql" })))
    end)
    it("returns SQLAlchemy's rows for " .. c[1], function()
      local ref = reference[c[1]]
      assert.is_nil(ref.error)
      assert.is_true(#ref.rows > 0)
      assert.same(ref.rows, rows_of(conn:execute(c[2])))
    end)
  end

  for _, c in ipairs(REFUSED) do
    it("raises InvalidRequestError naming the subquery for " .. c[1] .. ", as SQLAlchemy does", function()
      local ref = reference[c[1]]
      assert.matches("^InvalidRequestError: .*returned no FROM clauses due to auto%-correlation", ref.error)
      for _, dialect in ipairs({ "sqlite", "postgresql", "mysql" }) do
        local err = h.catch(function() c[2]:compile({ dialect = dialect }) end)
        assert.is_true(ath.errors.is(err, "InvalidRequestError"))
        assert.matches("returned no FROM clauses due to auto-correlation; specify correlate(<tables>) to control "
          .. "correlation manually", err.message, 1, true)
      end
      local err = h.catch(function() conn:execute(c[2]) end)
      assert.is_true(ath.errors.is(err, "InvalidRequestError"))
      assert.matches("Select statement '" .. c[4], err.message, 1, true)
      assert.equal(5, count(conn, emps))
    end)
  end

  for _, c in ipairs(EXPLICIT) do
    it("raises InvalidRequestError for a correlate() that leaves the subquery no FROM, " .. c[1], function()
      local err = h.catch(function() conn:execute(c[2]) end)
      assert.is_true(ath.errors.is(err, "InvalidRequestError"))
      assert.matches("Select statement 'SELECT max(cc_emps.salary) FROM cc_emps WHERE cc_emps.dept_id = ", err.message, 1, true)
      assert.matches("returned no FROM clauses due to correlate(cc_emps)", err.message, 1, true)
      assert.equal(5, count(conn, emps))
    end)
  end

  it("correlates an EXISTS to the enclosing select when it keeps a FROM of its own", function()
    local stmt = ath.select(d.name):where(ath.exists(ath.select(e.id):where(e.dept_id:eq(d.id), e.salary:gt(110))))
      :order_by(d.id)
    assert.equal("SELECT cc_depts.name FROM cc_depts WHERE EXISTS (SELECT cc_emps.id FROM cc_emps WHERE "
      .. "cc_emps.dept_id = cc_depts.id AND cc_emps.salary > ?) ORDER BY cc_depts.id", (stmt:compile()))
    assert.same({ { "eng" }, { "ops" } }, rows_of(conn:execute(stmt)))
  end)
end)
