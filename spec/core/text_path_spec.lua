-- The point select's path (Connection:execute -> TextClause:_ath_execute ->
-- _execute_sql -> Result:one and its siblings): the shortcuts it takes keep
-- every behaviour of the general path.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("The text point-select path", function()
  local engine, conn
  local md = ath.MetaData()
  local items = ath.Table("tp_items", md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.Text))
  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "tp_items")
    md:create_all(conn)
    conn:execute(ath.insert(items), { { id = 1, name = "a" }, { id = 2, name = "b" }, { id = 3, name = ath.null } })
  end)
  after_each(function() h.drop(conn, "tp_items"); conn:close(); engine:dispose(); h.cleanup() end)

  local point = ath.text("SELECT id, name FROM tp_items WHERE id = :id")

  it("reads one row, then raises ResourceClosedError when the result is read again", function()
    local res = conn:execute(point, { id = 2 })
    assert.equal("b", res:one().name)
    for _, method in ipairs({ "one", "first", "scalar", "one_or_none", "all", "fetchone" }) do
      local err = h.catch(function() return res[method](res) end)
      assert.is_true(errors.is(err, "ResourceClosedError"), method)
      assert.matches("closed", err.message, 1, true)
    end
  end)

  it("gives first(), scalar() and one_or_none() their rows and closes the result", function()
    local res = conn:execute(point, { id = 1 })
    assert.equal(1, res:first().id)
    assert.is_true(errors.is(h.catch(function() return res:first() end), "ResourceClosedError"))
    assert.equal("a", conn:execute(ath.text("SELECT name, id FROM tp_items WHERE id = :id"), { id = 1 }):scalar())
    assert.is_nil(conn:execute(point, { id = 9 }):scalar())
    assert.is_nil(conn:execute(point, { id = 9 }):one_or_none())
    assert.equal(3, conn:execute(point, { id = 3 }):one_or_none().id)
    local err = h.catch(function()
      return conn:execute(ath.text("SELECT id FROM tp_items WHERE id < :id"), { id = 3 }):one_or_none()
    end)
    assert.is_true(errors.is(err, "MultipleResultsFound"))
  end)

  it("raises NoResultFound and MultipleResultsFound from one()", function()
    local err = h.catch(function() return conn:execute(point, { id = 9 }):one() end)
    assert.is_true(errors.is(err, "NoResultFound"))
    assert.matches("No row was found", err.message, 1, true)
    err = h.catch(function() return conn:execute(ath.text("SELECT id FROM tp_items"), {}):one() end)
    assert.is_true(errors.is(err, "MultipleResultsFound"))
  end)

  it("keeps NULL as ath.null under the nulls option, and as nil without it", function()
    assert.is_nil(conn:execute(point, { id = 3 }):one().name)
    assert.equal(ath.null, conn:execute(point, { id = 3 }, { nulls = ath.null }):one().name)
  end)

  it("transforms rows of a view read with one(), first() and scalar()", function()
    assert.equal("b", conn:execute(point, { id = 2 }):mappings():one().name)
    assert.equal("B", conn:execute(point, { id = 2 }):map(function(r) return r.name:upper() end):first())
    assert.equal("b", conn:execute(point, { id = 2 }):scalars("name"):one())
    assert.equal("b", conn:execute(point, { id = 2 }):scalars(2):scalar())
  end)

  it("reads one() after an iteration batched rows, from the batch", function()
    local res = conn:execute(ath.text("SELECT id FROM tp_items ORDER BY id"), {})
    assert.equal(1, res:fetchone().id)
    assert.equal(2, res().id)
    assert.equal(3, res:one().id)
  end)

  it("fires a listener added after the connection was made, and stops when it is removed", function()
    local seen = 0
    local function count(_, _, sql) if sql:find("tp_items", 1, true) then seen = seen + 1 end end
    ath.event.listen(engine, "before_cursor_execute", count)
    conn:execute(point, { id = 1 }):one()
    assert.equal(1, seen)
    ath.event.remove(engine, "before_cursor_execute", count)
    conn:execute(point, { id = 1 }):one()
    assert.equal(1, seen)
    ath.event.listen(engine, "before_cursor_execute", count)
    conn:execute(point, { id = 1 }):one()
    assert.equal(2, seen)
    ath.event.remove(engine, "before_cursor_execute", count)
  end)

  it("executes bindparams() and columns() of a text construct already executed plainly", function()
    local t = ath.text("SELECT id, name FROM tp_items WHERE id = :id")
    assert.equal("a", conn:execute(t, { id = 1 }):one().name)
    assert.equal("b", conn:execute(t:bindparams({ id = 2 })):one().name)
    local typed = t:columns(items.c.id, items.c.name)
    assert.equal("a", conn:execute(typed, { id = 1 }):one().name)
  end)

  it("refuses parameters that are not a table with ArgumentError, and writes nothing", function()
    local err = h.catch(function() return conn:execute(ath.text("INSERT INTO tp_items (id) VALUES (:id)"), 7) end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("parameters must be a table", err.message, 1, true)
    assert.equal(3, conn:execute(ath.text("SELECT count(*) FROM tp_items")):scalar())
  end)

  it("keeps a closed Result closed when its statement runs again, and its keys", function()
    local a = conn:execute(point, { id = 1 })
    assert.equal("a", a:one().name)
    local b = conn:execute(point, { id = 2 })
    for _, method in ipairs({ "one", "first", "fetchone", "all" }) do
      assert.is_true(errors.is(h.catch(function() return a[method](a) end), "ResourceClosedError"), method)
    end
    assert.same({ "id", "name" }, a:keys())
    a:close()                                          -- closing it again leaves the new one alone
    assert.equal("b", b:one().name)
    local c = conn:execute(point, { id = 3 })
    assert.is_nil(c:first().name)
  end)

  it("releases the statement of a Result dropped unread, after its cursor served a closed one", function()
    assert.equal("a", conn:execute(point, { id = 1 }):one().name)
    conn:execute(point, { id = 2 })                    -- the same statement, its cursor used again; dropped unread
    collectgarbage()
    collectgarbage()
    conn:exec_driver_sql("DROP TABLE tp_items")        -- SQLite: "table is locked" while a statement reads it
    md:create_all(conn)
  end)

  it("releases the statement of a Result dropped unread while the closed Result before it is kept", function()
    local kept = conn:execute(point, { id = 1 })
    assert.equal("a", kept:one().name)
    conn:execute(point, { id = 2 })                    -- served by kept's cursor; dropped unread
    collectgarbage()
    collectgarbage()
    conn:exec_driver_sql("DROP TABLE tp_items")        -- SQLite: "table is locked" while a statement reads it
    md:create_all(conn)
    assert.same({ "id", "name" }, kept:keys())
    assert.is_true(errors.is(h.catch(function() return kept:one() end), "ResourceClosedError"))
  end)

  it("keeps a Result read to its end, never closed, at its end when its statement runs again", function()
    local all = ath.text("SELECT id FROM tp_items WHERE id > :id ORDER BY id")
    local a = conn:execute(all, { id = 0 })
    local n = 0
    for _ in a:iter() do n = n + 1 end
    assert.equal(3, n)
    local b = conn:execute(all, { id = 1 })
    assert.is_nil(a:fetchone())
    assert.same({}, a:all())
    assert.equal(2, b:first().id)
    local c = conn:execute(all, { id = 0 })
    assert.equal(1, c:fetchone().id)
    local d = conn:execute(all, { id = 2 })           -- c is still open: d has its own cursor
    assert.equal(3, d:one().id)
    assert.equal(2, c:fetchone().id)
    c:close()
  end)

  it("refuses a C method called on another object, naming the class it expected", function()
    local c = conn._c
    if type(c) ~= "userdata" then return end           -- the cosocket driver's connection is Lua
    local res = conn:execute(point, { id = 1 })
    local cur = res[require("athanor.engine.result").CUR]
    for _, wrong in ipairs({ {}, cur, 5 }) do
      local ok, err = pcall(c.exec, wrong, "SELECT 1")
      assert.is_false(ok)
      assert.matches("athanor.CConnection expected", tostring(err), 1, true)
    end
    local ok, err = pcall(cur.take_and_close, c, 1)
    assert.is_false(ok)
    assert.matches("athanor.Cursor expected", tostring(err), 1, true)
    assert.equal("a", res:one().name)                  -- the real ones still work
  end)

  it("reads first(), one() and scalar() of an executemany INSERT ... RETURNING", function()
    conn:execute(ath.text("DELETE FROM tp_items"))   -- the ids come from the database (a sequence on PostgreSQL)
    local ins = ath.insert(items):returning(items.c.id, items.c.name)
    local res = conn:execute(ins, { { name = "x" }, { name = "y" } })
    local row = res:first()
    assert.equal("x", row.name)
    assert.equal("number", type(row.id))
    assert.is_true(errors.is(h.catch(function() return res:first() end), "ResourceClosedError"))
    res = conn:execute(ath.insert(items):returning(items.c.id), { { name = "z" }, { name = "w" } })
    assert.equal(row.id + 2, res:scalar())
    res = conn:execute(ins, { { name = "v" }, { name = "u" } })
    local err = h.catch(function() return res:one() end)
    assert.is_true(errors.is(err, "MultipleResultsFound"))
    res = conn:execute(ins, { { name = "t" }, { name = "s" } })
    assert.equal(2, #res:all())
  end)
end)
