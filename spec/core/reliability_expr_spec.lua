-- Reliability of the expression language (issue 22, items 4, 5, 12, 13 and
-- the text() scanner of 15): hostile or unlucky input to the compiler is a
-- value or a clean athanor error, never a crash, a wrong statement or a
-- blown stack; and/or chains are linear however they are built.
local ath = require("athanor")
local core = require("athanor.core")
local errors = require("athanor.errors")
local h = require("spec.helpers")
local unpack = require("athanor.compat").unpack

local K = core.node_kinds

local md = ath.MetaData()
local items = ath.Table("rx_items", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("s", ath.String(40)),
  ath.Column("n", ath.Integer))
local c = items.c

-- pcall fn; returns true and the results, or false and the error after
-- checking it is an athanor error of one of the given kinds.
local function athanor_error_or_ok(fn, ...)
  local res = { pcall(fn, ...) }
  if res[1] then return true, res[2], res[3] end
  local err = res[2]
  assert(getmetatable(err) == errors.Error, "not an athanor error: " .. tostring(err))
  return false, err
end

-- Every k a probe tries: all kinds and beyond, negative, huge, fractional,
-- not-a-number, and the wrong type.
local K_VALUES = { -1, -2147483648, 2147483647, 2147483648, 2 ^ 32 + 10, 2 ^ 53, 1e300, -1e300,
                   1.5, 10.25, 0 / 0, math.huge, -math.huge, "10", true }
for k = 0, 64 do K_VALUES[#K_VALUES + 1] = k end

-- Field shapes around k: what a user's object or a JSON document might hold.
local function shapes(k)
  return {
    { k = k },
    { k = k, v = "x" },
    { k = k, s = "x" },
    { k = k, s = "x", s2 = "y", s3 = "z", f = 1 },
    { k = k, s = 5, f = "x", t = "t" },
    { k = k, 1, 2, 3 },
    { k = k, s = "x", { k = k }, { k = k, s = "y" } },
    { k = k, f = 2 ^ 40, s = "=", "a", "b" },
    { k = k, t = { k = k }, s = "x" },
    { k = k, false, false, false, false, false, false, false, false, false, false },
  }
end

describe("An object with a metatable and a field k (issue 22, item 4)", function()
  local Obj = { __name = "UserObject" }
  Obj.__index = Obj

  it("is bound as a value, whatever k holds, never compiled as a node", function()
    local col = ath.literal_column("s")
    for _, k in ipairs(K_VALUES) do
      for _, shape in ipairs(shapes(k)) do
        local obj = setmetatable(shape, Obj)
        local sql, params = ath.select(col):where(col:eq(obj)):compile()
        assert.equal("SELECT s WHERE s = ?", sql)
        assert.is_true(rawequal(obj, params[1]))
        sql, params = ath.select(col:in_({ obj, obj })):compile()
        assert.equal("SELECT s IN (?, ?)", sql)
        assert.is_true(rawequal(obj, params[2]))
        sql = ath.select(ath.func.coalesce(col, obj), ath.case({ { col:eq(1), obj } }, { else_ = obj })):compile()
        assert.equal("SELECT coalesce(s, ?), CASE WHEN s = ? THEN ? ELSE ? END", sql)
      end
    end
  end)

  it("a plain table with k is a value too", function()
    local col = ath.literal_column("s")
    local sql, params = ath.select(col):where(col:eq({ k = 7 })):compile()
    assert.equal("SELECT s WHERE s = ?", sql)
    assert.same({ k = 7 }, params[1])
  end)

  it("against a typed column raises ArgumentError naming the column", function()
    for _, k in ipairs({ 7, 10, 11, 12, 19, 27 }) do
      local err = h.catch(function() return c.s:eq(setmetatable({ k = k, v = "x" }, Obj)) end)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(tostring(err):find("'s'", 1, true), tostring(err))
    end
  end)

  describe("executed", function()
    local conn
    local fx = h.schema_fixture(md)
    setup(function()
      conn = fx.open()
      conn:execute(ath.insert(items):values({ { id = 1, s = "a", n = 1 }, { id = 2, s = "b", n = 2 } }))
    end)
    teardown(function() fx.close() end)

    it("raises ArgumentError naming the parameter and writes nothing", function()
      for _, k in ipairs({ 7, 10, 11, 12, 19, 27 }) do
        local obj = setmetatable({ k = k, v = "x" }, Obj)
        local err = h.catch(conn.execute, conn,
          ath.update(items):where(ath.literal_column("s"):eq(obj)):values({ n = 99 }))
        assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
        assert.truthy(tostring(err):find("cannot bind a value of type table", 1, true))
        err = h.catch(conn.execute, conn, ath.delete(items):where(ath.literal_column("id"):eq(obj)))
        assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      end
      local rows = {}
      for _, r in ipairs(conn:execute(ath.select(c.id, c.s, c.n):order_by(c.id)):all()) do
        rows[#rows + 1] = { r[1], r[2], r[3] }
      end
      assert.same({ { 1, "a", 1 }, { 2, "b", 2 } }, rows)
    end)
  end)
end)

describe("core.compile given a malformed node tree (issue 22, item 4)", function()
  it("refuses a table whose metatable is not an athanor node class, naming it", function()
    local Obj = { __name = "UserObject" }
    for _, k in ipairs(K_VALUES) do
      for _, shape in ipairs(shapes(k)) do
        local tree = { k = K.BINARY, s = "=", { k = K.TEXT, s = "x" }, setmetatable(shape, Obj) }
        local ok, err = athanor_error_or_ok(core.compile, tree, "sqlite", nil, false)
        assert.is_false(ok)
        assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
        assert.truthy(tostring(err):find("UserObject", 1, true), tostring(err))
      end
    end
  end)

  it("raises ArgumentError or CompileError for every wrong kind, arity and field type", function()
    local refused = 0
    for _, dialect in ipairs({ "sqlite", "postgresql", "mysql" }) do
      for _, k in ipairs(K_VALUES) do
        for _, shape in ipairs(shapes(k)) do
          local ok, err = athanor_error_or_ok(core.compile, shape, dialect, nil, false)
          if not ok then
            refused = refused + 1
            assert.is_true(errors.is(err, "ArgumentError") or errors.is(err, "CompileError"), tostring(err))
          end
          -- the same shape as a child of each kind
          for kind = 1, K.VALUES do
            ok, err = athanor_error_or_ok(core.compile, { k = kind, s = "x", shape, shape, shape }, dialect, nil, false)
            if not ok then
              assert.is_true(errors.is(err, "ArgumentError") or errors.is(err, "CompileError"), tostring(err))
            end
          end
        end
      end
    end
    assert.is_true(refused > 0, "no malformed shape was refused")
  end)

  it("survives random trees of every kind (a fixed seed)", function()
    local seed = 22
    local function rnd(n)                       -- a small LCG: the same trees on every interpreter
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    end
    local strings = { "x", "=", "NOT", "EXISTS", "IS NULL", "UNION", "count", "", "a b", "ASC", "NULLS FIRST" }
    local function tree(depth)
      local n = { k = rnd(K.VALUES + 3) }
      if rnd(3) > 0 then n.s = strings[rnd(#strings) + 1] end
      if rnd(4) == 0 then n.s2 = strings[rnd(#strings) + 1] end
      if rnd(3) == 0 then n.f = rnd(0x2000) end
      if rnd(4) == 0 then n.v = rnd(100) end
      if depth < 5 and rnd(4) == 0 then n.t = tree(depth + 1) end
      local kids = depth < 5 and rnd(6) or 0
      for i = 1, kids do n[i] = rnd(5) == 0 and false or tree(depth + 1) end
      return n
    end
    local compiled = 0
    for _ = 1, 3000 do
      local t = tree(0)
      for _, dialect in ipairs({ "sqlite", "postgresql", "mysql" }) do
        local ok, err = athanor_error_or_ok(core.compile, t, dialect, nil, false)
        if ok then compiled = compiled + 1
        else assert.is_true(errors.is(err, "ArgumentError") or errors.is(err, "CompileError"), tostring(err)) end
      end
    end
    assert.is_true(compiled > 0, "no random tree compiled: the generator or the compiler refuses everything")
  end)

  it("raises CompileError for a named parameter without a name and an unnamed one with no value slot", function()
    local err = h.catch(core.compile, { k = K.BIND, f = K.F_NAMED }, "sqlite", nil, false)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
    assert.truthy(tostring(err):find("parameter", 1, true))
    err = h.catch(core.compile, { k = K.BINARY, s = "=", { k = K.BIND, f = K.F_NAMED, s = 5 }, { k = K.NULL } },
      "postgresql", nil, false)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
  end)

  it("raises CompileError for a node that contains itself", function()
    local loop = { k = K.AND, { k = K.TRUE } }
    loop[2] = loop
    local err = h.catch(core.compile, loop, "sqlite", nil, false)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
    local not_loop = { k = K.UNARY, s = "NOT" }
    not_loop[1] = not_loop
    err = h.catch(core.compile, not_loop, "postgresql", nil, false)
    assert.is_true(errors.is(err, "CompileError"), tostring(err))
  end)

  it("refuses a kind that is not an integer of the node kinds", function()
    for _, k in ipairs({ 2 ^ 32 + 10, 1.5, 1e300, 0 / 0, "10" }) do
      local err = h.catch(core.compile, { k = k }, "sqlite", nil, false)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    end
    -- an integer that names no kind is a malformed tree (issue 15, item 2)
    for _, k in ipairs({ 0, -1, 64 }) do
      local err = h.catch(core.compile, { k = k }, "sqlite", nil, false)
      assert.is_true(errors.is(err, "CompileError"), tostring(err))
      assert.truthy(tostring(err):find("unknown node kind " .. k, 1, true), tostring(err))
    end
  end)
end)

describe("A plain string where a criterion is expected (issue 22, item 5)", function()
  local t2 = items:alias("i2")
  local function assert_text_refused(fn)
    local err = h.catch(fn)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(tostring(err):find("ath.text", 1, true), tostring(err))
    assert.truthy(tostring(err):find("5 > 9", 1, true), tostring(err))
  end

  it("raises ArgumentError telling to wrap it in ath.text()", function()
    local s = ath.select(items)
    assert_text_refused(function() return s:where("5 > 9") end)
    assert_text_refused(function() return s:filter("5 > 9") end)
    assert_text_refused(function() return s:where(c.id:eq(1), "5 > 9") end)
    assert_text_refused(function() return s:where(c.id:eq(1)):where("5 > 9") end)
    assert_text_refused(function() return s:having("5 > 9") end)
    assert_text_refused(function() return s:join(t2, "5 > 9") end)
    assert_text_refused(function() return items:join(t2, "5 > 9") end)
    assert_text_refused(function() return ath.and_(c.id:eq(1), "5 > 9") end)
    assert_text_refused(function() return ath.or_("5 > 9") end)
    assert_text_refused(function() return ath.not_("5 > 9") end)
    assert_text_refused(function() return ath.case({ { "5 > 9", 1 } }) end)
    assert_text_refused(function() return ath.update(items):where("5 > 9") end)
    assert_text_refused(function() return ath.delete(items):where("5 > 9") end)
    assert_text_refused(function()
      return ath.insert(items):values({ id = 1 }):on_conflict_do_update({ index_elements = { "id" }, set = { n = 1 },
                                                                         where = "5 > 9" })
    end)
  end)

  it("raises ArgumentError for a number or other non-expression, naming it", function()
    for _, v in ipairs({ 5, {}, function() end }) do
      local err = h.catch(function() return ath.select(items):where(v) end)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(tostring(err):find("where()", 1, true), tostring(err))
    end
  end)

  it("accepts ath.text(), booleans and expressions", function()
    assert.equal("SELECT rx_items.id FROM rx_items WHERE 5 > 9",
      (ath.select(c.id):where(ath.text("5 > 9")):compile()))
    assert.equal("SELECT rx_items.id FROM rx_items WHERE 0",
      (ath.select(c.id):where(false):compile()))
    assert.equal("SELECT rx_items.id FROM rx_items WHERE rx_items.id = ? AND true",
      (ath.select(c.id):where(c.id:eq(1), true):compile({ dialect = "postgresql" })):gsub("%$1", "?"))
  end)

  describe("executed", function()
    local conn
    local fx = h.schema_fixture(md)
    setup(function()
      conn = fx.open()
      conn:execute(ath.insert(items):values({ id = 1, s = "a", n = 1 }))
    end)
    teardown(function() fx.close() end)

    it("returns no row for a false ath.text() predicate instead of every row", function()
      assert.same({}, conn:execute(ath.select(c.id):where(ath.text("5 > 9"))):all())
      assert.is_true(errors.is(h.catch(function() return ath.select(c.id):where("5 > 9") end), "ArgumentError"))
      assert.equal(1, h.count(fx.engine, "rx_items"))
    end)
  end)
end)

describe("ath.and_ and ath.or_ (issue 22, item 12)", function()
  local N = 200000

  it("stay flat and linear when built one term at a time", function()
    local x = ath.literal_column("x")
    local cond = x:eq(0)
    for i = 1, N - 1 do cond = ath.or_(cond, x:eq(i)) end
    local sql, params = ath.select(x):where(cond):compile()
    assert.equal(N, #params)
    assert.equal(N - 1, select(2, sql:gsub(" OR ", "")))
    assert.is_nil(sql:find("(", 1, true))             -- flat: no nested groups
    assert.equal(N - 1, params[N])
  end)

  it("stay linear for and_(unpack(parts)) and mixed nesting", function()
    local x = ath.literal_column("x")
    local parts = {}
    for i = 1, 5000 do parts[i] = x:ne(i) end
    local cond = ath.and_(unpack(parts))
    for i = 1, 100 do cond = ath.and_(cond, ath.and_(x:ne(-i), x:ne(-i - 0.5))) end
    local sql, params = ath.select(x):where(cond):compile()
    assert.equal(5200, #params)
    assert.is_nil(sql:find("(", 1, true))
    assert.equal(5199, select(2, sql:gsub(" AND ", "")))
  end)

  it("keep a shared prefix unchanged when two chains grow from it", function()
    local x = ath.literal_column("x")
    local base = ath.or_(x:eq(1), x:eq(2))
    local a = ath.or_(base, x:eq(3))
    local b = ath.or_(base, x:eq(4))
    local sa, pa = ath.select(x):where(a):compile()
    local sb, pb = ath.select(x):where(b):compile()
    local s0, p0 = ath.select(x):where(base):compile()
    assert.equal("SELECT x WHERE x = ? OR x = ? OR x = ?", sa)
    assert.equal(sa, sb)
    assert.same({ 1, 2, 3 }, pa)
    assert.same({ 1, 2, 4 }, pb)
    assert.equal("SELECT x WHERE x = ? OR x = ?", s0)
    assert.same({ 1, 2 }, p0)
  end)

  it("keep and inside or in parentheses", function()
    local x = ath.literal_column("x")
    local cond = ath.or_(ath.and_(x:eq(1), x:eq(2)), x:eq(3))
    cond = ath.or_(cond, ath.and_(x:eq(4), x:eq(5)))
    assert.equal("SELECT x WHERE x = ? AND x = ? OR x = ? OR x = ? AND x = ?",
      (ath.select(x):where(cond):compile()))
    assert.equal("SELECT x WHERE (x = ? OR x = ?) AND x = ?",
      (ath.select(x):where(ath.and_(ath.or_(x:eq(1), x:eq(2)), x:eq(3))):compile()))
  end)

  describe("executed", function()
    local conn
    local fx = h.schema_fixture(md)
    setup(function()
      conn = fx.open()
      conn:execute(ath.insert(items):values({ { id = 1, n = 1 }, { id = 2, n = 2 }, { id = 3, n = 3 } }))
    end)
    teardown(function() fx.close() end)

    it("match the rows the predicate selects", function()
      local cond = c.n:eq(1)
      -- (SQLite parses a OR chain as a tree at most 1000 deep: stay below)
      for i = 100, 900 do cond = ath.or_(cond, c.n:eq(i)) end
      cond = ath.or_(cond, c.n:eq(3))
      local ids = {}
      for _, r in ipairs(conn:execute(ath.select(c.id):where(cond):order_by(c.id)):all()) do ids[#ids + 1] = r[1] end
      assert.same({ 1, 3 }, ids)
    end)
  end)
end)

describe("tostring(err) (issue 22, item 13)", function()
  it("prints an error whose parameter is a 100000-deep nested table", function()
    local deep = {}
    local cur = deep
    for _ = 1, 100000 do
      local nxt = {}
      cur[1] = nxt
      cur = nxt
    end
    local err = errors.new("DataError", "bad value", { sql = "INSERT ...", params = { deep, "x" } })
    local s = tostring(err)
    assert.truthy(s:find("^DataError: bad value"))
    assert.is_true(#s < 4096)
    assert.truthy(s:find("...", 1, true))
  end)

  it("prints an error whose parameter table contains itself", function()
    local loop = { a = 1 }
    loop.self = loop
    loop[1] = loop
    local err = errors.new("DataError", "bad value", { params = { loop } })
    local s = tostring(err)
    assert.truthy(s:find("^DataError: bad value"))
    assert.is_true(#s < 4096)
  end)

  it("bounds the length of a wide parameter table", function()
    local wide = {}
    for i = 1, 100000 do wide[i] = { string.rep("v", 50), { i, i } } end
    local s = tostring(errors.new("DataError", "bad", { params = wide }))
    assert.is_true(#s < 4096)
  end)

  it("bounds an error raised by execute with a deep parameter", function()
    local deep = {}
    local cur = deep
    for _ = 1, 100000 do cur.next = {}; cur = cur.next end
    local e = h.engine()
    local conn = e:connect()
    local err = h.catch(conn.exec_driver_sql, conn, "SELECT " .. h.ph(1), { deep })
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.is_true(#tostring(err) < 4096)
    conn:close()
    e:dispose()
    h.cleanup()
  end)
end)

describe("ath.text() placeholders in quoted strings (issue 22, item 15)", function()
  local function conv(sql, dialect)
    local out, names = ath.text(sql):compile({ dialect = dialect })
    return out, names
  end

  it("leaves :x inside PostgreSQL dollar-quoted strings alone", function()
    assert.same({ "SELECT $$ :x $$, $1", { "y" } }, { conv("SELECT $$ :x $$, :y", "postgresql") })
    assert.same({ "SELECT $tag$ it's :x $tag$, $1", { "y" } },
      { conv("SELECT $tag$ it's :x $tag$, :y", "postgresql") })
    -- a nested different tag does not end the string
    assert.same({ "SELECT $a$ $b$ :x $b$ :z $a$ || $1", { "y" } },
      { conv("SELECT $a$ $b$ :x $b$ :z $a$ || :y", "postgresql") })
    -- $1 is a parameter, not a tag; a name before $ is an identifier
    assert.same({ "SELECT a$b, $1", { "y" } }, { conv("SELECT a$b, :y", "postgresql") })
  end)

  it("keeps quote tracking after a PostgreSQL E'' string with a backslash escape", function()
    assert.same({ "SELECT E'it\\'s', $1", { "y" } }, { conv("SELECT E'it\\'s', :y", "postgresql") })
    assert.same({ "SELECT e'\\\\', $1", { "y" } }, { conv("SELECT e'\\\\', :y", "postgresql") })
    assert.same({ "SELECT E'a\\':x', $1", { "y" } }, { conv("SELECT E'a\\':x', :y", "postgresql") })
  end)

  it("scans SQLite text by SQLite's rules, where $ and E'' are not quotes", function()
    -- SQLite has no dollar quoting: $x is a parameter token and :y is still bound
    assert.same({ "SELECT 'it''s', ?", { "y" } }, { conv("SELECT 'it''s', :y", "sqlite") })
    assert.same({ "SELECT 'a\\', ?", { "y" } }, { conv("SELECT 'a\\', :y", "sqlite") })
    assert.same({ "SELECT $$ ? $$", { "x" } }, { conv("SELECT $$ :x $$", "sqlite") })
  end)

  it("scans MySQL text by MySQL's rules: backslash escapes and backquoted names", function()
    assert.same({ "SELECT 'it\\'s :x', `a:b`, ?", { "y" } }, { conv("SELECT 'it\\'s :x', `a:b`, :y", "mysql") })
  end)

  if h.is_postgresql then
    describe("executed #postgresql", function()
      it("returns the dollar-quoted and E'' text unchanged and binds the real parameter", function()
        local e = h.engine()
        local conn = e:connect()
        local row = conn:execute(ath.text("SELECT $$ :x $$ AS a, E'it\\'s :z' AS b, CAST(:y AS text) AS c"),
          { y = "ok" }):first()
        assert.same({ " :x ", "it's :z", "ok" }, { row[1], row[2], row[3] })
        conn:close()
        e:dispose()
      end)
    end)
  end

  if h.is_sqlite then
    describe("executed #sqlite", function()
      it("binds :y after a string ending in a backslash", function()
        local e = h.engine()
        local conn = e:connect()
        local row = conn:execute(ath.text("SELECT 'a\\' AS a, :y AS b"), { y = "ok" }):first()
        assert.same({ "a\\", "ok" }, { row[1], row[2] })
        conn:close()
        e:dispose()
        h.cleanup()
      end)
    end)
  end
end)
