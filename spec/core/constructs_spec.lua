-- The SQLAlchemy Core constructs of API.md §4 "Also": window functions,
-- aggregate FILTER, count(DISTINCT x), extract, tuple IN, like with escape,
-- DISTINCT ON, cte:alias, correlate_except, ins.excluded, within_group,
-- any_/all_ and lateral. For each: the SQL every dialect renders (compared
-- with SQLAlchemy 1.4's `str(stmt.compile(dialect=...))`, whitespace aside),
-- and the rows it gives on the test backend (docs/expressions.md shows both).
local ath = require("athanor")
local h = require("spec.helpers")

local md = ath.MetaData()
local emps = ath.Table("cx_emps", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(20)),
  ath.Column("dept", ath.String(10)),
  ath.Column("salary", ath.Integer),
  ath.Column("hired", ath.Date))
local e = emps.c
local e2 = emps:alias("e2")

local ROWS = {
  { id = 1, name = "ann", dept = "eng", salary = 100, hired = "2020-01-15" },
  { id = 2, name = "bob", dept = "eng", salary = 200, hired = "2021-03-03" },
  { id = 3, name = "c_d", dept = "ops", salary = 150, hired = "2020-07-03" },
  { id = 4, name = "cxd", dept = "ops", salary = 150, hired = "2022-11-30" },
  { id = 5, name = "eve", dept = "eng", salary = 300, hired = "2019-05-03" },
}

-- golden(stmt, { sqlite = ..., postgresql = ..., mysql = ... }): the SQL of
-- each dialect; a value starting with "CompileError" is the error expected.
local function golden(stmt, want)
  for _, d in ipairs({ "sqlite", "postgresql", "mysql" }) do
    if want[d]:match("^CompileError") then
      local err = h.catch(function() return stmt:compile({ dialect = d }) end)
      assert.is_true(ath.errors.is(err, "CompileError"), d)
      assert.equal(want[d], tostring(err), d)
    else
      assert.equal(want[d], (stmt:compile({ dialect = d })), d)
    end
  end
end

-- "?" placeholders as PostgreSQL's "$n"
local function pg(sql)
  local n = 0
  return (sql:gsub("%?", function() n = n + 1 return "$" .. n end))
end

-- The same SQL on every dialect but for placeholders.
local function same(sql) return { sqlite = sql, postgresql = pg(sql), mysql = sql } end

-- Rows as arrays of values.
local function rows_of(res)
  local out = {}
  for i, r in ipairs(res:all()) do
    local t = {}
    for j = 1, #r:_fields() do t[j] = r[j] end
    out[i] = t
  end
  return out
end

local function is_int(v) return math.type == nil and v == math.floor(v) or math.type(v) == "integer" end

describe("SQL constructs: golden SQL per dialect", function()
  it("renders a window function with PARTITION BY and ORDER BY", function()
    golden(ath.select(e.name, ath.func.row_number():over{ partition_by = e.dept, order_by = e.salary:desc() }:label("rn")),
      same("SELECT cx_emps.name, row_number() OVER (PARTITION BY cx_emps.dept ORDER BY cx_emps.salary DESC) AS rn "
        .. "FROM cx_emps"))
  end)

  it("renders ROWS and RANGE frames, nil as UNBOUNDED and 0 as CURRENT ROW", function()
    local function frame(opts)
      opts.order_by = e.id
      return (ath.select(ath.func.sum(e.salary):over(opts)):compile({ dialect = "postgresql" }))
    end
    local head = "SELECT sum(cx_emps.salary) OVER (ORDER BY cx_emps.id "
    assert.equal(head .. "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM cx_emps", frame({ rows = { -2, 0 } }))
    assert.equal(head .. "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM cx_emps",
      frame({ range = { nil, nil } }))
    assert.equal(head .. "ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING) FROM cx_emps", frame({ rows = { 0, 2 } }))
    assert.equal(head .. "ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) FROM cx_emps", frame({ rows = { 1, nil } }))
    golden(ath.select(ath.func.count():over()), same("SELECT count(*) OVER ()"))
    golden(ath.select(ath.func.count():over{ partition_by = { e.dept, e.name } }),
      same("SELECT count(*) OVER (PARTITION BY cx_emps.dept, cx_emps.name) FROM cx_emps"))
  end)

  it("refuses over() on something that is not a function call", function()
    local err = h.catch(function() return e.salary:over{ order_by = e.id } end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("over() applies to a function", 1, true))
    assert.truthy(tostring(err):find("'salary'", 1, true))
  end)

  it("refuses a frame that is not a pair of integers, or both rows and range", function()
    for _, bad in ipairs({ { rows = { 1.5, 0 } }, { rows = "2" }, { rows = { "a", 0 } }, { rows = { -1, 0 }, range = { nil, 0 } },
                           { partiton_by = e.dept }, { order_by = "id" } }) do
      local err = h.catch(function() return ath.func.count():over(bad) end)
      assert.is_true(ath.errors.is(err, "ArgumentError"))
      assert.truthy(tostring(err):find("over()", 1, true) or tostring(err):find("expects", 1, true))
    end
  end)

  it("renders FILTER (WHERE ...), and CASE inside the aggregate on MySQL", function()
    golden(ath.select(ath.func.count():filter(e.salary:gt(120)), ath.func.sum(e.salary):filter(e.dept:eq("eng"))), {
      sqlite = "SELECT count(*) FILTER (WHERE cx_emps.salary > ?), sum(cx_emps.salary) FILTER (WHERE cx_emps.dept = ?) "
        .. "FROM cx_emps",
      postgresql = "SELECT count(*) FILTER (WHERE cx_emps.salary > $1), sum(cx_emps.salary) FILTER "
        .. "(WHERE cx_emps.dept = $2) FROM cx_emps",
      mysql = "SELECT count(CASE WHEN cx_emps.salary > ? THEN 1 END), sum(CASE WHEN cx_emps.dept = ? THEN "
        .. "cx_emps.salary END) FROM cx_emps",
    })
    golden(ath.select(ath.func.count(e.dept:distinct()):filter(e.salary:gt(120)):over{ partition_by = e.dept }), {
      sqlite = "SELECT count(DISTINCT cx_emps.dept) FILTER (WHERE cx_emps.salary > ?) OVER (PARTITION BY cx_emps.dept) "
        .. "FROM cx_emps",
      postgresql = "SELECT count(DISTINCT cx_emps.dept) FILTER (WHERE cx_emps.salary > $1) OVER "
        .. "(PARTITION BY cx_emps.dept) FROM cx_emps",
      mysql = "SELECT count(DISTINCT CASE WHEN cx_emps.salary > ? THEN cx_emps.dept END) OVER "
        .. "(PARTITION BY cx_emps.dept) FROM cx_emps",
    })
  end)

  it("refuses filter() on something that is not a function call", function()
    local err = h.catch(function() return e.salary:filter(e.id:gt(1)) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("aggregate function", 1, true))
    err = h.catch(function() return ath.func.count():filter("salary > 1") end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
  end)

  it("renders count(DISTINCT x) from ath.distinct(x) and x:distinct()", function()
    local want = same("SELECT count(DISTINCT cx_emps.dept) FROM cx_emps")
    golden(ath.select(ath.func.count(ath.distinct(e.dept))), want)
    golden(ath.select(ath.func.count(e.dept:distinct())), want)
  end)

  it("renders EXTRACT, and STRFTIME cast to an integer on SQLite", function()
    golden(ath.select(ath.extract("month", e.hired)):where(ath.extract("day", e.hired):eq(3)), {
      sqlite = "SELECT CAST(STRFTIME('%m', cx_emps.hired) AS INTEGER) FROM cx_emps "
        .. "WHERE CAST(STRFTIME('%d', cx_emps.hired) AS INTEGER) = ?",
      postgresql = "SELECT EXTRACT(month FROM cx_emps.hired) FROM cx_emps WHERE EXTRACT(day FROM cx_emps.hired) = $1",
      mysql = "SELECT EXTRACT(month FROM cx_emps.hired) FROM cx_emps WHERE EXTRACT(day FROM cx_emps.hired) = ?",
    })
    golden(ath.select(ath.extract("quarter", e.hired)), {
      sqlite = "CompileError: extract('quarter') is not supported by the sqlite dialect",
      postgresql = "SELECT EXTRACT(quarter FROM cx_emps.hired) FROM cx_emps",
      mysql = "SELECT EXTRACT(quarter FROM cx_emps.hired) FROM cx_emps",
    })
    local err = h.catch(function() return ath.extract("year FROM x); DROP TABLE t; --", e.hired) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("unknown field", 1, true))
  end)

  it("renders tuple IN, with VALUES on SQLite", function()
    golden(ath.select(e.id):where(ath.tuple_(e.dept, e.salary):in_({ { "eng", 200 }, { "ops", 150 } })), {
      sqlite = "SELECT cx_emps.id FROM cx_emps WHERE (cx_emps.dept, cx_emps.salary) IN (VALUES (?, ?), (?, ?))",
      postgresql = "SELECT cx_emps.id FROM cx_emps WHERE (cx_emps.dept, cx_emps.salary) IN (($1, $2), ($3, $4))",
      mysql = "SELECT cx_emps.id FROM cx_emps WHERE (cx_emps.dept, cx_emps.salary) IN ((?, ?), (?, ?))",
    })
    local err = h.catch(function() return ath.tuple_(e.dept, e.salary):in_({ { "eng" } }) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(tostring(err):find("rows of 2 values", 1, true))
    err = h.catch(function() return ath.tuple_(e.dept, e.salary):in_({ { "eng", 2.5 } }) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
  end)

  it("renders LIKE ... ESCAPE, outside lower() where ILIKE is emulated", function()
    golden(ath.select(e.id):where(e.name:like("c/_%", { escape = "/" })),
      same("SELECT cx_emps.id FROM cx_emps WHERE cx_emps.name LIKE ? ESCAPE '/'"))
    golden(ath.select(e.id):where(e.name:ilike("C/_%", { escape = "/" })), {
      sqlite = "SELECT cx_emps.id FROM cx_emps WHERE lower(cx_emps.name) LIKE lower(?) ESCAPE '/'",
      postgresql = "SELECT cx_emps.id FROM cx_emps WHERE cx_emps.name ILIKE $1 ESCAPE '/'",
      mysql = "SELECT cx_emps.id FROM cx_emps WHERE lower(cx_emps.name) LIKE lower(?) ESCAPE '/'",
    })
    golden(ath.select(e.id):where(e.name:not_like("a'%", { escape = "'" })),
      same("SELECT cx_emps.id FROM cx_emps WHERE cx_emps.name NOT LIKE ? ESCAPE ''''"))
    for _, bad in ipairs({ { escape = "//" }, { escape = 1 }, "/" }) do
      local err = h.catch(function() return e.name:like("x", bad) end)
      assert.is_true(ath.errors.is(err, "ArgumentError"))
      assert.truthy(tostring(err):find("like()", 1, true))
    end
  end)

  it("renders DISTINCT ON on PostgreSQL and refuses it elsewhere", function()
    golden(ath.select(e.dept, e.name):distinct(e.dept):order_by(e.dept, e.name), {
      sqlite = "CompileError: DISTINCT ON is not supported by the sqlite dialect",
      postgresql = "SELECT DISTINCT ON (cx_emps.dept) cx_emps.dept, cx_emps.name FROM cx_emps "
        .. "ORDER BY cx_emps.dept, cx_emps.name",
      mysql = "CompileError: DISTINCT ON is not supported by the mysql dialect",
    })
    golden(ath.select(e.dept):distinct(), same("SELECT DISTINCT cx_emps.dept FROM cx_emps"))
  end)

  it("renders a CTE referred to under another name with cte:alias", function()
    local c = ath.select(e.id, e.dept):cte("c")
    local c2 = c:alias("c2")
    golden(ath.select(c.c.id, c2.c.id):where(c.c.dept:eq(c2.c.dept)),
      same("WITH c AS (SELECT cx_emps.id, cx_emps.dept FROM cx_emps) SELECT c.id, c2.id FROM c, c AS c2 "
        .. "WHERE c.dept = c2.dept"))
  end)

  it("keeps the correlate_except elements in the subquery's own FROM", function()
    local sub = ath.select(ath.func.count()):where(e2.c.dept:eq(e.dept)):correlate_except(e2):scalar_subquery()
    golden(ath.select(e.name, sub:label("n")):where(e2.c.id:eq(e.id)),
      same("SELECT cx_emps.name, (SELECT count(*) FROM cx_emps AS e2 WHERE e2.dept = cx_emps.dept) AS n "
        .. "FROM cx_emps, cx_emps AS e2 WHERE e2.id = cx_emps.id"))
  end)

  it("renders ins.excluded inside on_conflict_do_update", function()
    local ins = ath.insert(emps):values({ id = 1, salary = 500 })
    golden(ins:on_conflict_do_update({ index_elements = { e.id }, set = { salary = ins.excluded.salary } }), {
      sqlite = "INSERT INTO cx_emps (id, salary) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET salary = excluded.salary",
      postgresql = "INSERT INTO cx_emps (id, salary) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET salary = "
        .. "excluded.salary",
      mysql = "INSERT INTO cx_emps (id, salary) VALUES (?, ?) ON DUPLICATE KEY UPDATE salary = VALUES(salary)",
    })
  end)

  it("renders WITHIN GROUP (ORDER BY ...)", function()
    golden(ath.select(ath.func.percentile_cont(0.5):within_group(e.salary),
                      ath.func.percentile_disc(0.5):within_group(e.salary:desc())),
      same("SELECT percentile_cont(?) WITHIN GROUP (ORDER BY cx_emps.salary), percentile_disc(?) WITHIN GROUP "
        .. "(ORDER BY cx_emps.salary DESC) FROM cx_emps"))
    local err = h.catch(function() return e.salary:within_group(e.id) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
  end)

  it("renders ANY (...) and ALL (...) with the value on the left, and refuses them on SQLite", function()
    local arr = ath.literal_column("ARRAY[100, 300]")
    golden(ath.select(e.id):where(ath.literal(3):eq(ath.any_(arr)), ath.all_(arr):lt(5)), {
      sqlite = "CompileError: ANY is not supported by the sqlite dialect",
      postgresql = "SELECT cx_emps.id FROM cx_emps WHERE $1 = ANY (ARRAY[100, 300]) AND $2 > ALL (ARRAY[100, 300])",
      mysql = "SELECT cx_emps.id FROM cx_emps WHERE ? = ANY (ARRAY[100, 300]) AND ? > ALL (ARRAY[100, 300])",
    })
    golden(ath.select(e.id):where(e.salary:ge(ath.all_(ath.select(e2.c.salary):where(e2.c.dept:eq("eng"))))), {
      sqlite = "CompileError: ALL is not supported by the sqlite dialect",
      postgresql = "SELECT cx_emps.id FROM cx_emps WHERE cx_emps.salary >= ALL (SELECT e2.salary FROM cx_emps AS e2 "
        .. "WHERE e2.dept = $1)",
      mysql = "SELECT cx_emps.id FROM cx_emps WHERE cx_emps.salary >= ALL (SELECT e2.salary FROM cx_emps AS e2 "
        .. "WHERE e2.dept = ?)",
    })
  end)

  it("renders a LATERAL subquery correlated to the FROM items before it", function()
    local top = ath.select(e2.c.name):where(e2.c.dept:eq(e.dept)):order_by(e2.c.salary:desc(), e2.c.name):limit(1)
      :lateral("top")
    golden(ath.select(e.id, top.c.name):select_from(emps:join(top, ath.true_)), {
      sqlite = "CompileError: LATERAL is not supported by the sqlite dialect",
      postgresql = "SELECT cx_emps.id, top.name FROM cx_emps JOIN LATERAL (SELECT e2.name FROM cx_emps AS e2 "
        .. "WHERE e2.dept = cx_emps.dept ORDER BY e2.salary DESC, e2.name LIMIT $1) AS top ON true",
      mysql = "SELECT cx_emps.id, top.name FROM cx_emps JOIN LATERAL (SELECT e2.name FROM cx_emps AS e2 "
        .. "WHERE e2.dept = cx_emps.dept ORDER BY e2.salary DESC, e2.name LIMIT ?) AS top ON true",
    })
  end)

  it("caches each frame, filter and extract field under its own key", function()
    local a = ath.select(ath.func.sum(e.salary):over{ order_by = e.id, rows = { -1, 0 } })
    local b = ath.select(ath.func.sum(e.salary):over{ order_by = e.id, rows = { -2, 0 } })
    local c = ath.select(ath.func.sum(e.salary):over{ order_by = e.id, range = { -1, 0 } })
    assert.are_not.equal(a:compile(), b:compile())
    assert.are_not.equal(a:compile(), c:compile())
    assert.are_not.equal(ath.select(ath.extract("year", e.hired)):compile(),
      ath.select(ath.extract("month", e.hired)):compile())
    assert.are_not.equal(ath.select(e.id):where(e.name:like("a", { escape = "/" })):compile(),
      ath.select(e.id):where(e.name:like("a", { escape = "!" })):compile())
    local c1 = ath.select(e.id):cte("c")
    assert.are_not.equal(ath.select(c1.c.id):compile(), ath.select(c1:alias("x").c.id):compile())
  end)
end)

describe("SQL constructs: executed rows", function()
  local engine, conn
  setup(function()
    engine = h.engine()
    conn = engine:connect()
    md:drop_all(conn)
    md:create_all(conn)
    conn:execute(emps:insert(), ROWS)
  end)
  teardown(function()
    md:drop_all(conn)
    conn:close()
    engine:dispose()
    h.cleanup()
  end)

  it("numbers rows per partition with row_number() OVER", function()
    local rn = ath.func.row_number():over{ partition_by = e.dept, order_by = { e.salary:desc(), e.id } }:label("rn")
    local rows = rows_of(conn:execute(ath.select(e.name, rn):order_by(e.id)))
    assert.same({ { "ann", 3 }, { "bob", 2 }, { "c_d", 1 }, { "cxd", 2 }, { "eve", 1 } }, rows)
    assert.is_true(is_int(rows[1][2]))
  end)

  it("sums over ROWS and RANGE frames", function()
    local moving = ath.func.sum(e.salary):over{ order_by = e.id, rows = { -2, 0 } }
    local running = ath.func.sum(e.salary):over{ order_by = e.id, range = { nil, 0 } }
    local total = ath.func.sum(e.salary):over{ order_by = e.id, rows = { nil, nil } }
    assert.same({ { 1, 100, 100, 900 }, { 2, 300, 300, 900 }, { 3, 450, 450, 900 }, { 4, 500, 600, 900 },
                  { 5, 600, 900, 900 } },
      rows_of(conn:execute(ath.select(e.id, moving, running, total):order_by(e.id))))
  end)

  it("aggregates only the rows FILTER keeps", function()
    local rows = rows_of(conn:execute(ath.select(ath.func.count():filter(e.salary:gt(120)),
      ath.func.sum(e.salary):filter(e.dept:eq("eng")))))
    assert.same({ { 4, 600 } }, rows)
  end)

  it("counts distinct values", function()
    assert.equal(2, conn:execute(ath.select(ath.func.count(ath.distinct(e.dept)))):scalar())
    assert.equal(2, conn:execute(ath.select(ath.func.count(e.dept:distinct()))):scalar())
  end)

  it("extracts date fields as integers", function()
    local rows = rows_of(conn:execute(ath.select(ath.extract("year", e.hired), ath.extract("month", e.hired))
      :where(e.id:eq(2))))
    assert.same({ { 2021, 3 } }, rows)
    assert.is_true(is_int(rows[1][1]))
    assert.same({ { 2 }, { 3 }, { 5 } },
      rows_of(conn:execute(ath.select(e.id):where(ath.extract("day", e.hired):eq(3)):order_by(e.id))))
  end)

  it("finds rows by tuple IN", function()
    assert.same({ { 2 }, { 3 }, { 4 } }, rows_of(conn:execute(ath.select(e.id)
      :where(ath.tuple_(e.dept, e.salary):in_({ { "eng", 200 }, { "ops", 150 } })):order_by(e.id))))
    assert.same({ { 1 }, { 5 } }, rows_of(conn:execute(ath.select(e.id)
      :where(ath.tuple_(e.dept, e.salary):not_in({ { "eng", 200 }, { "ops", 150 } })):order_by(e.id))))
  end)

  it("matches a LIKE wildcard literally after the escape character", function()
    assert.same({ { 3 }, { 4 } }, rows_of(conn:execute(ath.select(e.id):where(e.name:like("c_%")):order_by(e.id))))
    assert.same({ { 3 } }, rows_of(conn:execute(ath.select(e.id):where(e.name:like("c/_%", { escape = "/" })))))
    assert.same({ { 3 } }, rows_of(conn:execute(ath.select(e.id):where(e.name:ilike("C/_%", { escape = "/" })))))
    assert.same({ { 1 }, { 2 }, { 4 }, { 5 } }, rows_of(conn:execute(ath.select(e.id)
      :where(e.name:not_like("c/_%", { escape = "/" })):order_by(e.id))))
  end)

  it("joins a CTE to itself through cte:alias", function()
    local c = ath.select(e.id, e.dept):cte("c")
    local c2 = c:alias("c2")
    assert.same({ { 1, 2 }, { 1, 5 }, { 2, 5 }, { 3, 4 } }, rows_of(conn:execute(ath.select(c.c.id, c2.c.id)
      :where(c.c.dept:eq(c2.c.dept), c.c.id:lt(c2.c.id)):order_by(c.c.id, c2.c.id))))
  end)

  it("counts in the subquery's own FROM with correlate_except", function()
    local sub = ath.select(ath.func.count()):where(e2.c.dept:eq(e.dept)):correlate_except(e2):scalar_subquery()
    assert.same({ { "ann", 3 }, { "bob", 3 }, { "c_d", 2 }, { "cxd", 2 }, { "eve", 3 } },
      rows_of(conn:execute(ath.select(e.name, sub:label("n")):where(e2.c.id:eq(e.id)):order_by(e.id))))
  end)

  it("updates from the proposed row through ins.excluded", function()
    local ins = ath.insert(emps):values({ id = 1, name = "ann", dept = "eng", salary = 110, hired = "2020-01-15" })
    conn:execute(ins:on_conflict_do_update({ index_elements = { e.id }, set = { salary = ins.excluded.salary } }))
    assert.equal(110, conn:execute(ath.select(e.salary):where(e.id:eq(1))):scalar())
    conn:execute(ath.update(emps):where(e.id:eq(1)):values({ salary = 100 }))
    assert.equal(5, conn:execute(ath.select(ath.func.count()):select_from(emps)):scalar())
  end)
end)

describe("SQL constructs on PostgreSQL #postgresql", function()
  local engine, conn
  setup(function()
    engine = h.engine()
    conn = engine:connect()
    md:drop_all(conn)
    md:create_all(conn)
    conn:execute(emps:insert(), ROWS)
  end)
  teardown(function()
    md:drop_all(conn)
    conn:close()
    engine:dispose()
  end)

  it("keeps the first row of each DISTINCT ON group", function()
    assert.same({ { "eng", "eve" }, { "ops", "c_d" } }, rows_of(conn:execute(ath.select(e.dept, e.name)
      :distinct(e.dept):order_by(e.dept, e.salary:desc(), e.name))))
  end)

  it("computes ordered-set aggregates WITHIN GROUP", function()
    assert.same({ { 150.0, 150, "eng" } }, rows_of(conn:execute(ath.select(
      ath.func.percentile_cont(0.5):within_group(e.salary), ath.func.percentile_disc(0.5):within_group(e.salary),
      ath.func.mode():within_group(e.dept)))))
  end)

  it("compares with ANY and ALL of an array and of a subquery", function()
    local arr = ath.literal_column("ARRAY[100, 300]")
    assert.same({ { 1 }, { 5 } }, rows_of(conn:execute(ath.select(e.id):where(e.salary:eq(ath.any_(arr))):order_by(e.id))))
    assert.same({ { 5 } }, rows_of(conn:execute(ath.select(e.id)
      :where(e.salary:ge(ath.all_(ath.select(e2.c.salary):where(e2.c.dept:eq("eng"))))))))
    assert.same({ { 1 }, { 2 }, { 3 }, { 4 } }, rows_of(conn:execute(ath.select(e.id)
      :where(ath.any_(ath.select(e2.c.salary)):gt(e.salary)):order_by(e.id))))
  end)

  it("joins each row to its LATERAL subquery", function()
    local top = ath.select(e2.c.name):where(e2.c.dept:eq(e.dept)):order_by(e2.c.salary:desc(), e2.c.name):limit(1)
      :lateral("top")
    assert.same({ { 1, "eve" }, { 2, "eve" }, { 3, "c_d" }, { 4, "c_d" }, { 5, "eve" } },
      rows_of(conn:execute(ath.select(e.id, top.c.name):select_from(emps:join(top, ath.true_)):order_by(e.id))))
  end)
end)

describe("SQL constructs on SQLite #sqlite", function()
  it("refuses DISTINCT ON, ANY and LATERAL before anything reaches the database", function()
    local engine = h.engine()
    local conn = engine:connect()
    for _, stmt in ipairs({
      ath.select(e.dept):distinct(e.dept),
      ath.select(e.id):where(e.salary:eq(ath.any_(ath.select(e2.c.salary)))),
      ath.select(e.id):select_from(emps:join(ath.select(e2.c.id):lateral("l"), ath.true_)),
    }) do
      local err = h.catch(conn.execute, conn, stmt)
      assert.is_true(ath.errors.is(err, "CompileError"))
      assert.truthy(tostring(err):find("not supported by the sqlite dialect", 1, true))
    end
    conn:close()
    engine:dispose()
    h.cleanup()
  end)
end)
