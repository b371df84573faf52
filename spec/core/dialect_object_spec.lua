-- One dialect object per database (issue 15, item 1): engine.dialect is the
-- dialect module, its facts come from the C table the compiler renders by,
-- and a new database is one C table entry (core.register_dialect, a copy of
-- a built-in one with facts overridden) and one Lua module (dialects.define).
local ath = require("athanor")
local core = require("athanor.core")
local dialects = require("athanor.dialects")
local errors = require("athanor.errors")
local h = require("spec.helpers")

local md = ath.MetaData()
local teams = ath.Table("do_teams", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(20)))
local users = ath.Table("do_users", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("Name", ath.String(50)),                  -- upper case: quoted
  ath.Column("team_id", ath.Integer, ath.ForeignKey("do_teams.id")),
  ath.Column("active", ath.Boolean))
local u, t = users.c, teams.c

-- The toy database: PostgreSQL's SQL, but `...` identifiers, :1 placeholders,
-- 1/0 booleans, no RETURNING, INT for an Integer CAST and no bind casts.
local toy = dialects.define("toy", {
  facts = { base = "postgresql", quote = "`", paramstyle = "numeric", native_boolean = false,
            returning = false, bind_casts = false, limit_all = "LIMIT ALL", cast = { Integer = "INT" } },
  type_names = { Integer = "INT4", String = function(ty) return ("TEXT(%d)"):format(ty.length or 0) end },
})

local function sql_of(stmt) return (stmt:compile({ dialect = "toy" })) end

describe("engine.dialect", function()
  it("is the dialect module dialects.get returns for its name", function()
    local engine = h.engine()
    assert.is_true(rawequal(dialects.get(h.backend), engine.dialect))
    assert.equal(h.backend, engine.dialect.name)
    local conn = engine:connect()
    assert.is_true(rawequal(engine.dialect, conn.dialect))
    conn:close()
    engine:dispose()
  end)

  it("reads its placeholders and RETURNING from the C table the compiler renders by", function()
    local d = dialects.get(h.backend)
    assert.equal(core.dialect_facts(h.backend).paramstyle, d.paramstyle)
    assert.equal(h.is_postgresql and "numeric_dollar" or "qmark", d.paramstyle)
    assert.is_true(d.supports_returning)
    assert.is_false(dialects.get("mysql").supports_returning)
    assert.equal("INTEGER", d:cast_spelling("Integer"))
    assert.is_false(dialects.get("mysql"):cast_spelling("Boolean"))   -- rendered uncast there
  end)

  it("owns reflection's catalog queries; a dialect without them says so", function()
    assert.is_function(dialects.get(h.backend):reflector().get_columns)
    local err = h.catch(function() return dialects.get("mysql"):reflector() end)
    assert.is_true(errors.is(err, "InvalidRequestError"), tostring(err))
    assert.truthy(tostring(err):find("not available for the mysql dialect", 1, true))
  end)
end)

describe("A toy dialect (one C table entry and one Lua module)", function()
  it("is the object dialects.get returns, with the facts it was given", function()
    assert.is_true(rawequal(toy, dialects.get("toy")))
    assert.equal("numeric", toy.paramstyle)
    assert.is_false(toy.supports_returning)
    assert.equal("`", toy.facts.quote)
    assert.equal("INT", toy:cast_spelling("Integer"))
    assert.equal("`Name`", toy:quote("Name"))
  end)

  it("compiles select, join, where, order by, limit and offset with its quoting and placeholders", function()
    local q = ath.select(u.id, u.Name, t.name):select_from(users:join(teams, u.team_id:eq(t.id)))
      :where(u.active:eq(true), u.Name:like("a%")):order_by(u.Name:desc()):limit(5):offset(10)
    assert.equal("SELECT do_users.id, do_users.`Name`, do_teams.name FROM do_users JOIN do_teams ON "
      .. "do_users.team_id = do_teams.id WHERE do_users.active = :1 AND do_users.`Name` LIKE :2 "
      .. "ORDER BY do_users.`Name` DESC LIMIT :3 OFFSET :4", sql_of(q))
    local _, params = q:compile({ dialect = "toy" })
    assert.same({ true, "a%", 5, 10 }, params)
    -- OFFSET without LIMIT: its own "no limit"; booleans as 1/0
    assert.equal("SELECT do_users.id FROM do_users WHERE do_users.active = 1 LIMIT ALL OFFSET :1",
      sql_of(ath.select(u.id):where(u.active:eq(ath.true_)):offset(3)))
    -- || and ILIKE are PostgreSQL's (the base's facts)
    assert.equal("SELECT do_users.`Name` || :1 AS x FROM do_users WHERE do_users.`Name` ILIKE :2",
      sql_of(ath.select((u.Name .. "!"):label("x")):where(u.Name:ilike("a%"))))
  end)

  it("compiles insert, update and delete, and refuses RETURNING it does not have", function()
    assert.equal("INSERT INTO do_users (id, `Name`) VALUES (:1, :2)",
      sql_of(ath.insert(users):values({ id = 1, Name = "a" })))
    assert.equal("UPDATE do_users SET `Name` = :1 WHERE do_users.id = :2",
      sql_of(ath.update(users):where(u.id:eq(1)):values({ Name = "b" })))
    assert.equal("DELETE FROM do_users WHERE do_users.id = :1", sql_of(ath.delete(users):where(u.id:eq(1))))
    local err = h.catch(function() return sql_of(ath.delete(users):returning(u.id)) end)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
    assert.truthy(tostring(err):find("RETURNING is not supported by the toy dialect", 1, true), tostring(err))
  end)

  it("spells CAST from its own table and the rest from its base's", function()
    assert.equal("SELECT CAST(do_users.`Name` AS INT) AS n, CAST(do_users.id AS VARCHAR(5)) AS s FROM do_users",
      sql_of(ath.select(ath.cast(u.Name, ath.Integer):label("n"), ath.cast(u.id, ath.String(5)):label("s"))))
    -- a typed literal travels uncast: no bind casts
    assert.equal("SELECT :1 AS d", sql_of(ath.select(ath.literal("1.5", ath.Numeric(10, 2)):label("d"))))
  end)

  it("spells DDL types from its Lua module", function()
    local ddl = require("athanor.schema.ddl")
    local sql = ddl.create_table_sql(users, "toy")
    assert.truthy(sql:find("id INT4 NOT NULL", 1, true), sql)
    assert.truthy(sql:find("`Name` TEXT(50)", 1, true), sql)
  end)

  it("text() takes its placeholders", function()
    local sql, names = ath.text("SELECT * FROM x WHERE a = :a AND b = ':b'"):compile({ dialect = "toy" })
    assert.equal("SELECT * FROM x WHERE a = :1 AND b = ':b'", sql)
    assert.same({ "a" }, names)
  end)

  it("registration refuses a built-in name, an unknown fact and an unknown base", function()
    for _, case in ipairs({
      { "sqlite", {}, "is a built-in dialect" },
      { "toy2", { quotes = "`" }, "unknown fact 'quotes'" },
      { "toy2", { base = "oracle" }, "unknown base dialect 'oracle'" },
      { "toy2", { paramstyle = "pyformat" }, "'paramstyle' must be one of" },
    }) do
      local err = h.catch(core.register_dialect, case[1], case[2])
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(tostring(err):find(case[3], 1, true), tostring(err))
    end
    local err = h.catch(function() return ath.select(u.id):compile({ dialect = "toy2" }) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
  end)
end)
