--- Feature probes: the one place athanor asks which Lua it runs on.
local M = {}

M.unpack = table.unpack or unpack                           -- luacheck: ignore
M.pack = table.pack or function(...) return { n = select("#", ...), ... } end
M.has_integers = math.type ~= nil                           -- 5.3+: integer subtype
M.lua54 = _VERSION == "Lua 5.4"                             -- <close>, table __gc
M.luajit = type(jit) == "table"                             -- luacheck: ignore

--- True when v is an integral number (an integer on 5.3+, an integral float
-- within 2^53 on LuaJIT/5.1).
if M.has_integers then
  local mtype = math.type
  function M.is_integer(v) return mtype(v) == "integer" end
else
  local floor = math.floor
  function M.is_integer(v)
    return type(v) == "number" and v == floor(v) and v >= -2^53 and v <= 2^53
  end
end

--- lua-cjson, when installed (it is a dependency of the JSON type).
local ok, cjson = pcall(require, "cjson")
M.cjson = ok and cjson or nil

return M
