local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("Transactions", function()
  local engine, conn
  local function count() return h.count(engine, "accounts") end
  local function add(c, id) c:execute(ath.text("INSERT INTO accounts (id) VALUES (:id)"), { id = id }) end

  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "accounts")
    conn:exec_driver_sql("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
  end)
  after_each(function()
    if conn:closed() then conn = engine:connect() end
    h.drop(conn, "accounts"); conn:close(); engine:dispose(); h.cleanup()
  end)

  it("commits each statement on its own outside a transaction", function()
    add(conn, 1)
    assert.is_false(conn:in_transaction())
    assert.equal(1, count())
  end)

  it("makes writes visible to others only after commit", function()
    local tx = conn:begin()
    add(conn, 1)
    assert.is_true(conn:in_transaction())
    tx:commit()
    assert.is_false(tx.is_active)
    assert.equal(1, count())
  end)

  it("leaves the database unchanged after rollback", function()
    add(conn, 1)
    local tx = conn:begin()
    add(conn, 2); add(conn, 3)
    tx:rollback()
    assert.equal(1, count())
    assert.is_false(conn:in_transaction())
  end)

  it("rolls back to a SAVEPOINT with begin_nested()", function()
    local tx = conn:begin()
    add(conn, 1)
    local sp = conn:begin_nested()
    add(conn, 2)
    sp:rollback()
    add(conn, 3)
    tx:commit()
    local ids = conn:execute(ath.text("SELECT id FROM accounts ORDER BY id")):scalars():all()
    assert.same({ 1, 3 }, ids)
  end)

  it("releases a SAVEPOINT on nested commit", function()
    local tx = conn:begin()
    local sp = conn:begin_nested()
    add(conn, 1)
    sp:commit()
    tx:commit()
    assert.equal(1, count())
  end)

  it("refuses a second begin() and points to begin_nested()", function()
    conn:begin()
    local err = h.catch(conn.begin, conn)
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.truthy(err.message:find("begin_nested", 1, true))
    conn:rollback()
  end)

  it("engine:begin(fn) commits when fn returns", function()
    local v = engine:begin(function(c) add(c, 1); add(c, 2); return "done" end)
    assert.equal("done", v)
    assert.equal(2, count())
  end)

  it("engine:begin(fn) rolls back and re-raises when fn raises", function()
    local err = h.catch(engine.begin, engine, function(c) add(c, 1); add(c, 1) end)
    assert.is_true(errors.is(err, "IntegrityError"))
    assert.equal(0, count())
    assert.equal(1, engine.pool:status().checked_out)  -- only `conn` from before_each
  end)

  it("rolls back an open transaction when the connection is closed", function()
    conn:begin()
    add(conn, 1)
    conn:close()
    assert.equal(0, count())
  end)

  it("keeps committed data when a later statement fails", function()
    add(conn, 1)
    local tx = conn:begin()
    add(conn, 2)
    local err = h.catch(add, conn, 2)
    assert.is_true(errors.is(err, "IntegrityError"))
    tx:rollback()
    assert.equal(1, count())
  end)

  if h.lua54 then
    it("commits a <close> transaction on normal exit and rolls it back on error", function()
      local chunk = assert(load([[
        local conn, add = ...
        do
          local tx <close> = conn:begin()
          add(conn, 1)
        end
        pcall(function()
          local tx <close> = conn:begin()
          add(conn, 2)
          error("boom")
        end)
      ]]))
      chunk(conn, add)
      assert.equal(1, count())
    end)
  end
end)
