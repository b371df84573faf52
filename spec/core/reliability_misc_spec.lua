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
