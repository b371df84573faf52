-- Smaller reliability seams of issue 22 found while fixing the rest.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("Connection script execution (the binding's exec_script)", function()
  it("refuses SQL text with a NUL byte instead of running the part before it", function()
    local engine = h.engine()
    local conn = engine:connect()
    h.drop(conn, "rm_script")
    conn:exec_driver_sql("CREATE TABLE rm_script (id INTEGER)")
    local err = h.catch(conn._c.exec_script, conn._c, "INSERT INTO rm_script VALUES (1);\0 DROP TABLE rm_script")
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.matches("NUL byte", err.message)
    assert.equal(0, conn:exec_driver_sql("SELECT count(*) FROM rm_script"):scalar())
    h.drop(conn, "rm_script")
    conn:close(); engine:dispose(); h.cleanup()
  end)
end)

describe("Names holding a NUL byte", function()
  local md = ath.MetaData()
  local nt = ath.Table("rm_nul", md, ath.Column("id", ath.Integer, { primary_key = true }))
  local engine, conn
  setup(function()
    engine = h.engine()
    conn = engine:connect()
    md:drop_all(conn); md:create_all(conn)
    conn:execute(nt:insert():values({ id = 1 }))
  end)
  teardown(function() md:drop_all(conn); conn:close(); engine:dispose(); h.cleanup() end)

  local cases = {
    { "a table alias", function() return ath.select(nt:alias("x\0y").c.id) end },
    { "a label", function() return ath.select(nt.c.id:label("a\0b")) end },
    { "a subquery name", function() return ath.select(ath.select(nt):subquery("s\0q").c.id) end },
    { "a CTE name", function() return ath.select(ath.select(nt):cte("c\0d").c.id) end },
    { "a table name", function()
        return ath.delete(ath.Table("rm_nul\0junk", ath.MetaData(), ath.Column("id", ath.Integer)))
      end },
  }
  for _, case in ipairs(cases) do
    it("are refused in " .. case[1] .. " with ArgumentError instead of being cut short", function()
      local err = h.catch(function() return conn:execute(case[2]()) end)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.matches("NUL byte", err.message)
      assert.equal(1, h.count(engine, "rm_nul"))
    end)
  end
end)

describe("core.set_compile_cache_size()", function()
  local core = require("athanor.core")
  it("refuses sizes outside 0..1000000 with ArgumentError naming the value", function()
    for _, n in ipairs({ -1, 1000001, 2 ^ 40 }) do
      local err = h.catch(core.set_compile_cache_size, n)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.matches("0..1000000", err.message)
    end
    core.set_compile_cache_size(500)
  end)
end)

describe("ath.text() and comments", function()
  it("leaves :name inside -- and /* */ comments alone, per dialect", function()
    local sql = "SELECT :a -- :b\n, /* :c /* :d */ :e */ :f"
    assert.equal("SELECT ? -- :b\n, /* :c /* :d */ ? */ ?", (ath.text(sql):compile({ dialect = "sqlite" })))
    -- PostgreSQL nests block comments
    assert.equal("SELECT $1 -- :b\n, /* :c /* :d */ :e */ $2", (ath.text(sql):compile({ dialect = "postgresql" })))
    assert.equal("SELECT ? # :x\n", (ath.text("SELECT :a # :x\n"):compile({ dialect = "mysql" })))
  end)

  it("keeps a doubled quote inside an E'' string in that string (PostgreSQL)", function()
    -- E'it''s \' :x' is one string: '' and \' are both quotes inside it
    local sql = "SELECT E'it''s \\' :x', :y"
    assert.equal("SELECT E'it''s \\' :x', $1", (ath.text(sql):compile({ dialect = "postgresql" })))
  end)

  it("runs a statement whose comment mentions a :name without asking for its value", function()
    local engine = h.engine()
    local conn = engine:connect()
    local got = conn:execute(ath.text("SELECT :v AS v -- was :old\n /* and :older */"), { v = 7 }):scalar()
    assert.equal(7, tonumber(got))
    conn:close(); engine:dispose(); h.cleanup()
  end)
end)

describe("Select:join() with no explicit FROM", function()
  local md = ath.MetaData()
  local d = ath.Table("rm_dept", md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.String(20)))
  local e = ath.Table("rm_emp", md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.String(20)), ath.Column("dept_id", ath.Integer))

  it("starts from the first table a column expression names, as SQLAlchemy does", function()
    local sql = ath.select(e.c.name .. " @ " .. d.c.name):join(d, e.c.dept_id:eq(d.c.id))
      :compile({ dialect = "sqlite" })
    assert.matches("FROM rm_emp JOIN rm_dept ON rm_emp.dept_id = rm_dept.id", sql, 1, true)
  end)

  it("never starts from a table of a scalar subquery in the columns", function()
    local sub = ath.select(ath.func.count()):select_from(e):scalar_subquery()
    local err = h.catch(function() return ath.select(sub):join(d, d.c.id:eq(1)) end)
    assert.is_true(errors.is(err, "InvalidRequestError"), tostring(err))
    assert.matches("no table to join from", err.message)
  end)
end)
