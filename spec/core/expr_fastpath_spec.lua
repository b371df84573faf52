-- The expression language's per-statement fast paths (docs/expressions.md,
-- "Fused paths"): a comparison with a plain value that holds its value
-- (its BIND made only when read, Lua 5.3+), the point select binding that
-- value by name into the SQL kept for its column and operator, and the
-- one-row insert recording its row's shape in values() and binding the
-- row as given. These specs fail if a fast path binds the wrong value,
-- runs a stale statement, or changes a statement or row it shares.
local ath = require("athanor")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")

local md = ath.MetaData()
local things = ath.Table("xf_things", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40)),
  ath.Column("qty", ath.Integer),
  ath.Column("price", ath.Float))
local others = ath.Table("xf_others", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("label", ath.String(40)))
local logs = ath.Table("xf_logs", md,
  ath.Column("id", ath.Integer, { primary_key = true, autoincrement = true }),
  ath.Column("msg", ath.String(40)),
  ath.Column("n", ath.Integer))

local function keys_of(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return table.concat(out, ",")
end

describe("a comparison with a plain value", function()
  it("reads like the BINARY of a BIND it has always been", function()
    local c = things.c.qty:eq(7)
    assert.equal(2, #c)
    assert.equal(things.c.qty, c[1])
    local b = c[2]
    assert.equal(core.node_kinds.BIND, b.k)
    assert.equal(7, b.v)
    assert.equal(b, c[2])                              -- one BIND, made once
    local seen = {}
    for i, x in ipairs(c) do seen[i] = x end
    assert.same({ things.c.qty, b }, seen)
    assert.equal("=", c.s)
    assert.equal(ath.Boolean, c.type)
  end)

  it("lists its BIND among its fields", function()
    local c = things.c.name:ne("x")
    local found
    for k, v in pairs(c) do if k == 2 then found = v end end
    assert.is_not_nil(found)
    assert.equal("x", found.v)
  end)

  it("lists its kind, operator and type among its fields, whatever its class holds", function()
    local c = things.c.qty:le(4)
    local fields = {}
    for k, v in pairs(c) do fields[k] = v end
    assert.equal(core.node_kinds.BINARY, fields.k)
    assert.equal("<=", fields.s)
    assert.equal(ath.Boolean, fields.type)
    assert.equal(things.c.qty, fields[1])
    assert.equal(4, fields[2].v)
    assert.equal("<=", c.s)                            -- and still reads them after pairs()
    -- every operator has its own class, and each renders its own operator
    local ops = { eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }
    local classes = {}
    for method, op in pairs(ops) do
      local cmp = things.c.id[method](things.c.id, 1)
      assert.equal(op, cmp.s, method)
      assert.equal("xf_things.id " .. op .. " ?", tostring(cmp), method)
      assert.is_nil(classes[getmetatable(cmp)], method)
      classes[getmetatable(cmp)] = true
    end
  end)

  it("prints, compiles and combines the same whether or not its BIND was read", function()
    local fresh, read = things.c.qty:ge(3), things.c.qty:ge(3)
    local _ = read[2]
    assert.equal(tostring(read), tostring(fresh))
    -- used twice, one value bound once ($1 twice), as one BIND used twice always was
    local pg = { dialect = "postgresql" }
    local sql1, v1 = ath.select(things):where(ath.and_(fresh, fresh)):compile(pg)
    local sql2, v2 = ath.select(things):where(ath.and_(read, read)):compile(pg)
    assert.equal(sql2, sql1)
    assert.same(v2, v1)
    assert.truthy(sql1:find("xf_things.qty >= $1 AND xf_things.qty >= $1", 1, true))
    assert.same({ 3 }, v1)
    local sql3, v3 = ath.select(things):where(ath.or_(fresh, things.c.name:eq("a"))):compile({ dialect = "postgresql" })
    assert.equal("SELECT xf_things.id, xf_things.name, xf_things.qty, xf_things.price FROM xf_things "
      .. "WHERE xf_things.qty >= $1 OR xf_things.name = $2", sql3)
    assert.same({ 3, "a" }, v3)
  end)

  it("keeps the value its column's type gives it", function()
    assert.equal(2.5, things.c.qty:gt(2.5)[2].v)      -- a float against an Integer stays a float
    local err = h.catch(function() return things.c.qty:eq("many") end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true))
  end)
end)

describe("the point select and the one-row insert built afresh", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function()
    conn = fx.open()
    local rows = {}
    for i = 1, 20 do rows[i] = { id = i, name = "t" .. i, qty = i * 10, price = i / 2 } end
    conn:execute(ath.insert(things), rows)
    conn:execute(ath.insert(others), { { id = 1, label = "one" }, { id = 2, label = "two" } })
  end)
  teardown(fx.close)
  before_each(function() core.compile_cache_clear() end)
  after_each(function()
    core.set_compile_cache_size(500)
    conn:execute(ath.delete(things):where(things.c.id:gt(20)))
    conn:execute(ath.delete(logs))
  end)

  local function ids(stmt)
    local out = {}
    for _, r in ipairs(conn:execute(stmt):all()) do out[#out + 1] = r.id end
    table.sort(out)
    return out
  end

  it("binds each statement's own value, for every column and operator", function()
    for round = 1, 2 do                                -- the second round runs on kept SQL
      for i = 1, 20 do
        assert.equal(i * 10, conn:execute(ath.select(things):where(things.c.id:eq(i))):one().qty, "round " .. round)
        assert.equal(i, conn:execute(ath.select(things):where(things.c.name:eq("t" .. i))):one().id)
      end
      assert.same({ 1, 2, 3 }, ids(ath.select(things):where(things.c.id:lt(4))))
      assert.same({ 18, 19, 20 }, ids(ath.select(things):where(things.c.qty:ge(180))))
      assert.same({ 19, 20 }, ids(ath.select(things):where(things.c.price:gt(9.25))))
      assert.same({ 1, 2 }, ids(ath.select(things):where(things.c.qty:lt(25.5))))
      assert.equal(19, #conn:execute(ath.select(things):where(things.c.id:ne(5))):all())
    end
  end)

  it("never runs the SQL kept for another column, operator or table", function()
    assert.same({ 3 }, ids(ath.select(things):where(things.c.id:eq(3))))
    assert.same({ 1, 2 }, ids(ath.select(things):where(things.c.id:lt(3))))
    assert.same({ 3 }, ids(ath.select(things):where(things.c.qty:eq(30))))
    -- a column of another table: its own SQL (FROM both tables), not the kept one
    local n = #conn:execute(ath.select(things):where(others.c.id:eq(1))):all()
    assert.equal(20, n)
    assert.same({ 3 }, ids(ath.select(things):where(things.c.id:eq(3))))
  end)

  it("renders again after the compiled cache is cleared or sized 0, with the right value", function()
    conn:execute(ath.select(things):where(things.c.id:eq(1))):one()
    local before = core.compile_stats().renders
    core.compile_cache_clear()
    assert.equal(2, conn:execute(ath.select(things):where(things.c.id:eq(2))):one().id)
    assert.equal(1, core.compile_stats().renders)
    core.set_compile_cache_size(0)
    assert.equal(3, conn:execute(ath.select(things):where(things.c.id:eq(3))):one().id)
    assert.equal(4, conn:execute(ath.select(things):where(things.c.id:eq(4))):one().id)
    assert.is_true(before >= 1)
  end)

  it("leaves select(t) and the statements built from it as they were", function()
    local base = ath.select(things)
    local shown = tostring(base)
    local a = base:where(things.c.id:eq(5))
    local b = base:where(things.c.id:eq(6))
    assert.equal(5, conn:execute(a):one().id)
    assert.equal(6, conn:execute(b):one().id)
    assert.equal(5, conn:execute(a):one().id)          -- a again: its own value, not the last one bound
    assert.equal(shown, tostring(base))
    assert.equal(false, base[3])
    assert.equal(20, #conn:execute(base):all())
    -- built on: a copy each time, the fused statement unchanged
    local limited = a:order_by(things.c.id):limit(1)
    assert.equal(5, conn:execute(limited):one().id)
    assert.equal(5, conn:execute(a):one().id)
  end)

  it("keeps every clause after WHERE empty, reading as an empty select's", function()
    local a = ath.select(things):where(things.c.id:eq(5))
    local plain = ath.select(things.c.id)
    for slot = 4, 10 do assert.equal(plain[slot], a[slot], "slot " .. slot) end
    local more = a:where(things.c.qty:gt(0)):group_by(things.c.id):having(ath.func.count():gt(0))
      :order_by(things.c.id):limit(3):offset(0)
    assert.same({ 5 }, ids(more))
    assert.matches("GROUP BY xf_things.id HAVING count%(%*%) > %? ORDER BY xf_things.id LIMIT %? OFFSET %?$",
      tostring(more))
  end)

  it("tells the listeners and the echo of the connection about every execution, kept SQL or not", function()
    -- (another engine: on SQLite a database of its own, on PostgreSQL the
    -- fixture's tables and rows, which it leaves as they are)
    local function fresh(opts)
      local e = h.engine(opts)
      local c = e:connect()
      if not h.is_postgresql then
        md:create_all(c)
        c:execute(ath.insert(things), { { id = 1, name = "a", qty = 10 }, { id = 2, name = "b", qty = 20 } })
      end
      return e, c
    end
    local function done(e, c)
      if not h.is_postgresql then md:drop_all(c) end
      c:close()
      e:dispose()
    end
    local seen = {}
    local e, c = fresh()
    local listener = function(_, _, sql, params) seen[#seen + 1] = { sql, params } end
    assert.equal(1, c:execute(ath.select(things):where(things.c.id:eq(1))):one().id)   -- its SQL kept
    ath.event.listen(e, "before_cursor_execute", listener)
    for round = 1, 3 do
      assert.equal(round % 2 + 1, c:execute(ath.select(things):where(things.c.id:eq(round % 2 + 1))):one().id)
    end
    ath.event.remove(e, "before_cursor_execute", listener)
    assert.equal(20, c:execute(ath.select(things):where(things.c.id:eq(2))):one().qty)   -- no listener now
    assert.equal(3, #seen)
    for round = 1, 3 do
      assert.matches("WHERE xf_things.id = ", seen[round][1])
      assert.same({ round % 2 + 1 }, seen[round][2], "round " .. round)
    end
    done(e, c)
    assert.is_true(errors.is(select(2, pcall(c.execute, c, ath.select(things):where(things.c.id:eq(1)))),
      "ResourceClosedError"))
    local echoed = {}
    e, c = fresh({ echo = function(sql, params) echoed[#echoed + 1] = { sql, params } end })
    for round = 1, 2 do
      local before = #echoed
      assert.equal(20, c:execute(ath.select(things):where(things.c.id:eq(2))):one().qty, "round " .. round)
      assert.equal(before + 1, #echoed)
      assert.same({ 2 }, echoed[#echoed][2])
    end
    done(e, c)
  end)

  it("honours execution options and parameters given with a fused select", function()
    conn:execute(ath.insert(things):values({ id = 21, name = "no price", qty = 1 }))
    local function price(opts)
      return conn:execute(ath.select(things):where(things.c.id:eq(21)), nil, opts):one().price
    end
    assert.is_nil(price())                             -- its SQL kept from here
    assert.equal(ath.null, price({ nulls = ath.null }))
    assert.is_nil(price())
    local n = 0
    for row in conn:execute(ath.select(things):where(things.c.id:le(3)), nil, { stream = true }) do
      n = n + 1
      assert.is_true(row.id <= 3)
    end
    assert.equal(3, n)
    local named = ath.select(things):where(things.c.id:eq(ath.bindparam("k")))
    assert.equal(4, conn:execute(named, { k = 4 }):one().id)
    local ok, err = pcall(conn.execute, conn, ath.select(things):where(things.c.id:eq(1)), { { k = 1 }, { k = 2 } })
    assert.is_false(ok)
    assert.is_true(errors.is(err, "ArgumentError"))
  end)

  it("embeds a fused select in other statements with its value", function()
    local a = ath.select(things):where(things.c.id:eq(7))
    local sub = a:subquery("s")
    assert.equal(70, conn:execute(ath.select(sub.c.qty)):scalar())
    local u = ath.union_all(a, ath.select(things):where(things.c.id:eq(8)))
    assert.same({ 7, 8 }, ids(u))
    local cte = a:cte("c")
    assert.equal("t7", conn:execute(ath.select(cte.c.name)):scalar())
    assert.is_true(conn:execute(ath.select(ath.exists(a))):scalar() == true
      or conn:execute(ath.select(ath.exists(a))):scalar() == 1)
    local sql, values = a:compile({ dialect = "postgresql" })
    assert.equal("SELECT xf_things.id, xf_things.name, xf_things.qty, xf_things.price FROM xf_things "
      .. "WHERE xf_things.id = $1", sql)
    assert.same({ 7 }, values)
  end)

  it("inserts each row built afresh with its own values and key", function()
    for round = 1, 2 do
      for i = 1, 10 do
        local id = 100 * round + i
        local row = { id = id, name = "n" .. id, qty = i, price = i * 0.25 }
        local res = conn:execute(ath.insert(things):values(row))
        assert.same({ id }, res:inserted_primary_key())
      end
    end
    for round = 1, 2 do
      for i = 1, 10 do
        local id = 100 * round + i
        local r = conn:execute(ath.select(things):where(things.c.id:eq(id))):one()
        assert.same({ id, "n" .. id, i, i * 0.25 }, { r.id, r.name, r.qty, r.price })
      end
    end
  end)

  it("gives each row the key the database numbered", function()
    local keys = {}
    for i = 1, 6 do
      keys[i] = conn:execute(ath.insert(logs):values({ msg = "m" .. i, n = i })):inserted_primary_key()[1]
    end
    for i = 1, 6 do
      local r = conn:execute(ath.select(logs):where(logs.c.id:eq(keys[i]))):one()
      assert.equal("m" .. i, r.msg)
      assert.equal(i, r.n)
    end
    assert.equal(6, #conn:execute(ath.select(logs)):all())
  end)

  it("keeps rows of different shapes apart, whatever the order of their keys", function()
    for i = 1, 4 do
      conn:execute(ath.insert(things):values({ id = 200 + i, name = "a" .. i }))
      conn:execute(ath.insert(things):values({ qty = i, id = 300 + i }))
      conn:execute(ath.insert(things):values({ price = i + 0.5, name = "c" .. i, id = 400 + i, qty = ath.null }))
    end
    for i = 1, 4 do
      local a = conn:execute(ath.select(things):where(things.c.id:eq(200 + i))):one()
      assert.same({ "a" .. i }, { a.name, a.qty, a.price })
      local b = conn:execute(ath.select(things):where(things.c.id:eq(300 + i))):one()
      assert.equal(nil, b.name)
      assert.equal(i, b.qty)
      local c = conn:execute(ath.select(things):where(things.c.id:eq(400 + i))):one()
      assert.same({ "c" .. i, nil, i + 0.5 }, { c.name, c.qty, c.price })
    end
  end)

  it("inserts on a kept shape again after the compiled cache is cleared or sized 0", function()
    conn:execute(ath.insert(things):values({ id = 501, name = "x" }))
    conn:execute(ath.insert(things):values({ id = 502, name = "y" }))
    core.compile_cache_clear()
    conn:execute(ath.insert(things):values({ id = 503, name = "z" }))
    assert.equal(1, core.compile_stats().renders)
    core.set_compile_cache_size(0)
    conn:execute(ath.insert(things):values({ id = 504, name = "w" }))
    conn:execute(ath.insert(things):values({ id = 505, name = "v" }))
    assert.equal(3, core.compile_stats().renders)      -- nothing kept: each one rendered
    assert.same({ 501, 502, 503, 504, 505 }, ids(ath.select(things):where(things.c.id:gt(500))))
    assert.equal("w", conn:execute(ath.select(things):where(things.c.id:eq(504))):one().name)
  end)

  it("changes neither insert(t), nor the values() statement, nor the row it was given", function()
    local base = ath.insert(things)
    local shown = tostring(base)
    conn:execute(base:values({ id = 601, name = "first" }))    -- the shape is known from here on
    local row = { id = 602, name = "p", qty = 1, price = 1.5 }
    local stmt = base:values(row)
    local stmt_shown = tostring(stmt)
    conn:execute(stmt)
    assert.equal("id,name,price,qty", keys_of(row))
    assert.is_nil(getmetatable(row))
    assert.equal(shown, tostring(base))
    assert.equal(stmt_shown, tostring(stmt))
    -- the same statement again: the same row, so the same key, refused
    local err = h.catch(function() return conn:execute(stmt) end)
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    -- built on: RETURNING takes its own path and leaves stmt as it was
    local ret = conn:execute(base:values({ id = 603, name = "r" }):returning(things.c.name)):scalar()
    assert.equal("r", ret)
    local again = base:values({ id = 604, name = "s" })
    assert.equal("s", conn:execute(again:returning(things.c.name)):scalar())
    conn:execute(base:values({ id = 605, name = "plain again" }))
    assert.equal("plain again", conn:execute(ath.select(things):where(things.c.id:eq(605))):one().name)
    assert.equal(1, #conn:execute(ath.select(things):where(things.c.id:eq(602))):all())
  end)

  it("inserts what values() was given, whatever the caller does to its table afterwards", function()
    conn:execute(ath.insert(things):values({ id = 801, name = "shape", qty = 1 }))   -- a kept shape
    for _, known in ipairs({ true, false }) do
      local id = known and 802 or 812
      local row = known and { id = id, name = "given", qty = 2 } or { id = id, name = "given", price = 2.5 }
      local stmt = ath.insert(things):values(row)
      row.name, row.qty, row.id = 99, "not a number", id + 1          -- values of the wrong types
      row.price = nil
      local other = ath.insert(things):values({ id = id + 5, name = "other", qty = 3 })
      conn:execute(stmt)
      conn:execute(other)
      local got = conn:execute(ath.select(things):where(things.c.id:eq(id))):one()
      assert.equal("given", got.name)
      if known then assert.equal(2, got.qty) else assert.equal(2.5, got.price) end
      assert.is_nil(conn:execute(ath.select(things):where(things.c.id:eq(id + 1))):first())
    end
    -- a key added or removed after values() neither adds nor loses a column
    local row = { id = 821, name = "keys", qty = 4 }
    local stmt = ath.insert(things):values(row)
    row.qty, row.price = nil, 9.5
    conn:execute(stmt)
    local got = conn:execute(ath.select(things):where(things.c.id:eq(821))):one()
    assert.same({ "keys", 4 }, { got.name, got.qty })
    assert.is_nil(got.price)
  end)

  it("still refuses an unknown column or a value of the wrong type on a kept shape, writing nothing", function()
    conn:execute(ath.insert(things):values({ id = 701, name = "a", qty = 1 }))
    local err = h.catch(function() return ath.insert(things):values({ id = 702, name = "b", nope = 1 }) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("nope", 1, true))
    err = h.catch(function() return conn:execute(ath.insert(things):values({ id = 703, name = "c", qty = "x" })) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true))
    assert.same({ 701 }, ids(ath.select(things):where(things.c.id:gt(700))))
  end)
end)

describe("the fused select's classes", function()
  it("go with their table once the compiled cache lets it go", function()
    local probe = setmetatable({}, { __mode = "k" })
    local engine = ath.create_engine("sqlite://")
    do
      local scratch = ath.MetaData()
      local tmp = ath.Table("fp_scratch", scratch, ath.Column("id", ath.Integer, { primary_key = true }),
        ath.Column("name", ath.String(10)))
      scratch:create_all(engine)
      engine:connect(function(c)
        c:execute(ath.insert(tmp), { { id = 1, name = "a" }, { id = 2, name = "b" } })
        for _, op in ipairs({ "eq", "ne", "gt" }) do
          local stmt = ath.select(tmp):where(tmp.c.id[op](tmp.c.id, 1))
          probe[getmetatable(stmt)] = op
          assert.is_true(#c:execute(stmt):all() >= 1)
          assert.truthy(tostring(stmt):find("fp_scratch", 1, true))
        end
      end)
    end
    assert.equal(3, (function() local n = 0 for _ in pairs(probe) do n = n + 1 end return n end)())
    engine:dispose()
    core.compile_cache_clear()                      -- (the cache holds what it compiled, up to its size)
    for _ = 1, 4 do collectgarbage("collect") end
    assert.is_nil(next(probe))
  end)
end)
