--- Dialects: one object per database, on the Lua side of its C table
-- (csrc/sql/ath_dialect.c). A dialect module (dialects/<name>.lua) owns what
-- differs between databases in Lua: type names in DDL, the DDL extras
-- (serial types, enum types), reflection's catalog queries, and reads the
-- facts the compiler renders by (placeholders, RETURNING, CAST spellings,
-- ...) from its C table as `facts`, so each is written once. `engine.dialect`
-- and `dialects.get(name)` are the same object. No `if dialect ==` ladders
-- elsewhere: a new database is one C table and one module (docs/dialects.md).
local errors = require("athanor.errors")
local core = require("athanor.core")
local quote_identifier = core.quote_identifier

local M = {}

local base = {
  name = "default",
  supports_native_enum = false,
  supports_transactional_ddl = true,
  -- reflection: nil where the dialect has no catalog queries (yet)
}
base.__index = base
M.base = base

--- Quote an identifier when it needs it: a reserved word, upper-case
-- letters, a leading digit, or anything but [a-z0-9_]. Quote characters
-- inside the name are doubled. The rules live in the C compiler
-- (csrc/sql/ath_dialect.c) so DDL and compiled statements agree.
function base:quote(name)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "identifier must be a non-empty string, got %s", tostring(name))
  end
  return quote_identifier(self.name, name)
end

--- The DDL spelling of a type for this dialect.
function base:type_ddl(t)
  local f = self.type_names[t._name] or base.type_names[t._name]
  if type(f) == "function" then return f(t, self) end
  return f
end

--- The CAST spelling of an athanor type name ("Integer", "DateTime(timezone)")
-- in this dialect, from its C table; false when it has no CAST to it.
function base:cast_spelling(type_name)
  return self.facts.cast[type_name]
end

--- The catalog queries of reflection (API.md §10), or an
-- InvalidRequestError naming the dialect when it has none.
function base:reflector(level)
  local r = self.reflection
  if not r then
    errors.raise("InvalidRequestError", (level or 1) + 1, "reflection is not available for the %s dialect", self.name)
  end
  return r
end

base.type_names = {
  Integer = "INTEGER", SmallInteger = "SMALLINT", BigInteger = "BIGINT", Float = "FLOAT",
  Numeric = function(t) return t.precision and ("NUMERIC(%d, %d)"):format(t.precision, t.scale or 0) or "NUMERIC" end,
  Boolean = "BOOLEAN",
  String = function(t) return t.length and ("VARCHAR(%d)"):format(t.length) or "VARCHAR" end,
  Text = "TEXT", Date = "DATE", Time = "TIME",
  DateTime = function(t) return t.timezone and "TIMESTAMP WITH TIME ZONE" or "TIMESTAMP" end,
  LargeBinary = "BLOB", JSON = "JSON", Uuid = "CHAR(32)",
  Enum = function(t) return ("VARCHAR(%d)"):format(t.max_length) end,
}

local loaded = {}

-- Make mod the dialect object of name: the base's methods, and the facts of
-- its C table (core.dialect_facts) with the ones Lua reads most as fields.
local function install(name, mod)
  mod.name = name
  mod.facts = core.dialect_facts(name)
  mod.paramstyle = mod.facts.paramstyle
  mod.supports_returning = mod.facts.returning
  mod.type_names = mod.type_names or {}
  loaded[name] = setmetatable(mod, base)
  return mod
end

--- The dialect object for a name ("sqlite", "postgresql", "mysql", or one
-- defined with M.define).
-- @raise ArgumentError for an unknown dialect
function M.get(name)
  local d = loaded[name]
  if d then return d end
  local ok, mod = pcall(require, "athanor.dialects." .. tostring(name))
  if not ok or type(mod) ~= "table" then
    errors.raise("ArgumentError", 2, "Unknown dialect '%s' (known: sqlite, postgresql, mysql)", tostring(name))
  end
  return install(name, mod)
end

--- Define a dialect from a module table (a new database without a file in
-- dialects/): mod.facts, when given, registers its C table first
-- (core.register_dialect: a copy of facts.base, default "sqlite", with the
-- facts given overridden); else name must have a C table already.
-- @return the dialect object (what M.get(name) returns from now on)
function M.define(name, mod)
  if type(name) ~= "string" or type(mod) ~= "table" then
    errors.raise("ArgumentError", 2, "define() expects a name and a module table")
  end
  if mod.facts then core.register_dialect(name, mod.facts) end
  return install(name, mod)
end

-- Which dialect a bare paramstyle stands for (text():compile{ paramstyle = }):
-- the first built-in one with it.
local BUILTIN = { "sqlite", "postgresql", "mysql" }

--- The dialect object whose placeholders are `style` ("qmark", "numeric_dollar").
function M.for_paramstyle(style)
  for _, name in ipairs(BUILTIN) do
    local d = M.get(name)
    if d.paramstyle == style then return d end
  end
  return nil
end

return M
