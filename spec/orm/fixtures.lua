--- Fixtures of the ORM specs: fresh models, tables, an engine and a
-- session for each test, and the SQL statements the engine ran.
local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")

local M = {}

--- fx = fixtures.new(function(Base) return { User = ..., ... } end)
-- before_each(fx.open); after_each(fx.close). fx.Base, fx.models, fx.engine,
-- fx.Session (a sessionmaker), fx.session, fx.sql (statements run since
-- fx.reset_sql()).
function M.new(build, session_opts)
  local fx = { sql = {} }
  function fx.open()
    fx.Base = orm.declarative_base()
    fx.models = build(fx.Base)
    fx.engine = h.engine()
    fx.Base.metadata:drop_all(fx.engine)
    fx.Base.metadata:create_all(fx.engine)
    local opts = { bind = fx.engine }
    for k, v in pairs(session_opts or {}) do opts[k] = v end
    fx.Session = orm.sessionmaker(opts)
    fx.session = fx.Session()
    fx.sql = {}
    ath.event.listen(fx.engine, "before_cursor_execute", function(_, _, statement)
      fx.sql[#fx.sql + 1] = statement
    end)
  end
  function fx.close()
    if fx.session then fx.session:close() end
    fx.Base.metadata:drop_all(fx.engine)
    fx.engine:dispose()
    h.cleanup()
  end
  function fx.reset_sql() fx.sql = {} end
  --- The statements run since reset_sql() whose text starts with `verb`.
  function fx.statements(verb)
    local out = {}
    for _, s in ipairs(fx.sql) do
      if s:upper():match("^%s*" .. verb:upper()) then out[#out + 1] = s end
    end
    return out
  end
  --- Rows of a table through a fresh connection (what is committed).
  function fx.count(tname) return h.count(fx.engine, tname) end
  return fx
end

return M
