-- A COMMIT the database refuses must not leave a transaction open behind
-- the user's back (issue 22): the next statement would silently join it,
-- and a later rollback or checkin would undo writes the user believed were
-- on their own. A deferred foreign key fails at COMMIT on both backends;
-- SQLite keeps its transaction open after that, PostgreSQL ends it.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

describe("Transaction:commit() refused by the database", function()
  local engine, conn

  before_each(function()
    engine = h.engine()
    conn = engine:connect()
    h.drop(conn, "rt_child", "rt_parent")
    conn:exec_driver_sql("CREATE TABLE rt_parent (id INTEGER PRIMARY KEY)")
    conn:exec_driver_sql("CREATE TABLE rt_child (id INTEGER PRIMARY KEY, parent_id INTEGER "
      .. "REFERENCES rt_parent (id) DEFERRABLE INITIALLY DEFERRED)")
  end)
  after_each(function()
    if conn:closed() then conn = engine:connect() end
    if conn:in_transaction() then conn:rollback() end
    h.drop(conn, "rt_child", "rt_parent"); conn:close(); engine:dispose(); h.cleanup()
  end)

  local function orphan(c, id)
    c:execute(ath.text("INSERT INTO rt_child (id, parent_id) VALUES (:id, 999)"), { id = id })
  end

  it("raises IntegrityError, rolls the transaction back and leaves it inactive", function()
    local tx = conn:begin()
    conn:execute(ath.text("INSERT INTO rt_parent (id) VALUES (1)"))
    orphan(conn, 1)
    local err = h.catch(tx.commit, tx)
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    assert.is_false(tx.is_active)
    assert.is_false(conn:in_transaction())
    assert.equal(0, h.count(engine, "rt_parent"))
    assert.equal(0, h.count(engine, "rt_child"))
  end)

  it("lets the next statement run on its own and the next begin() start afresh", function()
    local tx = conn:begin()
    orphan(conn, 1)
    h.catch(tx.commit, tx)
    conn:execute(ath.text("INSERT INTO rt_parent (id) VALUES (7)"))   -- autocommit, not in a leftover tx
    local tx2 = conn:begin()
    conn:execute(ath.text("INSERT INTO rt_parent (id) VALUES (8)"))
    tx2:rollback()
    assert.equal(1, h.count(engine, "rt_parent"))
    assert.equal(7, conn:execute(ath.text("SELECT id FROM rt_parent")):scalar())
  end)

  it("makes engine:begin(fn) raise the commit's error with nothing written", function()
    local err = h.catch(engine.begin, engine, function(c)
      c:execute(ath.text("INSERT INTO rt_parent (id) VALUES (1)"))
      orphan(c, 1)
    end)
    assert.is_true(errors.is(err, "IntegrityError"), tostring(err))
    assert.equal(0, h.count(engine, "rt_parent"))
    engine:begin(function(c) c:execute(ath.text("INSERT INTO rt_parent (id) VALUES (2)")) end)
    assert.equal(1, h.count(engine, "rt_parent"))
  end)

  it("raises InvalidRequestError for a second commit of the refused transaction", function()
    local tx = conn:begin()
    orphan(conn, 1)
    h.catch(tx.commit, tx)
    local err = h.catch(tx.commit, tx)
    assert.is_true(errors.is(err, "InvalidRequestError"), tostring(err))
    assert.matches("inactive", err.message)
  end)
end)
