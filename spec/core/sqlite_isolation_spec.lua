-- SQLite's isolation levels (API.md §1: isolation_level): READ UNCOMMITTED
-- sets PRAGMA read_uncommitted for the transaction's connection, any other
-- level clears it again, and a user's own PRAGMA is corrected at the next
-- begin. (The driver only writes the PRAGMA when it differs: writing a flag
-- PRAGMA makes SQLite parse every prepared statement again.)
local ath = require("athanor")
local h = require("spec.helpers")

describe("SQLite isolation_level #sqlite", function()
  after_each(h.cleanup)

  local function read_uncommitted(conn)
    return conn:exec_driver_sql("PRAGMA read_uncommitted"):scalar()
  end

  it("READ UNCOMMITTED turns read_uncommitted on for the transaction, SERIALIZABLE off", function()
    local dirty = ath.create_engine(h.url, { isolation_level = "READ UNCOMMITTED", pool_size = 1 })
    dirty:begin(function(conn) assert.equal(1, read_uncommitted(conn)) end)
    dirty:dispose()
    local e = ath.create_engine(h.url, { isolation_level = "SERIALIZABLE", pool_size = 1 })
    e:begin(function(conn) assert.equal(0, read_uncommitted(conn)) end)
    e:dispose()
  end)

  it("sets the level again at begin when the connection's PRAGMA was changed behind its back", function()
    local e = ath.create_engine(h.url, { isolation_level = "SERIALIZABLE", pool_size = 1, max_overflow = 0 })
    local conn = e:connect()
    conn:exec_driver_sql("PRAGMA read_uncommitted = 1")
    assert.equal(1, read_uncommitted(conn))
    conn:begin()
    assert.equal(0, read_uncommitted(conn))
    conn:rollback()
    conn:close()
    e:dispose()
  end)

  it("keeps answering after many transactions on one connection (statements stay prepared)", function()
    local e = ath.create_engine(h.url, { pool_size = 1 })
    local md = ath.MetaData()
    local t = ath.Table("iso_items", md, ath.Column("id", ath.Integer, { primary_key = true }))
    md:create_all(e)
    local total = 0
    for i = 1, 50 do
      e:begin(function(conn)
        conn:execute(ath.insert(t):values{ id = i })
        total = total + conn:execute(ath.select(ath.func.count()):select_from(t)):scalar()
      end)
    end
    assert.equal(50 * 51 / 2, total)
    md:drop_all(e)
    e:dispose()
  end)
end)
