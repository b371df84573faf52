-- Schema layer (API.md §3): MetaData/Table/Column, constraints, DDL per
-- dialect, sorted_tables and create_all/drop_all on the test backend.
-- (Specs once tagged #knownbug pinned bugs that are now fixed.)
local ath = require("athanor")
local errors = ath.errors
local ddl = require("athanor.schema.ddl")
local h = require("spec.helpers")

local function contains(s, sub)
  assert(type(s) == "string", "expected a string, got " .. type(s))
  assert(s:find(sub, 1, true), ("expected %q in %q"):format(sub, s))
end

-- The ArgumentError raised by fn(...) (fails the spec for anything else).
local function arg_error(fn, ...)
  local err = h.catch(fn, ...)
  assert(errors.is(err, "ArgumentError"), "expected an ArgumentError, got " .. tostring(err))
  return err
end

local function names(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.name end
  return out
end

-- CREATE TABLE text as the DDL generator lays it out: one item per line.
local function create(head, ...)
  return "CREATE TABLE " .. head .. " (\n\t" .. table.concat({ ... }, ",\n\t") .. "\n)"
end

describe("Table and Column", function()
  it("keeps the columns in creation order", function()
    local order = { "zeta", "alpha", "mu", "beta", "omega", "gamma", "kappa", "delta", "epsilon", "iota" }
    local cols = {}
    for i, n in ipairs(order) do cols[i] = ath.Column(n, ath.Integer) end
    local t = ath.Table("sch_order_kept", ath.MetaData(), (table.unpack or unpack)(cols))
    assert.same(order, names(t.columns))
    for i, n in ipairs(order) do assert.equal(cols[i], t.columns[i]); assert.equal(t.columns[i], t.c[n]) end
    -- and DDL follows the same order
    local sql = ddl.create_table_sql(t, "sqlite")
    local last = 0
    for _, n in ipairs(order) do
      local at = sql:find("\t" .. n .. " INTEGER", 1, true)
      assert.truthy(at, n)
      assert.is_true(at > last, n .. " is out of order")
      last = at
    end
  end)

  it("gives each column by name through t.c, with its name, type and table", function()
    local md = ath.MetaData()
    local name_type = ath.String(50)
    local t = ath.Table("sch_people", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("name", name_type, { nullable = false }),
      ath.Column("age", ath.Integer, { default = 18 }))
    assert.equal(t.columns[2], t.c.name)
    assert.equal(t.c.name, t.c["name"])
    assert.equal("name", t.c.name.name)
    assert.equal(name_type, t.c.name.type)
    assert.equal(ath.Integer, t.c.age.type)
    for _, col in ipairs(t.columns) do assert.equal(t, col.table) end
    assert.is_nil(t.c.nope)
    assert.equal(3, #t.columns)
    assert.equal(t, md.tables.sch_people)
  end)

  it("lists the primary key column and makes it NOT NULL; other columns are nullable unless told", function()
    local t = ath.Table("sch_pk1", ath.MetaData(),
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("name", ath.String(20), { nullable = false }),
      ath.Column("note", ath.Text))
    assert.equal(1, #t.primary_key)
    assert.equal(t.c.id, t.primary_key[1])
    assert.is_true(t.c.id.primary_key)
    assert.is_false(t.c.id.nullable)
    assert.is_false(t.c.name.primary_key)
    assert.is_false(t.c.name.nullable)
    assert.is_true(t.c.note.nullable)
  end)

  it("takes a composite primary key from PrimaryKeyConstraint, in the constraint's order", function()
    local t = ath.Table("sch_memberships", ath.MetaData(),
      ath.Column("user_id", ath.Integer),
      ath.Column("tenant_id", ath.Integer),
      ath.Column("kind", ath.String(10)),
      ath.PrimaryKeyConstraint("tenant_id", "user_id", { name = "pk_memberships" }))
    assert.same({ "tenant_id", "user_id" }, names(t.primary_key))
    assert.equal(t.c.tenant_id, t.primary_key[1])
    assert.is_false(t.c.tenant_id.nullable)
    assert.is_false(t.c.user_id.nullable)
    assert.is_true(t.c.kind.nullable)
    -- a composite key is never SERIAL / autoincrement
    assert.equal(create("sch_memberships",
      "user_id INTEGER NOT NULL",
      "tenant_id INTEGER NOT NULL",
      "kind VARCHAR(10)",
      "CONSTRAINT pk_memberships PRIMARY KEY (tenant_id, user_id)"), ddl.create_table_sql(t, "postgresql"))
  end)

  -- Regression (fixed; was lua/athanor/schema/init.lua:203-209): a column flagged primary_key = true
  -- that is also named by a PrimaryKeyConstraint is appended to t.primary_key a
  -- second time, so the DDL says PRIMARY KEY (a, a, b), which databases reject.
  it("does not list a column twice when both its flag and a PrimaryKeyConstraint name it", function()
    local t = ath.Table("sch_pk_twice", ath.MetaData(),
      ath.Column("a", ath.Integer, { primary_key = true }),
      ath.Column("b", ath.Integer),
      ath.PrimaryKeyConstraint("a", "b"))
    assert.same({ "a", "b" }, names(t.primary_key))
    contains(ddl.create_table_sql(t, "sqlite"), "PRIMARY KEY (a, b)")
  end)
end)

describe("Bad schema input", function()
  local md
  before_each(function() md = ath.MetaData() end)

  it("rejects a table name that is not a string", function()
    local err = arg_error(ath.Table, 42, md, ath.Column("id", ath.Integer))
    contains(err.message, "Table name")
    contains(err.message, "42")
    arg_error(ath.Table, nil, md)
    arg_error(ath.Table, "", md)
    assert.is_nil(next(md.tables))
  end)

  it("rejects a duplicate column, naming the table and the column", function()
    local err = arg_error(ath.Table, "sch_dup", md,
      ath.Column("id", ath.Integer), ath.Column("email", ath.Text), ath.Column("email", ath.Text))
    contains(err.message, "'sch_dup'")
    contains(err.message, "'email'")
    assert.is_nil(md.tables.sch_dup)
  end)

  it("rejects a second table of the same name in one MetaData, and keeps the first", function()
    local first = ath.Table("sch_twice", md, ath.Column("id", ath.Integer))
    local err = arg_error(ath.Table, "sch_twice", md, ath.Column("other", ath.Integer))
    contains(err.message, "'sch_twice'")
    assert.equal(first, md.tables.sch_twice)
    assert.same({ "sch_twice" }, names(md:sorted_tables()))
    -- another MetaData may hold a table of that name
    assert.equal("sch_twice", ath.Table("sch_twice", ath.MetaData(), ath.Column("id", ath.Integer)).name)
  end)

  it("rejects an unknown Column option, naming the column and the option", function()
    local err = arg_error(ath.Column, "age", ath.Integer, { primary = true })
    contains(err.message, "'age'")
    contains(err.message, "'primary'")
  end)

  it("rejects an options table that is not the last argument", function()
    local err = arg_error(ath.Column, "team_id", ath.Integer, { nullable = false }, ath.ForeignKey("sch_teams.id"))
    contains(err.message, "'team_id'")
    contains(err.message, "last")
    err = arg_error(ath.Table, "sch_opts", md, { comment = "x" }, ath.Column("id", ath.Integer))
    contains(err.message, "'sch_opts'")
    contains(err.message, "last")
  end)

  it("rejects a ForeignKey target without a dot", function()
    local err = arg_error(ath.ForeignKey, "sch_teams")
    contains(err.message, "sch_teams")
    contains(err.message, "table.column")
    arg_error(ath.ForeignKey, 42)
  end)

  it("rejects a String length that is not a positive integer", function()
    local err = arg_error(ath.String, -1)
    contains(err.message, "String")
    contains(err.message, "-1")
    arg_error(ath.String, 0)
    arg_error(ath.String, 2.5)
    arg_error(ath.String, "50")
  end)

  it("rejects a PrimaryKeyConstraint naming a column the table lacks", function()
    local err = arg_error(ath.Table, "sch_badpk", md, ath.Column("id", ath.Integer), ath.PrimaryKeyConstraint("idd"))
    contains(err.message, "'sch_badpk'")
    contains(err.message, "'idd'")
  end)
end)

describe("DDL per dialect", function()
  local md, teams, order

  before_each(function()
    md = ath.MetaData()
    teams = ath.Table("sch_teams", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("name", ath.String(50), { nullable = false, unique = true }),
      ath.Column("slug", ath.String(40), { unique = true, index = true }),
      ath.Column("created", ath.DateTime{ timezone = true }, { server_default = "CURRENT_TIMESTAMP" }))
    order = ath.Table("order", md,
      ath.Column("ref", ath.String(12), { primary_key = true }),
      ath.Column("Mixed Case", ath.String(20), { index = true }),
      ath.Column('say"hi', ath.Text),
      ath.Column("team_id", ath.Integer, ath.ForeignKey("sch_teams.id", { ondelete = "cascade" }), { nullable = false }),
      ath.Column("Total", ath.Numeric(10, 2), { server_default = "0" }),
      ath.Column("mood", ath.Enum{ "happy", "sad", name = "sch_mood" }),
      ath.UniqueConstraint("team_id", "Mixed Case"),
      ath.CheckConstraint('"Total" >= 0', { name = "ck_total" }))
    ath.Index("ix_order_team_mood", order.c.team_id, order.c.mood, { unique = true })
  end)

  local function index_sql(t, d)
    local out = {}
    for i, ix in ipairs(t.indexes) do out[i] = ddl.create_index_sql(ix, d) end
    return out
  end

  it("sqlite: quotes reserved, mixed-case and odd names with \" and doubles inner quotes", function()
    assert.equal(create('"order"',
      "ref VARCHAR(12) NOT NULL",
      '"Mixed Case" VARCHAR(20)',
      '"say""hi" TEXT',
      "team_id INTEGER NOT NULL",
      '"Total" NUMERIC(10, 2) DEFAULT 0',
      "mood VARCHAR(5)",
      "PRIMARY KEY (ref)",
      'UNIQUE (team_id, "Mixed Case")',
      'CONSTRAINT ck_total CHECK ("Total" >= 0)',
      "FOREIGN KEY (team_id) REFERENCES sch_teams (id) ON DELETE CASCADE"), ddl.create_table_sql(order, "sqlite"))
    assert.same({
      'CREATE INDEX "ix_order_Mixed Case" ON "order" ("Mixed Case")',
      'CREATE UNIQUE INDEX ix_order_team_mood ON "order" (team_id, mood)',
    }, index_sql(order, "sqlite"))
  end)

  it("sqlite: integer primary key, inline UNIQUE, unique index and server_default", function()
    assert.equal(create("sch_teams",
      "id INTEGER NOT NULL",
      "name VARCHAR(50) NOT NULL UNIQUE",
      "slug VARCHAR(40)",
      "created DATETIME DEFAULT CURRENT_TIMESTAMP",
      "PRIMARY KEY (id)"), ddl.create_table_sql(teams, "sqlite"))
    assert.same({ "CREATE UNIQUE INDEX ix_sch_teams_slug ON sch_teams (slug)" }, index_sql(teams, "sqlite"))
  end)

  it("postgresql: SERIAL key, TIMESTAMP WITH TIME ZONE and the enum's own type", function()
    assert.equal(create("sch_teams",
      "id SERIAL NOT NULL",
      "name VARCHAR(50) NOT NULL UNIQUE",
      "slug VARCHAR(40)",
      "created TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
      "PRIMARY KEY (id)"), ddl.create_table_sql(teams, "postgresql"))
    assert.equal(create('"order"',
      "ref VARCHAR(12) NOT NULL",
      '"Mixed Case" VARCHAR(20)',
      '"say""hi" TEXT',
      "team_id INTEGER NOT NULL",
      '"Total" NUMERIC(10, 2) DEFAULT 0',
      "mood sch_mood",
      "PRIMARY KEY (ref)",
      'UNIQUE (team_id, "Mixed Case")',
      'CONSTRAINT ck_total CHECK ("Total" >= 0)',
      "FOREIGN KEY (team_id) REFERENCES sch_teams (id) ON DELETE CASCADE"), ddl.create_table_sql(order, "postgresql"))
    assert.same({
      'CREATE INDEX "ix_order_Mixed Case" ON "order" ("Mixed Case")',
      'CREATE UNIQUE INDEX ix_order_team_mood ON "order" (team_id, mood)',
    }, index_sql(order, "postgresql"))
  end)

  it("mysql: quotes with backquotes (a double quote needs no doubling) and inlines ENUM", function()
    assert.equal(create("`order`",
      "ref VARCHAR(12) NOT NULL",
      "`Mixed Case` VARCHAR(20)",
      '`say"hi` TEXT',
      "team_id INTEGER NOT NULL",
      "`Total` NUMERIC(10, 2) DEFAULT 0",
      "mood ENUM('happy', 'sad')",
      "PRIMARY KEY (ref)",
      "UNIQUE (team_id, `Mixed Case`)",
      'CONSTRAINT ck_total CHECK ("Total" >= 0)',
      "FOREIGN KEY (team_id) REFERENCES sch_teams (id) ON DELETE CASCADE"), ddl.create_table_sql(order, "mysql"))
    assert.same({
      "CREATE INDEX `ix_order_Mixed Case` ON `order` (`Mixed Case`)",
      "CREATE UNIQUE INDEX ix_order_team_mood ON `order` (team_id, mood)",
    }, index_sql(order, "mysql"))
    local t = ath.Table("sch_tick`s", ath.MetaData(), ath.Column("select", ath.Integer), ath.Column("o'k", ath.Integer))
    contains(ddl.create_table_sql(t, "mysql"), "CREATE TABLE `sch_tick``s` (\n\t`select` INTEGER,\n\t`o'k` INTEGER\n)")
  end)

  -- Regression (fixed; was lua/athanor/schema/ddl.lua:266-277, column_ddl): only PostgreSQL numbers a
  -- single integer primary key itself (SERIAL); on MySQL the column gets no
  -- AUTO_INCREMENT, so an INSERT that omits id fails ("Field 'id' doesn't have a
  -- default value") instead of numbering the row.
  it("mysql: a single integer primary key is AUTO_INCREMENT", function()
    assert.equal(create("sch_teams",
      "id INTEGER NOT NULL AUTO_INCREMENT",
      "name VARCHAR(50) NOT NULL UNIQUE",
      "slug VARCHAR(40)",
      "created DATETIME DEFAULT CURRENT_TIMESTAMP",
      "PRIMARY KEY (id)"), ddl.create_table_sql(teams, "mysql"))
  end)

  it("does not quote plain lower-case names and quotes the others on every dialect", function()
    local t = ath.Table("sch_names", ath.MetaData(),
      ath.Column("plain_1", ath.Integer),
      ath.Column("user", ath.Integer),        -- reserved
      ath.Column("Upper", ath.Integer),       -- upper case
      ath.Column("1st", ath.Integer),         -- leading digit
      ath.Column("a-b", ath.Integer))         -- odd character
    for _, q in ipairs({ { "sqlite", '"' }, { "postgresql", '"' }, { "mysql", "`" } }) do
      local sql = ddl.create_table_sql(t, q[1])
      contains(sql, "\n\tplain_1 INTEGER")
      for _, n in ipairs({ "user", "Upper", "1st", "a-b" }) do
        contains(sql, "\n\t" .. q[2] .. n .. q[2] .. " INTEGER")
      end
    end
  end)

  -- Regression (fixed; was lua/athanor/dialects/init.lua:213-222): the reserved-word list is split
  -- with gmatch("%a+"), which stops at "_", so current_date, current_time,
  -- current_timestamp, current_role, current_user and session_user are not in
  -- RESERVED (and "current", "date", "time", "role", "session"... are instead).
  -- A column named current_date is left bare and CREATE TABLE fails with a
  -- syntax error. Fix: gmatch("[%a_]+").
  it("quotes reserved words that contain an underscore", function()
    local t = ath.Table("sch_reserved", ath.MetaData(),
      ath.Column("current_date", ath.Date), ath.Column("session_user", ath.Text))
    for _, q in ipairs({ { "sqlite", '"' }, { "postgresql", '"' }, { "mysql", "`" } }) do
      local sql = ddl.create_table_sql(t, q[1])
      contains(sql, "\n\t" .. q[2] .. "current_date" .. q[2] .. " DATE")
      contains(sql, "\n\t" .. q[2] .. "session_user" .. q[2] .. " TEXT")
    end
  end)

  it("raises ArgumentError for an unknown dialect", function()
    local err = arg_error(ddl.create_table_sql, teams, "oracle9")
    contains(err.message, "oracle9")
  end)
end)

describe("MetaData:sorted_tables()", function()
  it("puts parents before children and otherwise keeps definition order", function()
    local md = ath.MetaData()
    ath.Table("sch_comments", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("post_id", ath.Integer, ath.ForeignKey("sch_posts.id")),
      ath.Column("user_id", ath.Integer, ath.ForeignKey("sch_users.id")))
    ath.Table("sch_posts", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("user_id", ath.Integer, ath.ForeignKey("sch_users.id")))
    ath.Table("sch_tags", md, ath.Column("id", ath.Integer, { primary_key = true }))
    ath.Table("sch_users", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("team_id", ath.Integer, ath.ForeignKey("sch_teams.id")),
      ath.Column("boss_id", ath.Integer, ath.ForeignKey("sch_users.id")))   -- self reference
    ath.Table("sch_teams", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("league_id", ath.Integer, ath.ForeignKey("sch_elsewhere.id")))  -- not in md
    assert.same({ "sch_teams", "sch_users", "sch_posts", "sch_comments", "sch_tags" }, names(md:sorted_tables()))
  end)

  it("raises CompileError naming a table when foreign keys form a cycle", function()
    local md = ath.MetaData()
    ath.Table("sch_cyc_a", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("b_id", ath.Integer, ath.ForeignKey("sch_cyc_b.id")))
    ath.Table("sch_cyc_b", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("c_id", ath.Integer, ath.ForeignKey("sch_cyc_c.id")))
    ath.Table("sch_cyc_c", md, ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("a_id", ath.Integer, ath.ForeignKey("sch_cyc_a.id")))
    local err = h.catch(md.sorted_tables, md)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
    assert.truthy(err.message:find("sch_cyc_[abc]"), err.message)
  end)
end)

-- Catalog queries on the test backend.
local function table_set(conn)
  local sql = h.is_postgresql
    and "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    or "SELECT name FROM sqlite_master WHERE type = 'table'"
  local set = {}
  for _, n in ipairs(conn:exec_driver_sql(sql):scalars():all()) do set[n] = true end
  return set
end

local function index_set(conn)
  local sql = h.is_postgresql
    and "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    or "SELECT name FROM sqlite_master WHERE type = 'index'"
  local set = {}
  for _, n in ipairs(conn:exec_driver_sql(sql):scalars():all()) do set[n] = true end
  return set
end

describe("create_all / drop_all", function()
  local engine, conn, log, md
  local ALL = { "sch_posts", "sch_users", "sch_teams", "sch_atom_ok", "sch_atom_bad", "sch_Quoted" }

  -- Table names of the CREATE TABLE / DROP TABLE statements echoed so far.
  local function logged(verb)
    local out = {}
    for _, sql in ipairs(log) do
      local n = sql:match("^" .. verb .. " TABLE (%S+)")
      if n then out[#out + 1] = n end
    end
    return out
  end

  before_each(function()
    log = {}
    engine = h.engine({ echo = function(sql) log[#log + 1] = sql end })
    conn = engine:connect()
    h.drop(conn, (table.unpack or unpack)(ALL))
    log = {}
    -- children defined before parents, so definition order would be wrong
    md = ath.MetaData()
    ath.Table("sch_posts", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("user_id", ath.Integer, ath.ForeignKey("sch_users.id", { ondelete = "CASCADE" }), { nullable = false }),
      ath.Column("title", ath.String(100), { nullable = false, index = true }))
    ath.Table("sch_users", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("email", ath.String(100), { nullable = false, unique = true, index = true }),
      ath.Column("team_id", ath.Integer, ath.ForeignKey("sch_teams.id")))
    local teams = ath.Table("sch_teams", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("name", ath.String(50), { nullable = false }))
    ath.Index("ix_sch_teams_name_id", teams.c.name, teams.c.id)
  end)

  after_each(function()
    if conn:closed() then conn = engine:connect() end
    h.drop(conn, (table.unpack or unpack)(ALL))
    conn:close(); engine:dispose(); h.cleanup()
  end)

  it("creates the tables parents first, with their indexes", function()
    md:create_all(engine)
    assert.same({ "sch_teams", "sch_users", "sch_posts" }, logged("CREATE"))
    local tables = table_set(conn)
    assert.is_true(tables.sch_teams and tables.sch_users and tables.sch_posts)
    local ix = index_set(conn)
    assert.is_true(ix.ix_sch_users_email, "ix_sch_users_email")
    assert.is_true(ix.ix_sch_posts_title, "ix_sch_posts_title")
    assert.is_true(ix.ix_sch_teams_name_id, "ix_sch_teams_name_id")
  end)

  it("makes the created schema enforce NOT NULL and unique indexes", function()
    md:create_all(engine)
    conn:exec_driver_sql("INSERT INTO sch_teams (name) VALUES (" .. h.ph(1) .. ")", { "reds" })
    conn:exec_driver_sql("INSERT INTO sch_users (email) VALUES (" .. h.ph(1) .. ")", { "a@x" })
    local err = h.catch(conn.exec_driver_sql, conn, "INSERT INTO sch_users (email) VALUES (" .. h.ph(1) .. ")", { "a@x" })
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    err = h.catch(conn.exec_driver_sql, conn, "INSERT INTO sch_teams (name) VALUES (NULL)")
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    -- the integer primary key numbers rows by itself
    assert.equal(1, conn:exec_driver_sql("SELECT id FROM sch_teams"):scalar())
  end)

  it("is a no-op the second time (checkfirst) and keeps the data", function()
    md:create_all(engine)
    conn:exec_driver_sql("INSERT INTO sch_teams (id, name) VALUES (7, 'reds')")
    log = {}
    md:create_all(engine)
    assert.same({}, logged("CREATE"))
    for _, sql in ipairs(log) do assert.is_nil(sql:find("^CREATE"), sql) end
    assert.equal(1, h.count(engine, "sch_teams"))
  end)

  it("creates only the missing tables", function()
    md:create_all(engine)
    h.drop(conn, "sch_posts")
    log = {}
    md:create_all(engine)
    assert.same({ "sch_posts" }, logged("CREATE"))
    assert.is_true(table_set(conn).sch_posts)
  end)

  it("drop_all drops children first and removes tables and indexes", function()
    md:create_all(engine)
    log = {}
    md:drop_all(engine)
    assert.same({ "sch_posts", "sch_users", "sch_teams" }, logged("DROP"))
    local tables, ix = table_set(conn), index_set(conn)
    for _, n in ipairs({ "sch_posts", "sch_users", "sch_teams" }) do assert.is_nil(tables[n], n) end
    assert.is_nil(ix.ix_sch_users_email)
    assert.is_nil(ix.ix_sch_teams_name_id)
    -- and a second drop_all finds nothing to drop
    log = {}
    md:drop_all(engine)
    assert.same({}, logged("DROP"))
  end)

  it("is atomic: when a later table fails, no table is left behind", function()
    local bad = ath.MetaData()
    ath.Table("sch_atom_ok", bad, ath.Column("id", ath.Integer, { primary_key = true }))
    ath.Table("sch_atom_bad", bad,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("qty", ath.Integer),
      ath.CheckConstraint("this is not sql"))
    local err = h.catch(bad.create_all, bad, engine)
    assert.is_true(errors.is(err, "DBAPIError"), tostring(err))
    contains(err.sql, "this is not sql")
    assert.same({ "sch_atom_ok", "sch_atom_bad" }, logged("CREATE"))   -- the first one did run
    local tables = table_set(conn)
    assert.is_nil(tables.sch_atom_ok)
    assert.is_nil(tables.sch_atom_bad)
    assert.equal(1, engine.pool:status().checked_out)                  -- only `conn`
  end)

  it("works on a Connection: commits on its own, or joins the caller's transaction", function()
    local tx = conn:begin()
    md:create_all(conn)
    assert.is_true(conn:in_transaction())
    assert.is_true(table_set(conn).sch_users)
    tx:rollback()
    assert.is_nil(table_set(conn).sch_users)

    md:create_all(conn)
    assert.is_false(conn:in_transaction())
    assert.is_true(engine:connect(function(c) return table_set(c).sch_users end))
  end)

  it("rejects something that is neither an Engine nor a Connection", function()
    local err = arg_error(md.create_all, md, 42)
    contains(err.message, "number")
  end)

  it("creates and drops tables whose names need quoting", function()
    local q = ath.MetaData()
    local t = ath.Table("sch_Quoted", q,
      ath.Column("order", ath.Integer, { primary_key = true }),
      ath.Column("Mixed Case", ath.String(20), { index = true }),
      ath.Column('say"hi', ath.Text))
    q:create_all(engine)
    assert.is_true(table_set(conn).sch_Quoted)
    assert.is_true(index_set(conn)["ix_sch_Quoted_Mixed Case"])
    conn:exec_driver_sql('INSERT INTO "sch_Quoted" ("order", "Mixed Case", "say""hi") VALUES (1, \'x\', \'y\')')
    local row = conn:exec_driver_sql('SELECT "order", "Mixed Case", "say""hi" FROM "sch_Quoted"'):one()
    assert.same({ 1, "x", "y" }, { row[1], row[2], row[3] })
    assert.equal("y", row['say"hi'])
    q:drop_all(engine)
    assert.is_nil(table_set(conn).sch_Quoted)
    assert.equal("sch_Quoted", t.name)
  end)
end)

describe("PostgreSQL enum types #postgresql", function()
  local engine, conn, md

  local function type_labels(c, name)
    return c:exec_driver_sql("SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid " ..
      "WHERE t.typname = $1 ORDER BY e.enumsortorder", { name }):scalars():all()
  end
  local function has_type(c, name)
    return c:exec_driver_sql("SELECT count(*) FROM pg_type WHERE typname = $1", { name }):scalar() > 0
  end

  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "sch_moods")
    conn:exec_driver_sql("DROP TYPE IF EXISTS sch_mood")
    md = ath.MetaData()
    ath.Table("sch_moods", md,
      ath.Column("id", ath.Integer, { primary_key = true }),
      ath.Column("mood", ath.Enum{ "happy", "sad", "o'k", name = "sch_mood" }))
  end)
  after_each(function()
    if conn:closed() then conn = engine:connect() end
    h.drop(conn, "sch_moods")
    conn:exec_driver_sql("DROP TYPE IF EXISTS sch_mood")
    conn:close(); engine:dispose()
  end)

  it("create_all creates the enum type before the table that uses it", function()
    assert.is_false(has_type(conn, "sch_mood"))
    md:create_all(engine)
    assert.same({ "happy", "sad", "o'k" }, type_labels(conn, "sch_mood"))
    local udt = conn:exec_driver_sql("SELECT udt_name FROM information_schema.columns " ..
      "WHERE table_schema = current_schema() AND table_name = 'sch_moods' AND column_name = 'mood'"):scalar()
    assert.equal("sch_mood", udt)
    md:create_all(engine)                     -- the second run leaves the type alone
    assert.same({ "happy", "sad", "o'k" }, type_labels(conn, "sch_mood"))
  end)

  it("drop_all removes the enum type with its table", function()
    md:create_all(engine)
    md:drop_all(engine)
    assert.is_nil(table_set(conn).sch_moods)
    assert.is_false(has_type(conn, "sch_mood"))
  end)

  it("the database refuses a value outside the enum", function()
    md:create_all(engine)
    conn:exec_driver_sql("INSERT INTO sch_moods (mood) VALUES ($1)", { "o'k" })
    assert.equal("o'k", conn:exec_driver_sql("SELECT mood FROM sch_moods"):scalar())
    local err = h.catch(conn.exec_driver_sql, conn, "INSERT INTO sch_moods (mood) VALUES ($1)", { "grumpy" })
    assert.is_true(errors.is(err, "DBAPIError"), tostring(err))
    assert.equal(1, h.count(engine, "sch_moods"))
  end)
end)

describe("schema DDL limits", function()
  it("DDL a dialect cannot express is a CompileError naming what to change", function()
    local t = ath.Table("sch_loose", ath.MetaData(), ath.Column("s", ath.String), ath.Column("m", ath.Enum({ "a", "b" })))
    local err = h.catch(function() ddl.create_table_sql(t, "mysql") end)
    assert.is_true(errors.is(err, "CompileError"))
    assert.truthy(err.message:find("VARCHAR requires a length on the mysql dialect", 1, true))
    err = h.catch(function() ddl.create_table_sql(t, "postgresql") end)
    assert.is_true(errors.is(err, "CompileError"))
    assert.truthy(err.message:find("give it a name", 1, true))
    assert.truthy(ddl.create_table_sql(t, "sqlite"):find("s VARCHAR,", 1, true))
  end)
end)
