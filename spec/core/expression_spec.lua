-- The SQL expression language (API.md §4): golden SQL for every construct
-- on every dialect, and every construct executed on the test backend
-- against expected rows.
local ath = require("athanor")
local h = require("spec.helpers")

local md = ath.MetaData()
local teams = ath.Table("ex_teams", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(20), { nullable = false, unique = true }))
local users = ath.Table("ex_users", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(50), { nullable = false }),
  ath.Column("age", ath.Integer, { default = 18 }),
  ath.Column("team_id", ath.Integer, ath.ForeignKey("ex_teams.id")),
  ath.Column("parent_id", ath.Integer),
  ath.Column("active", ath.Boolean, { default = true }))
local u, t = users.c, teams.c

-- golden(stmt, sqlite, postgresql, mysql): the SQL each dialect renders
-- (mysql may be an error message prefix starting with "CompileError").
local function golden(stmt, sqlite, postgresql, mysql)
  assert.equal(sqlite, (stmt:compile({ dialect = "sqlite" })))
  assert.equal(postgresql, (stmt:compile({ dialect = "postgresql" })))
  if mysql:match("^CompileError") then
    local err = h.catch(function() stmt:compile({ dialect = "mysql" }) end)
    assert.is_true(ath.errors.is(err, "CompileError"))
    assert.equal(mysql, tostring(err))
  else
    assert.equal(mysql, (stmt:compile({ dialect = "mysql" })))
  end
end

-- Replace "?" placeholders by "$n" (most goldens differ only there).
local function pg(sql)
  local n = 0
  return (sql:gsub("%?", function() n = n + 1 return "$" .. n end))
end

local function golden2(stmt, sql, mysql)
  golden(stmt, sql, pg(sql), mysql or sql:gsub('"', "`"))
end

describe("expression language: golden SQL", function()
  it("select, where with several criteria, order, limit, offset", function()
    local s = ath.select(u.id, u.name):where(u.age:gt(25), u.name:like("A%"))
      :order_by(u.name:desc()):limit(10):offset(20)
    golden2(s, "SELECT ex_users.id, ex_users.name FROM ex_users WHERE ex_users.age > ? AND ex_users.name LIKE ? "
      .. "ORDER BY ex_users.name DESC LIMIT ? OFFSET ?")
    local sql, params = s:compile({ dialect = "postgresql" })
    assert.truthy(sql:find("$4", 1, true))
    assert.same({ 25, "A%", 10, 20 }, params)
    assert.equal(s:compile(), tostring(s))
  end)

  it("select(table) lists every column in creation order", function()
    golden2(ath.select(users), "SELECT ex_users.id, ex_users.name, ex_users.age, ex_users.team_id, "
      .. "ex_users.parent_id, ex_users.active FROM ex_users")
  end)

  it("comparison operators", function()
    golden2(ath.select(u.id):where(u.age:eq(1), u.age:ne(2), u.age:lt(3), u.age:le(4), u.age:ge(5)),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.age = ? AND ex_users.age != ? AND ex_users.age < ? "
      .. "AND ex_users.age <= ? AND ex_users.age >= ?")
  end)

  it("NULL: eq(ath.null) is IS NULL, ne(ath.null) IS NOT NULL, is_/is_not", function()
    golden2(ath.select(u.id):where(u.age:eq(ath.null), u.team_id:ne(ath.null), u.parent_id:is_(ath.null),
      u.name:is_not(ath.null)),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.age IS NULL AND ex_users.team_id IS NOT NULL "
      .. "AND ex_users.parent_id IS NULL AND ex_users.name IS NOT NULL")
  end)

  it("LIKE family; ILIKE is native on PostgreSQL and lower() LIKE lower() elsewhere", function()
    golden(ath.select(u.id):where(u.name:ilike("a%"), u.name:not_like("b%")),
      "SELECT ex_users.id FROM ex_users WHERE lower(ex_users.name) LIKE lower(?) AND ex_users.name NOT LIKE ?",
      "SELECT ex_users.id FROM ex_users WHERE ex_users.name ILIKE $1 AND ex_users.name NOT LIKE $2",
      "SELECT ex_users.id FROM ex_users WHERE lower(ex_users.name) LIKE lower(?) AND ex_users.name NOT LIKE ?")
    local s = ath.select(u.id):where(u.name:startswith("5%_"))
    golden2(s, "SELECT ex_users.id FROM ex_users WHERE ex_users.name LIKE ? ESCAPE '/'")
    local _, params = s:compile()
    assert.same({ "5/%/_%" }, params)
    local _, p2 = ath.select(u.id):where(u.name:endswith("x"), u.name:contains("y")):compile()
    assert.same({ "%x", "%y%" }, p2)
  end)

  it("in_ with a list, an empty list, not_in, a subquery; between", function()
    golden2(ath.select(u.id):where(u.id:in_({ 1, 2, 3 })),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.id IN (?, ?, ?)")
    golden2(ath.select(u.id):where(u.id:in_({})), "SELECT ex_users.id FROM ex_users WHERE 1 != 1")
    golden2(ath.select(u.id):where(u.id:not_in({})), "SELECT ex_users.id FROM ex_users WHERE 1 = 1")
    golden2(ath.select(u.id):where(u.id:not_in({ 4 })), "SELECT ex_users.id FROM ex_users WHERE ex_users.id NOT IN (?)")
    golden2(ath.select(u.name):where(u.team_id:in_(ath.select(t.id):where(t.name:eq("red")))),
      "SELECT ex_users.name FROM ex_users WHERE ex_users.team_id IN "
      .. "(SELECT ex_teams.id FROM ex_teams WHERE ex_teams.name = ?)")
    golden2(ath.select(u.id):where(u.age:between(10, 20)),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.age BETWEEN ? AND ?")
  end)

  it("and_/or_/not_ with parentheses where precedence needs them", function()
    golden2(ath.select(u.id):where(ath.or_(u.age:lt(18), ath.and_(u.age:gt(65), u.active:eq(true)))),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.age < ? OR ex_users.age > ? AND ex_users.active = ?")
    golden2(ath.select(u.id):where(ath.and_(ath.or_(u.age:lt(18), u.age:gt(65)), ath.not_(u.name:eq("x")))),
      "SELECT ex_users.id FROM ex_users WHERE (ex_users.age < ? OR ex_users.age > ?) AND NOT (ex_users.name = ?)")
    if h.lua54 then
      local s = load("local u = ... return u.age:lt(1) | u.age:gt(2) & ~u.name:eq('x')")(u)
      assert.equal("ex_users.age < ? OR ex_users.age > ? AND NOT (ex_users.name = ?)", tostring(s))
    end
  end)

  it("arithmetic, true division, floor division, unary minus, concatenation", function()
    golden(ath.select((u.age + 1) * 2, u.age / 2, u.age:floordiv(3), -u.age, u.name .. "!", u.age % 7),
      "SELECT (ex_users.age + ?) * ?, ex_users.age / CAST(? AS REAL), floor(ex_users.age / CAST(? AS REAL)), "
      .. "-ex_users.age, ex_users.name || ?, ex_users.age % ? FROM ex_users",
      "SELECT (ex_users.age + $1) * $2, ex_users.age / CAST($3 AS DOUBLE PRECISION), "
      .. "floor(ex_users.age / CAST($4 AS DOUBLE PRECISION)), -ex_users.age, ex_users.name || $5, ex_users.age % $6 FROM ex_users",
      "SELECT (ex_users.age + ?) * ?, ex_users.age / CAST(? AS DOUBLE), floor(ex_users.age / CAST(? AS DOUBLE)), "
      .. "-ex_users.age, concat(ex_users.name, ?), ex_users.age % ? FROM ex_users")
  end)

  it("label, cast, collate, case, functions, distinct", function()
    golden(ath.select(u.name:label("who"), ath.cast(u.age, ath.String(10)), ath.func.max(u.age), ath.func.count(),
        ath.case({ { u.age:lt(18), "minor" } }, { else_ = "adult" }):label("k"), ath.func.current_timestamp()),
      "SELECT ex_users.name AS who, CAST(ex_users.age AS VARCHAR(10)), max(ex_users.age), count(*), "
      .. "CASE WHEN ex_users.age < ? THEN ? ELSE ? END AS k, CURRENT_TIMESTAMP FROM ex_users",
      "SELECT ex_users.name AS who, CAST(ex_users.age AS VARCHAR(10)), max(ex_users.age), count(*), "
      .. "CASE WHEN ex_users.age < $1 THEN $2 ELSE $3 END AS k, CURRENT_TIMESTAMP FROM ex_users",
      "SELECT ex_users.name AS who, CAST(ex_users.age AS CHAR(10)), max(ex_users.age), count(*), "
      .. "CASE WHEN ex_users.age < ? THEN ? ELSE ? END AS k, CURRENT_TIMESTAMP FROM ex_users")
    golden2(ath.select(u.name):distinct():order_by(u.name:collate("nocase"):asc()),
      "SELECT DISTINCT ex_users.name FROM ex_users ORDER BY ex_users.name COLLATE nocase ASC")
    golden(ath.select(u.name):order_by(u.age:nulls_first()),
      "SELECT ex_users.name FROM ex_users ORDER BY ex_users.age NULLS FIRST",
      "SELECT ex_users.name FROM ex_users ORDER BY ex_users.age NULLS FIRST",
      "CompileError: NULLS FIRST is not supported by the mysql dialect")
  end)

  it("ORDER BY and GROUP BY a label use its name", function()
    local n = ath.func.count(u.id):label("n")
    golden2(ath.select(u.team_id, n):group_by(u.team_id):having(ath.func.count(u.id):gt(1)):order_by(n:desc()),
      "SELECT ex_users.team_id, count(ex_users.id) AS n FROM ex_users GROUP BY ex_users.team_id "
      .. "HAVING count(ex_users.id) > ? ORDER BY n DESC")
  end)

  it("joins: inferred ON from the one foreign key, explicit ON, outer, full, select_from", function()
    golden2(ath.select(u.name, t.name):join(teams),
      "SELECT ex_users.name, ex_teams.name FROM ex_users JOIN ex_teams ON ex_users.team_id = ex_teams.id")
    golden2(ath.select(t.name, u.name):join(users),
      "SELECT ex_teams.name, ex_users.name FROM ex_teams JOIN ex_users ON ex_teams.id = ex_users.team_id")
    golden2(ath.select(u.name, t.name):outerjoin(teams, u.team_id:eq(t.id)),
      "SELECT ex_users.name, ex_teams.name FROM ex_users LEFT OUTER JOIN ex_teams ON ex_users.team_id = ex_teams.id")
    golden(ath.select(u.name, t.name):outerjoin(teams, nil, { full = true }),
      "SELECT ex_users.name, ex_teams.name FROM ex_users FULL OUTER JOIN ex_teams ON ex_users.team_id = ex_teams.id",
      "SELECT ex_users.name, ex_teams.name FROM ex_users FULL OUTER JOIN ex_teams ON ex_users.team_id = ex_teams.id",
      "CompileError: FULL OUTER JOIN is not supported by the mysql dialect")
    golden2(ath.select(ath.func.count()):select_from(users:join(teams)),
      "SELECT count(*) FROM ex_users JOIN ex_teams ON ex_users.team_id = ex_teams.id")
  end)

  it("a join without exactly one foreign-key path is an error naming both tables", function()
    local u2 = users:alias("boss")
    local err = h.catch(function() ath.select(u.name):join(u2) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("'ex_users'", 1, true) and err.message:find("'boss'", 1, true))
  end)

  it("aliases and self-joins", function()
    local boss = users:alias("boss")
    golden2(ath.select(u.name, boss.c.name:label("boss")):join(boss, u.parent_id:eq(boss.c.id)),
      "SELECT ex_users.name, boss.name AS boss FROM ex_users JOIN ex_users AS boss ON ex_users.parent_id = boss.id")
  end)

  it("subqueries in FROM, scalar and correlated subqueries, EXISTS", function()
    local sub = ath.select(u.team_id, ath.func.count():label("n")):group_by(u.team_id):subquery("s")
    golden2(ath.select(t.name, sub.c.n):join(sub, t.id:eq(sub.c.team_id)),
      "SELECT ex_teams.name, s.n FROM ex_teams JOIN (SELECT ex_users.team_id, count(*) AS n FROM ex_users "
      .. "GROUP BY ex_users.team_id) AS s ON ex_teams.id = s.team_id")
    golden2(ath.select(t.name, ath.select(ath.func.count()):where(u.team_id:eq(t.id)):scalar_subquery():label("n")),
      "SELECT ex_teams.name, (SELECT count(*) FROM ex_users WHERE ex_users.team_id = ex_teams.id) AS n FROM ex_teams")
    golden2(ath.select(t.name):where(ath.exists(ath.select(u.id):where(u.team_id:eq(t.id)))),
      "SELECT ex_teams.name FROM ex_teams WHERE EXISTS (SELECT ex_users.id FROM ex_users WHERE ex_users.team_id = ex_teams.id)")
  end)

  it("CTEs, plain and recursive, are rendered once at the top", function()
    local counts = ath.select(u.team_id, ath.func.count():label("n")):group_by(u.team_id):cte("counts")
    golden2(ath.select(t.name, counts.c.n):join(counts, t.id:eq(counts.c.team_id)),
      "WITH counts AS (SELECT ex_users.team_id, count(*) AS n FROM ex_users GROUP BY ex_users.team_id) "
      .. "SELECT ex_teams.name, counts.n FROM ex_teams JOIN counts ON ex_teams.id = counts.team_id")
    local tree = ath.select(u.id, u.parent_id):where(u.id:eq(1)):cte("tree", { recursive = true })
    tree = tree:union_all(ath.select(u.id, u.parent_id):join(tree, u.parent_id:eq(tree.c.id)))
    golden2(ath.select(tree.c.id):order_by(tree.c.id),
      "WITH RECURSIVE tree AS (SELECT ex_users.id, ex_users.parent_id FROM ex_users WHERE ex_users.id = ? "
      .. "UNION ALL SELECT ex_users.id, ex_users.parent_id FROM ex_users JOIN tree ON ex_users.parent_id = tree.id) "
      .. "SELECT tree.id FROM tree ORDER BY tree.id")
  end)

  it("UNION, UNION ALL, INTERSECT, EXCEPT with ORDER BY and LIMIT", function()
    local a, b = ath.select(u.name):where(u.age:gt(1)), ath.select(t.name)
    golden2(a:union(b):order_by(u.name):limit(3),
      "SELECT ex_users.name FROM ex_users WHERE ex_users.age > ? UNION SELECT ex_teams.name FROM ex_teams "
      .. "ORDER BY name LIMIT ?")
    golden2(ath.union_all(a, b), "SELECT ex_users.name FROM ex_users WHERE ex_users.age > ? UNION ALL SELECT ex_teams.name FROM ex_teams")
    golden2(a:intersect(b), "SELECT ex_users.name FROM ex_users WHERE ex_users.age > ? INTERSECT SELECT ex_teams.name FROM ex_teams")
    golden2(a:except_(b), "SELECT ex_users.name FROM ex_users WHERE ex_users.age > ? EXCEPT SELECT ex_teams.name FROM ex_teams")
  end)

  it("OFFSET without LIMIT and FOR UPDATE per dialect", function()
    golden(ath.select(u.name):offset(5), "SELECT ex_users.name FROM ex_users LIMIT -1 OFFSET ?",
      "SELECT ex_users.name FROM ex_users OFFSET $1", "SELECT ex_users.name FROM ex_users LIMIT 18446744073709551615 OFFSET ?")
    golden(ath.select(u.name):where(u.id:eq(1)):with_for_update({ skip_locked = true }),
      "SELECT ex_users.name FROM ex_users WHERE ex_users.id = ?",
      "SELECT ex_users.name FROM ex_users WHERE ex_users.id = $1 FOR UPDATE SKIP LOCKED",
      "SELECT ex_users.name FROM ex_users WHERE ex_users.id = ? FOR UPDATE SKIP LOCKED")
    golden(ath.select(u.name):with_for_update({ read = true, nowait = true }), "SELECT ex_users.name FROM ex_users",
      "SELECT ex_users.name FROM ex_users FOR SHARE NOWAIT", "SELECT ex_users.name FROM ex_users FOR SHARE NOWAIT")
  end)

  it("add_columns, with_only_columns, t:select(), true_/false_, explicit correlate", function()
    golden2(ath.select(u.id):add_columns(u.name), "SELECT ex_users.id, ex_users.name FROM ex_users")
    golden2(ath.select(u.id):where(u.age:gt(1)):with_only_columns(u.name),
      "SELECT ex_users.name FROM ex_users WHERE ex_users.age > ?")
    golden2(teams:select():where(t.id:eq(1)), "SELECT ex_teams.id, ex_teams.name FROM ex_teams WHERE ex_teams.id = ?")
    golden(ath.select(u.id):where(u.active:is_(ath.true_), ath.not_(u.active:eq(ath.false_))),
      "SELECT ex_users.id FROM ex_users WHERE ex_users.active IS 1 AND NOT (ex_users.active = 0)",
      "SELECT ex_users.id FROM ex_users WHERE ex_users.active IS true AND NOT (ex_users.active = false)",
      "SELECT ex_users.id FROM ex_users WHERE ex_users.active IS true AND NOT (ex_users.active = false)")
    local inner = ath.select(ath.func.count()):where(u.team_id:eq(t.id)):correlate(teams)
    golden2(ath.select(t.name, inner:scalar_subquery()),
      "SELECT ex_teams.name, (SELECT count(*) FROM ex_users WHERE ex_users.team_id = ex_teams.id) FROM ex_teams")
  end)

  it("text, literal, literal_column, bindparam", function()
    golden2(ath.select(u.id):where(ath.text("age > :a AND name::text = ':x'")),
      "SELECT ex_users.id FROM ex_users WHERE age > ? AND name::text = ':x'")
    golden2(ath.select(ath.literal(5):label("five"), ath.literal_column("1 + 1")),
      "SELECT ? AS five, 1 + 1")
    local s = ath.select(u.id):where(u.name:eq(ath.bindparam("who")))
    golden2(s, "SELECT ex_users.id FROM ex_users WHERE ex_users.name = ?")
    local _, params = s:compile({ params = { who = "Ann" } })
    assert.same({ "Ann" }, params)
  end)

  it("insert: one row (with the Lua default), many rows, from_select, returning", function()
    golden2(ath.insert(users):values({ name = "a", id = 3 }),
      "INSERT INTO ex_users (id, name, age, active) VALUES (?, ?, ?, ?)")
    golden2(users:insert():values({ { name = "a" }, { name = "b", age = 3 } }),
      "INSERT INTO ex_users (name, age, active) VALUES (?, ?, ?), (?, ?, ?)")
    golden2(ath.insert(teams):from_select({ "name" }, ath.select(u.name)),
      "INSERT INTO ex_teams (name) SELECT ex_users.name FROM ex_users")
    golden(ath.insert(teams):values({ name = "x" }):returning(t.id, t.name),
      "INSERT INTO ex_teams (name) VALUES (?) RETURNING id, name",
      "INSERT INTO ex_teams (name) VALUES ($1) RETURNING id, name",
      "CompileError: RETURNING is not supported by the mysql dialect")
    golden(ath.insert(teams), "INSERT INTO ex_teams DEFAULT VALUES", "INSERT INTO ex_teams DEFAULT VALUES",
      "INSERT INTO ex_teams () VALUES ()")
  end)

  it("insert: ON CONFLICT DO NOTHING / DO UPDATE, ON DUPLICATE KEY UPDATE on mysql", function()
    local ins = ath.insert(teams):values({ id = 1, name = "red" })
    golden(ins:on_conflict_do_nothing({ index_elements = { "id" } }),
      "INSERT INTO ex_teams (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
      "INSERT INTO ex_teams (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
      "INSERT IGNORE INTO ex_teams (id, name) VALUES (?, ?)")
    golden(ins:on_conflict_do_update({ index_elements = { t.id }, set = { name = ins.excluded.name } }),
      "INSERT INTO ex_teams (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
      "INSERT INTO ex_teams (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
      "INSERT INTO ex_teams (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)")
  end)

  it("update and delete with where and returning", function()
    golden(ath.update(users):where(u.id:eq(1)):values({ age = u.age + 1, name = "z" }):returning(u.age),
      "UPDATE ex_users SET name = ?, age = ex_users.age + ? WHERE ex_users.id = ? RETURNING age",
      "UPDATE ex_users SET name = $1, age = ex_users.age + $2 WHERE ex_users.id = $3 RETURNING age",
      "CompileError: RETURNING is not supported by the mysql dialect")
    golden2(ath.delete(users):where(u.id:eq(1)), "DELETE FROM ex_users WHERE ex_users.id = ?")
    golden2(users:delete(), "DELETE FROM ex_users")
  end)

  it("statements are generative: methods never change the receiver", function()
    local base = ath.select(u.id)
    local a = base:where(u.age:gt(1))
    local b = base:where(u.age:lt(1)):order_by(u.id)
    assert.equal("SELECT ex_users.id FROM ex_users", tostring(base))
    assert.equal("SELECT ex_users.id FROM ex_users WHERE ex_users.age > ?", tostring(a))
    assert.equal("SELECT ex_users.id FROM ex_users WHERE ex_users.age < ? ORDER BY ex_users.id", tostring(b))
    local ins = ath.insert(teams)
    local _ = ins:values({ name = "x" })
    assert.equal("INSERT INTO ex_teams DEFAULT VALUES", tostring(ins))
  end)

  it("errors name the table, the column and the types", function()
    local err = h.catch(function() ath.select(users):filter_by({ nmae = "x" }) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.equal("Table 'ex_users' has no column 'nmae'", err.message)
    err = h.catch(function() ath.insert(users):values({ agee = 1 }) end)
    assert.equal("Table 'ex_users' has no column 'agee'", err.message)
    err = h.catch(function() return u.age:eq({}) end)
    assert.equal("Column 'age' expects an integer, got table", err.message)
    err = h.catch(function() return u.age:eq(nil) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    err = h.catch(function() ath.func["count(*); drop table x; --"]() end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    err = h.catch(function() ath.select(u.id):where(u.name:eq(ath.bindparam("who"))):compile({ dialect = "oracle" }) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("oracle", 1, true))
  end)
end)

describe("expression language: executed", function()
  local fx = h.schema_fixture(md)
  local conn

  setup(function()
    conn = fx.open()
    -- keys numbered by the database (1, 2, ... on fresh tables), so later
    -- inserts without a key don't collide with PostgreSQL's sequence
    conn:execute(ath.insert(teams), { { name = "red" }, { name = "blue" }, { name = "green" } })
    conn:execute(ath.insert(users), {
      { name = "Ann", age = 40, team_id = 1 },
      { name = "Bob", age = 17, team_id = 1, parent_id = 1 },
      { name = "Cy", team_id = 2, parent_id = 2, active = false },
      { name = "dee", age = 70, parent_id = 3 },
      { name = "50%_off", age = ath.null },
    })
    assert.same({ 1, 2, 3, 4, 5 }, (function()
      local ids = {}
      for row in conn:execute(ath.select(u.id):order_by(u.id)) do ids[#ids + 1] = row.id end
      return ids
    end)())
  end)

  teardown(function() fx.close() end)

  local function names(stmt, params)
    local out = {}
    for row in conn:execute(stmt, params) do out[#out + 1] = row[1] end
    return out
  end

  it("defaults were applied per row, Boolean converts both ways", function()
    local rows = conn:execute(ath.select(u.name, u.age, u.active):order_by(u.id)):all()
    assert.same({ "Cy", 18, false }, { rows[3].name, rows[3].age, rows[3].active })
    assert.equal(true, rows[1].active)
    assert.is_nil(rows[5].age)
  end)

  it("where, like, ilike, startswith, in_, between, null, order, limit, offset", function()
    assert.same({ "Ann", "dee" }, names(ath.select(u.name):where(u.age:gt(25)):order_by(u.id)))
    assert.same({ "Ann" }, names(ath.select(u.name):where(u.name:like("A%"))))
    assert.same({ "dee" }, names(ath.select(u.name):where(u.name:ilike("D%"))))
    assert.same({ "50%_off" }, names(ath.select(u.name):where(u.name:startswith("50%_"))))
    assert.same({}, names(ath.select(u.name):where(u.name:startswith("5_"))))
    assert.same({ "Ann", "Cy" }, names(ath.select(u.name):where(u.id:in_({ 1, 3 })):order_by(u.id)))
    assert.same({}, names(ath.select(u.name):where(u.id:in_({}))))
    assert.same({ "Bob", "Cy", "Ann" }, names(ath.select(u.name):where(u.age:between(10, 40)):order_by(u.age)))
    assert.same({ "50%_off" }, names(ath.select(u.name):where(u.age:eq(ath.null))))
    assert.same({ "Bob", "Cy" }, names(ath.select(u.name):order_by(u.id):limit(2):offset(1)))
    assert.same({ "Cy", "dee", "50%_off" }, names(ath.select(u.name):order_by(u.id):offset(2)))
  end)

  it("boolean logic, arithmetic, division, concatenation, case, cast", function()
    assert.same({ "Bob", "dee" }, names(ath.select(u.name):where(ath.or_(u.age:lt(18), u.age:gt(65))):order_by(u.id)))
    assert.same({ "Cy", "dee", "50%_off" }, names(ath.select(u.name):where(ath.or_(ath.not_(u.team_id:eq(1)),
      u.team_id:eq(ath.null))):order_by(u.id)))
    local row = conn:execute(ath.select((u.age + 2) * 3, u.age / 8, u.age:floordiv(8), -u.age, u.name .. "!",
      ath.case({ { u.age:lt(18), "minor" } }, { else_ = "adult" }), ath.cast(u.age, ath.String(10)))
      :where(u.id:eq(1))):first()
    assert.equal(126, row[1])
    assert.equal(5.0, row[2])
    assert.equal(5, math.floor(row[3]))
    assert.equal(-40, row[4])
    assert.equal("Ann!", row[5])
    assert.equal("adult", row[6])
    assert.equal("40", row[7])
    assert.equal(2.125, conn:execute(ath.select(u.age / 8):where(u.id:eq(2))):scalar())
  end)

  it("functions, labels, group by, having, distinct", function()
    assert.equal(5, conn:execute(ath.select(ath.func.count()):select_from(users)):scalar())
    assert.equal(70, conn:execute(ath.select(ath.func.max(u.age))):scalar())
    local n = ath.func.count(u.id):label("n")
    local rows = conn:execute(ath.select(u.team_id, n):where(u.team_id:ne(ath.null)):group_by(u.team_id)
      :having(ath.func.count(u.id):ge(1)):order_by(n:desc(), u.team_id)):all()
    assert.same({ 1, 2 }, { rows[1].team_id, rows[1].n })
    assert.same({ 2, 1 }, { rows[2].team_id, rows[2].n })
    assert.equal(3, #conn:execute(ath.select(u.team_id):distinct()):all())
  end)

  it("joins: inner, outer, self-join", function()
    local rows = conn:execute(ath.select(u.name, t.name:label("team")):join(teams):order_by(u.id)):all()
    assert.same({ "Ann", "red" }, { rows[1].name, rows[1].team })
    assert.equal(3, #rows)
    rows = conn:execute(ath.select(u.name, t.name:label("team")):outerjoin(teams):order_by(u.id)):all()
    assert.equal(5, #rows)
    assert.is_nil(rows[4].team)
    local boss = users:alias("boss")
    rows = conn:execute(ath.select(u.name, boss.c.name:label("boss")):join(boss, u.parent_id:eq(boss.c.id)):order_by(u.id)):all()
    assert.same({ "Bob", "Ann" }, { rows[1].name, rows[1].boss })
    if h.is_postgresql or tonumber((conn:exec_driver_sql("select sqlite_version()"):scalar() or "0"):match("^3%.(%d+)")) >= 39 then
      rows = conn:execute(ath.select(u.name, t.name):outerjoin(teams, nil, { full = true })):all()
      assert.equal(6, #rows)                         -- 5 users + the team nobody is in
    end
  end)

  it("subqueries: FROM, scalar, correlated, IN, EXISTS", function()
    local sub = ath.select(u.team_id, ath.func.count():label("n")):group_by(u.team_id):subquery("s")
    local rows = conn:execute(ath.select(t.name, sub.c.n):join(sub, t.id:eq(sub.c.team_id)):order_by(t.id)):all()
    assert.same({ "red", 2 }, { rows[1].name, rows[1].n })
    local members = ath.select(ath.func.count()):where(u.team_id:eq(t.id)):scalar_subquery()
    rows = conn:execute(ath.select(t.name, members:label("members")):order_by(t.id)):all()
    assert.same({ 2, 1, 0 }, { rows[1].members, rows[2].members, rows[3].members })
    assert.same({ "Ann", "Bob" }, names(ath.select(u.name):where(u.team_id:in_(ath.select(t.id):where(t.name:eq("red")))):order_by(u.id)))
    assert.same({ "green" }, names(ath.select(t.name):where(ath.not_(ath.exists(ath.select(u.id):where(u.team_id:eq(t.id)))))))
  end)

  it("CTEs, recursive CTEs, set operations", function()
    local tree = ath.select(u.id, u.parent_id):where(u.id:eq(1)):cte("tree", { recursive = true })
    tree = tree:union_all(ath.select(u.id, u.parent_id):join(tree, u.parent_id:eq(tree.c.id)))
    assert.same({ 1, 2, 3, 4 }, names(ath.select(tree.c.id):order_by(tree.c.id)))
    local a = ath.select(u.name):where(u.id:le(2))
    assert.same({ "Ann", "Bob", "blue", "green", "red" }, names(a:union(ath.select(t.name)):order_by(u.name)))
    assert.same({ "Ann" }, names(a:intersect(ath.select(u.name):where(u.id:eq(1)))))
    assert.same({ "Bob" }, names(a:except_(ath.select(u.name):where(u.id:eq(1)))))
    assert.equal(7, #conn:execute(ath.union_all(a, ath.select(u.name):where(u.id:ge(1)))):all())
  end)

  it("text in a select, bindparam values at execution, a missing one is an error", function()
    assert.same({ "dee" }, names(ath.select(u.name):where(ath.text("age > :a")), { a = 65 }))
    assert.same({ "Bob" }, names(ath.select(u.name):where(u.name:eq(ath.bindparam("who"))), { who = "Bob" }))
    local err = h.catch(function() conn:execute(ath.select(u.name):where(u.name:eq(ath.bindparam("who")))) end)
    assert.is_true(ath.errors.is(err, "ArgumentError"))
    assert.equal("A value is required for bind parameter 'who'", err.message)
    assert.same({ "Cy" }, names(ath.select(u.name):where(ath.text("id = :i"):bindparams({ i = 3 }))))
  end)

  it("insert returns inserted_primary_key; RETURNING rows; update and delete counts", function()
    conn:begin()
    local r = conn:execute(ath.insert(teams):values({ name = "gold" }))
    local id = r:inserted_primary_key()[1]
    assert.is_true(id > 3)
    assert.equal("gold", conn:execute(ath.select(t.name):where(t.id:eq(id))):scalar())
    r = conn:execute(ath.insert(teams):values({ name = "teal" }):returning(t.id, t.name))
    local row = r:one()
    assert.equal("teal", row.name)
    assert.equal(id + 1, row.id)
    r = conn:execute(ath.update(users):where(u.age:ne(ath.null)):values({ age = u.age + 1 }))
    assert.equal(4, r.rowcount)
    r = conn:execute(ath.update(users):where(u.id:eq(1)):values({ name = "Anne" }):returning(u.name, u.active))
    local updated = r:first()
    assert.same({ "Anne", true }, { updated[1], updated[2] })
    r = conn:execute(ath.delete(teams):where(t.name:in_({ "gold", "teal" })))
    assert.equal(2, r.rowcount)
    conn:rollback()
    assert.equal("Ann", conn:execute(ath.select(u.name):where(u.id:eq(1))):scalar())
  end)

  it("ON CONFLICT DO NOTHING and DO UPDATE", function()
    conn:begin()
    conn:execute(ath.insert(teams):values({ id = 1, name = "dup" }):on_conflict_do_nothing({ index_elements = { "id" } }))
    assert.equal("red", conn:execute(ath.select(t.name):where(t.id:eq(1))):scalar())
    local ins = ath.insert(teams):values({ id = 1, name = "crimson" })
    conn:execute(ins:on_conflict_do_update({ index_elements = { "id" }, set = { name = ins.excluded.name } }))
    assert.equal("crimson", conn:execute(ath.select(t.name):where(t.id:eq(1))):scalar())
    conn:rollback()
  end)

  it("insert from_select and executemany with a key missing from one row", function()
    conn:begin()
    conn:execute(ath.insert(teams):from_select({ "name" }, ath.select(u.name):where(u.id:eq(4))))
    assert.equal(1, conn:execute(ath.select(ath.func.count()):where(t.name:eq("dee"))):scalar())
    conn:execute(ath.insert(users), { { id = 10, name = "x", age = 1 }, { id = 11, name = "y" } })
    assert.equal(18, conn:execute(ath.select(u.age):where(u.id:eq(11))):scalar())
    conn:rollback()
  end)

  it("update and delete run once per parameter set with bindparams", function()
    conn:begin()
    local r = conn:execute(ath.update(users):where(u.id:eq(ath.bindparam("k"))), { { k = 1, age = 41 }, { k = 2, age = 18 } })
    assert.equal(2, r.rowcount)
    assert.same({ 41, 18 }, { conn:execute(ath.select(u.age):where(u.id:eq(1))):scalar(),
                               conn:execute(ath.select(u.age):where(u.id:eq(2))):scalar() })
    r = conn:execute(ath.delete(users):where(u.id:eq(ath.bindparam("k"))), { { k = 4 }, { k = 5 } })
    assert.equal(2, r.rowcount)
    assert.equal(3, conn:execute(ath.select(ath.func.count()):select_from(users)):scalar())
    conn:rollback()
  end)

  it("Lua function defaults run once per row; onupdate applies when a column is not set", function()
    local calls = 0
    local dmd = ath.MetaData()
    local notes = ath.Table("ex_notes", dmd,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("body", ath.Text),
      ath.Column("serial", ath.Integer, { default = function() calls = calls + 1 return calls * 10 end }),
      ath.Column("edits", ath.Integer, { default = 0, onupdate = function() return 99 end }))
    dmd:create_all(conn)
    conn:execute(ath.insert(notes), { { body = "a" }, { body = "b" }, { body = "c", serial = 7 } })
    conn:execute(notes:insert():values({ body = "d" }))
    assert.equal(3, calls)
    -- no values at all: every column's default, and the key comes back
    assert.same({ 5 }, conn:execute(notes:insert()):inserted_primary_key())
    assert.equal(4, calls)
    conn:execute(ath.delete(notes):where(notes.c.id:eq(5)))
    local rows = conn:execute(ath.select(notes.c.serial, notes.c.edits):order_by(notes.c.id)):all()
    assert.same({ 10, 20, 7, 30 }, { rows[1].serial, rows[2].serial, rows[3].serial, rows[4].serial })
    assert.equal(0, rows[1].edits)
    conn:execute(ath.update(notes):where(notes.c.body:eq("a")):values({ body = "A" }))
    assert.equal(99, conn:execute(ath.select(notes.c.edits):where(notes.c.body:eq("A"))):scalar())
    conn:execute(ath.update(notes):where(notes.c.body:eq("b")):values({ body = "B", edits = 5 }))
    assert.equal(5, conn:execute(ath.select(notes.c.edits):where(notes.c.body:eq("B"))):scalar())
    dmd:drop_all(conn)
  end)

  it("text with typed columns converts results; FOR UPDATE runs inside a transaction", function()
    local rows = conn:execute(ath.text("SELECT active, name FROM ex_users ORDER BY id"):columns(u.active, u.name)):all()
    assert.equal(true, rows[1].active)
    assert.equal(false, rows[3].active)
    conn:begin()
    assert.equal("Ann", conn:execute(ath.select(u.name):where(u.id:eq(1)):with_for_update()):scalar())
    conn:rollback()
  end)

  it("a failed statement leaves nothing half-written", function()
    local err = h.catch(function()
      conn:execute(ath.insert(users), { { id = 20, name = "ok" }, { id = 1, name = "dup" } })
    end)
    assert.is_true(ath.errors.is(err, "IntegrityError"))
    assert.equal(0, conn:execute(ath.select(ath.func.count()):where(u.id:eq(20))):scalar())
  end)
end)
