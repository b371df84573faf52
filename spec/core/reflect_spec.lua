-- Reflection: ath.inspect(bind) and ath.Table(name, metadata, { autoload_with = bind })
-- read back what create_all made, on the test backend.
local ath = require("athanor")
local h = require("spec.helpers")

describe("reflection", function()
  local md = ath.MetaData()
  local owners = ath.Table("rf_owners", md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.String(40), { nullable = false, unique = true }))
  ath.Table("rf_pets", md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("owner_id", ath.Integer, ath.ForeignKey("rf_owners.id", { ondelete = "CASCADE" }), { nullable = false }),
    ath.Column("Pet Name", ath.String(30), { index = true }),
    ath.Column("weight", ath.Numeric(6, 2)),
    ath.Column("born", ath.Date),
    ath.Column("seen", ath.DateTime),
    ath.Column("good", ath.Boolean),
    ath.Column("photo", ath.LargeBinary),
    ath.Column("legs", ath.SmallInteger, { server_default = "4" }),
    ath.UniqueConstraint("owner_id", "Pet Name"))
  local fx = h.schema_fixture(md)
  local engine, conn

  setup(function()
    conn = fx.open()
    engine = fx.engine
  end)

  teardown(function() fx.close() end)

  it("inspect lists tables and columns with their types, nullability and defaults", function()
    local insp = ath.inspect(engine)
    local names = insp:get_table_names()
    local set = {}
    for _, n in ipairs(names) do set[n] = true end
    assert.is_true(set.rf_owners and set.rf_pets)
    assert.is_true(insp:has_table("rf_pets"))
    assert.is_false(insp:has_table("rf_nope"))
    local cols = insp:get_columns("rf_pets")
    local got = {}
    for i, c in ipairs(cols) do got[i] = c.name .. ":" .. tostring(c.type) .. ":" .. tostring(c.nullable) end
    assert.same({ "id:Integer:false", "owner_id:Integer:false", "Pet Name:String:true", "weight:Numeric:true",
                  "born:Date:true", "seen:DateTime:true", "good:Boolean:true", "photo:LargeBinary:true",
                  "legs:SmallInteger:true" }, got)
    assert.equal(30, cols[3].type.length)
    assert.same({ 6, 2 }, { cols[4].type.precision, cols[4].type.scale })
    assert.truthy(tostring(cols[9].default):find("4", 1, true))
  end)

  it("inspect reads keys, foreign keys, unique constraints and indexes", function()
    local insp = ath.inspect(conn)
    assert.same({ "id" }, insp:get_pk_constraint("rf_pets").constrained_columns)
    local fks = insp:get_foreign_keys("rf_pets")
    assert.equal(1, #fks)
    assert.same({ { "owner_id" }, "rf_owners", { "id" }, "CASCADE" },
      { fks[1].constrained_columns, fks[1].referred_table, fks[1].referred_columns, fks[1].ondelete })
    local uniques = insp:get_unique_constraints("rf_pets")
    assert.equal(1, #uniques)
    assert.same({ "owner_id", "Pet Name" }, uniques[1].column_names)
    local ix = insp:get_indexes("rf_pets")
    assert.equal(1, #ix)
    assert.same({ "Pet Name" }, ix[1].column_names)
    assert.is_false(ix[1].unique)
  end)

  it("autoload_with builds a Table that works with the expression language", function()
    local md2 = ath.MetaData()
    local o = ath.Table("rf_owners", md2, { autoload_with = engine })
    local p = ath.Table("rf_pets", md2, { autoload_with = conn })
    assert.equal("id", p.primary_key[1].name)
    assert.equal(1, #p.foreign_keys)
    local oid = conn:execute(o:insert():values({ name = "Ann" })):inserted_primary_key()[1]
    conn:execute(p:insert():values({ owner_id = oid, ["Pet Name"] = "Rex", weight = "12.50", good = true,
                                     photo = "\0\1", born = "2020-01-02" }))
    local row = conn:execute(ath.select(p.c["Pet Name"], p.c.weight, p.c.good, p.c.legs, o.c.name):join(o)):one()
    -- SQLite keeps NUMERIC as a number (12.5), read back with the reflected scale as SQLAlchemy does
    assert.same({ "Rex", "12.50", true, 4, "Ann" }, { row[1], row[2], row[3], row[4], row[5] })
    -- the reflected DDL matches the original's
    local ddl = require("athanor.schema.ddl")
    local dialect = h.is_postgresql and "postgresql" or "sqlite"
    assert.equal(ddl.create_table_sql(owners, dialect):gsub("%s+", " "):gsub(" UNIQUE", ""),
      (ddl.create_table_sql(o, dialect):gsub("%s+", " "):gsub(", UNIQUE %(name%)", ""):gsub(", CONSTRAINT %S+ UNIQUE %(name%)", "")))
  end)

  it("a table that does not exist is NoSuchTableError", function()
    local err = h.catch(function() ath.Table("rf_missing", ath.MetaData(), { autoload_with = engine }) end)
    assert.is_true(ath.errors.is(err, "NoSuchTableError"))
    assert.is_true(ath.errors.is(err, "InvalidRequestError"))
    assert.equal("Table 'rf_missing' does not exist", err.message)
    assert.is_true(ath.errors.is(h.catch(function() ath.inspect(42) end), "ArgumentError"))
  end)
end)
