--- Execution parameters: the one test of "is this a list of parameter
-- sets?" that every execution path uses (Connection:execute and
-- exec_driver_sql, ath.text, select, INSERT/UPDATE/DELETE, values{}).
local type = type

local M = {}

--- True when params is an array of parameter sets (executemany), false
-- when it is one set: a set is keyed by name (or, for exec_driver_sql, an
-- array of values), so an array of sets starts with a table; a typed value
-- ({ _ath_type = ... }, e.g. a JSON array marked as one value) is a value,
-- not a set. Rows of an earlier result are sets like any table.
-- @param params a table (callers check the type first)
function M.is_many(params)
  local first = params[1]
  return type(first) == "table" and first._ath_type == nil
end

return M
