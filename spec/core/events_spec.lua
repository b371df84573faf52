-- Engine and pool events (API.md §9, docs/events.md): each fires once where
-- SQLAlchemy fires it, with the arguments docs/events.md lists.
local ath = require("athanor")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")

local function pack(...) return { n = select("#", ...), ... } end

-- Listen for each name on target; returns the calls seen, in order, each
-- { name = , n = , args... }.
local function record(target, names)
  local seen = {}
  for _, name in ipairs(names) do
    ath.event.listen(target, name, function(...)
      local call = pack(...)
      call.name = name
      seen[#seen + 1] = call
    end)
  end
  return seen
end

local function names_of(seen)
  local out = {}
  for i, call in ipairs(seen) do out[i] = call.name end
  return out
end

local md = ath.MetaData()
local items = ath.Table("ev_items", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("x", ath.Integer))

local function make_table(conn)
  md:drop_all(conn)
  md:create_all(conn)
end

describe("Engine events", function()
  local e, conn
  before_each(function()
    e = h.engine()
    conn = e:connect()
    make_table(conn)
  end)
  after_each(function()
    if conn:in_transaction() then conn:rollback() end
    md:drop_all(conn)
    conn:close()
    e:dispose()
    h.cleanup()
  end)

  it("fire before_execute and after_execute once per execute with the statement, parameters and options", function()
    local seen = record(e, { "before_execute", "after_execute" })
    local stmt = ath.text("SELECT :a AS a")
    local opts = {}
    local res = conn:execute(stmt, { a = 1 }, opts)
    assert.same({ "before_execute", "after_execute" }, names_of(seen))
    local be, ae = seen[1], seen[2]
    assert.equal(5, be.n)
    assert.equal(conn, be[1]); assert.equal(stmt, be[2])
    assert.same({}, be[3]); assert.same({ a = 1 }, be[4]); assert.equal(opts, be[5])
    assert.equal(6, ae.n)
    assert.equal(conn, ae[1]); assert.equal(stmt, ae[2]); assert.equal(res, ae[6])
    assert.equal("1", tostring(res:scalar()))
  end)

  it("give before_execute the parameter sets of an executemany as multiparams", function()
    local seen = record(e, { "before_execute" })
    local rows = { { x = 1 }, { x = 2 } }
    conn:execute(ath.text("INSERT INTO ev_items (x) VALUES (:x)"), rows)
    assert.equal(1, #seen)
    assert.equal(rows, seen[1][3])
    assert.same({}, seen[1][4])
    assert.same({}, seen[1][5])
  end)

  it("do not fire before_execute for exec_driver_sql, as SQLAlchemy", function()
    local seen = record(e, { "before_execute", "after_execute", "before_cursor_execute" })
    conn:exec_driver_sql("SELECT 1")
    assert.same({ "before_cursor_execute" }, names_of(seen))
  end)

  it("fire before_cursor_execute and after_cursor_execute with the SQL text, parameters and a context", function()
    local seen = record(e, { "before_cursor_execute", "after_cursor_execute" })
    local stmt = ath.text("SELECT :a + 1 AS b")
    conn:execute(stmt, { a = 5 })
    assert.same({ "before_cursor_execute", "after_cursor_execute" }, names_of(seen))
    for _, call in ipairs(seen) do
      assert.equal(6, call.n)
      assert.equal(conn, call[1])
      assert.is_nil(call[2])                                 -- no DBAPI cursor in athanor
      assert.equal("SELECT " .. h.ph(1) .. " + 1 AS b", call[3])
      assert.same({ 5 }, call[4])
      local ctx = call[5]
      assert.equal(conn, ctx.connection); assert.equal(e, ctx.engine)
      assert.equal(call[3], ctx.statement); assert.equal(stmt, ctx.invoked_statement)
      assert.is_false(call[6])
    end
    assert.equal(seen[1][5], seen[2][5])                     -- one context per execution
  end)

  it("give before_cursor_execute the rows of an executemany and executemany = true", function()
    local seen = record(e, { "before_cursor_execute" })
    conn:execute(ath.text("INSERT INTO ev_items (x) VALUES (:x)"), { { x = 1 }, { x = 2 } })
    assert.equal(1, #seen)
    assert.equal("INSERT INTO ev_items (x) VALUES (" .. h.ph(1) .. ")", seen[1][3])
    assert.same({ { 1 }, { 2 } }, seen[1][4])
    assert.is_true(seen[1][6])
  end)

  it("give before_cursor_execute the positional values of exec_driver_sql", function()
    local seen = record(e, { "before_cursor_execute" })
    conn:exec_driver_sql("SELECT " .. h.ph(1), { 7 })
    assert.same({ 7 }, seen[1][4])
    assert.is_nil(seen[1][5].invoked_statement)
  end)

  it("count every statement of a block through before_cursor_execute, not the BEGIN and COMMIT", function()
    local count = 0
    ath.event.listen(e, "before_cursor_execute", function() count = count + 1 end)
    e:begin(function(c)
      c:execute(items:insert(), { x = 1 })
      c:execute(ath.select(items.c.x))
      c:exec_driver_sql("SELECT 1")
    end)
    assert.equal(3, count)
    conn:execute(items:insert(), { { x = 2 }, { x = 3 } })      -- one executemany, its own BEGIN/COMMIT unseen
    assert.equal(4, count)
    conn:execute(items:update():values({ x = 9 }))
    assert.equal(5, count)
  end)

  it("fire begin, commit and rollback with the connection, once each", function()
    local seen = record(e, { "begin", "commit", "rollback" })
    local tx = conn:begin()
    conn:execute(ath.text("INSERT INTO ev_items (x) VALUES (1)"))
    tx:commit()
    tx = conn:begin()
    local sp = conn:begin_nested()                           -- a SAVEPOINT is not a begin
    sp:rollback()
    tx:rollback()
    assert.same({ "begin", "commit", "begin", "rollback" }, names_of(seen))
    for _, call in ipairs(seen) do
      assert.equal(1, call.n); assert.equal(conn, call[1])
    end
  end)

  it("fire rollback when a connection closes with its transaction open", function()
    local c2 = e:connect()
    c2:begin()
    local seen = record(e, { "rollback" })
    c2:close()
    assert.same({ "rollback" }, names_of(seen))
    assert.equal(c2, seen[1][1])
  end)

  it("fire begin and rollback around engine:begin(fn) that raises", function()
    local seen = record(e, { "begin", "commit", "rollback" })
    local ok, err = pcall(e.begin, e, function() error("stop") end)
    assert.is_false(ok)
    assert.matches("stop", tostring(err))
    assert.same({ "begin", "rollback" }, names_of(seen))
  end)
end)

describe("handle_error", function()
  local e, conn
  before_each(function()
    e = h.engine()
    conn = e:connect()
  end)
  after_each(function()
    conn:close()
    e:dispose()
    h.cleanup()
  end)

  local missing = "SELECT x FROM ev_no_such_table WHERE x = :x"

  it("receives an exception context, then the original error is raised", function()
    local seen = record(e, { "handle_error", "after_cursor_execute", "after_execute" })
    local stmt = ath.text(missing)
    local err = h.catch(conn.execute, conn, stmt, { x = 1 })
    assert.is_true(errors.is(err, "DBAPIError"))
    assert.truthy(err.message:find("ev_no_such_table", 1, true))
    assert.same({ "handle_error" }, names_of(seen))          -- nothing "after" a failure
    local ctx = seen[1][1]
    assert.equal(1, seen[1].n)
    assert.equal(conn, ctx.connection); assert.equal(e, ctx.engine)
    assert.equal(err, ctx.original_exception); assert.equal(err, ctx.sqlalchemy_exception)
    assert.truthy(ctx.statement:find("ev_no_such_table", 1, true))
    assert.same({ 1 }, ctx.parameters)
    assert.is_nil(ctx.chained_exception)
    assert.is_false(ctx.is_disconnect)
    assert.equal(stmt, ctx.execution_context.invoked_statement)
    assert.equal(1, conn:exec_driver_sql("SELECT 1"):scalar())   -- the connection still works
  end)

  it("fires once for an error raised before the SQL reaches the database", function()
    local seen = record(e, { "handle_error", "before_cursor_execute" })
    local err = h.catch(conn.execute, conn, ath.text("SELECT :a"), {})
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.same({ "before_cursor_execute", "handle_error" }, names_of(seen))
    assert.equal(err, seen[2][1].original_exception)
  end)

  it("raises the error object a listener raises, with the original as its cause (SQLAlchemy's rule)", function()
    local mine = errors.new("InvalidRequestError", "replaced by the listener")
    local later = false
    ath.event.listen(e, "handle_error", function() error(mine, 0) end)
    ath.event.listen(e, "handle_error", function() later = true end)
    local err = h.catch(conn.execute, conn, ath.text(missing), { x = 1 })
    assert.equal(mine, err)
    assert.is_true(errors.is(err.cause, "DBAPIError"))      -- the original is not hidden
    assert.truthy(err.cause.message:find("ev_no_such_table", 1, true))
    assert.is_false(later)                                  -- raising stops the chain
  end)

  it("raises the original unchanged when a listener re-raises it", function()
    ath.event.listen(e, "handle_error", function(ctx) error(ctx.original_exception, 0) end)
    local err = h.catch(conn.execute, conn, ath.text(missing), { x = 1 })
    assert.is_true(errors.is(err, "DBAPIError"))
    assert.is_nil(err.cause)                                 -- not its own cause
  end)

  it("does not let a listener failing with a plain string hide the original error", function()
    ath.event.listen(e, "handle_error", function(ctx) return ctx.nothing.here end)
    local err = h.catch(conn.execute, conn, ath.text(missing), { x = 1 })
    assert.is_true(errors.is(err, "DBAPIError"))
    assert.truthy(err.message:find("ev_no_such_table", 1, true))
    assert.truthy(tostring(err.listener_error):find("nothing", 1, true))
  end)

  it("chains what a listener returns: the next listener sees it, and it is raised", function()
    local first = errors.new("InvalidRequestError", "first")
    local chained
    ath.event.listen(e, "handle_error", function() return first end)
    ath.event.listen(e, "handle_error", function(ctx) chained = ctx.chained_exception end)
    local err = h.catch(conn.execute, conn, ath.text(missing), { x = 1 })
    assert.equal(first, chained)
    assert.equal(first, err)
  end)

  it("fires for exec_driver_sql and for executemany", function()
    local seen = record(e, { "handle_error" })
    h.catch(conn.exec_driver_sql, conn, "SELECT * FROM ev_no_such_table")
    h.catch(conn.exec_driver_sql, conn, "INSERT INTO ev_no_such_table VALUES (" .. h.ph(1) .. ")", { { 1 }, { 2 } })
    assert.equal(2, #seen)
    assert.same({ { 1 }, { 2 } }, seen[2][1].parameters)
  end)

  it("fires with no connection when the engine cannot connect", function()
    local bad = ath.create_engine("sqlite:////nonexistent-athanor-dir/x.db")
    local seen = record(bad, { "handle_error" })
    local err = h.catch(bad.connect, bad)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.equal(1, #seen)
    assert.is_nil(seen[1][1].connection)
    assert.equal(bad, seen[1][1].engine)
    assert.equal(err, seen[1][1].original_exception)
  end)
end)

describe("Pool events", function()
  after_each(h.cleanup)

  it("fire connect, checkout, checkin and invalidate once each with the connection and its serial", function()
    local e = h.engine({ pool_size = 1 })
    local seen = record(e.pool, { "connect", "checkout", "checkin", "invalidate" })
    local engine_seen = record(e, { "connect" })
    local c = e:connect()
    c:close()
    assert.same({ "connect", "checkout", "checkin" }, names_of(seen))
    local serial = seen[1][2]
    assert.equal("number", type(serial))
    assert.equal(2, seen[1].n); assert.equal(c, seen[1][1])
    assert.equal(3, seen[2].n); assert.equal(c, seen[2][1]); assert.equal(serial, seen[2][2]); assert.equal(c, seen[2][3])
    assert.equal(2, seen[3].n); assert.equal(c, seen[3][1]); assert.equal(serial, seen[3][2])
    assert.same({ "connect" }, names_of(engine_seen))       -- the engine hears its pool
    local c2 = e:connect()                                  -- the same database connection again
    c2:invalidate()
    assert.same({ "connect", "checkout", "checkin", "checkout", "invalidate" }, names_of(seen))
    assert.equal(serial, seen[4][2])
    assert.equal(3, seen[5].n); assert.equal(c2, seen[5][1]); assert.equal(serial, seen[5][2])
    assert.is_nil(seen[5][3])                                -- invalidated on request: no error
    e:dispose()
  end)

  it("fire connect for the connection that replaces a recycled one", function()
    local e = h.engine({ pool_size = 1, pool_recycle = 0 })
    local old
    ath.event.listen(e.pool, "checkin", function(_, serial) old = serial end)
    e:connect(function() end)
    assert.equal("number", type(old))
    local seen = record(e.pool, { "connect", "checkout", "invalidate" })
    local before = core.monotonic()
    repeat until core.monotonic() > before + 0.01          -- older than pool_recycle = 0
    local c = e:connect()
    assert.same({ "connect", "checkout" }, names_of(seen))  -- SQLAlchemy: no invalidate on recycle
    assert.equal(c, seen[1][1])
    assert.are_not.equal(old, seen[1][2])                   -- a new database connection
    c:close()
    e:dispose()
  end)

  it("stop calling a listener once it is removed", function()
    local e = h.engine()
    local calls = 0
    local function count() calls = calls + 1 end
    ath.event.listen(e, "before_cursor_execute", count)
    ath.event.listen(e.pool, "checkout", count)
    e:connect(function(c) c:exec_driver_sql("SELECT 1") end)
    assert.equal(2, calls)
    ath.event.remove(e, "before_cursor_execute", count)
    ath.event.remove(e.pool, "checkout", count)
    assert.is_false(ath.event.contains(e, "before_cursor_execute", count))
    e:connect(function(c) c:exec_driver_sql("SELECT 1") end)
    assert.equal(2, calls)
    assert.is_nil(e._listeners)                              -- back on the no-listener fast path
    e:dispose()
  end)

  it("refuse listen options such as retval, which are not supported", function()
    local e = h.engine()
    local err = h.catch(ath.event.listen, e, "before_execute", function() end, { retval = true })
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("retval", 1, true))
    e:dispose()
  end)
end)

describe("Pool events on a PostgreSQL disconnect #postgresql", function()
  it("deliver the invalidation a failed pre-ping made inside the pool, then connect and checkout", function()
    local admin = ath.create_engine(h.url, { poolclass = "null" })
    local e = ath.create_engine(h.url, { pool_size = 1, pool_pre_ping = true })
    local pid, first
    e:connect(function(c) pid = c:execute(ath.text("SELECT pg_backend_pid()")):scalar() end)
    admin:connect(function(a) a:execute(ath.text("SELECT pg_terminate_backend(:p)"), { p = pid }) end)
    local seen = record(e.pool, { "connect", "checkout", "invalidate" })
    ath.event.listen(e.pool, "checkin", function(_, serial) first = first or serial end)
    local c = e:connect()
    assert.same({ "invalidate", "connect", "checkout" }, names_of(seen))
    local inv = seen[1]
    assert.equal(3, inv.n)
    assert.is_nil(inv[1])                                    -- no Connection held it
    assert.equal("number", type(inv[2]))
    assert.is_true(errors.is(inv[3], "DBAPIError") or errors.is(inv[3], "DisconnectionError"))
    assert.are_not.equal(inv[2], seen[2][2])                -- a new database connection
    assert.equal(c, seen[2][1])
    assert.equal(1, c:execute(ath.text("SELECT 1")):scalar())
    c:close()
    e:dispose(); admin:dispose()
  end)
end)
