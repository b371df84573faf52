--- athanor: a SQL toolkit for Lua with a C core (API.md).
-- `require("athanor")` gives the Core: create_engine, text, the schema and
-- expression language, errors, null. It never requires the ORM.
local core = require("athanor.core")
local errors = require("athanor.errors")
local compat = require("athanor.compat")
local result = require("athanor.engine.result")
local engine = require("athanor.engine")
local text = require("athanor.text")

errors.null = core.null
core.set_error_factory(errors.new)
core.set_row_class(result.row_class)
if compat.cjson then core.set_json_decoder(compat.cjson.decode) end

local M = {
  _VERSION = "athanor " .. core.version,
  null = core.null,            -- SQL NULL; the same value as cjson.null and ngx.null
  errors = errors,
  event = require("athanor.event"),
  create_engine = engine.create_engine,
  text = text.text,
}

-- The schema (MetaData, Table, Column, types...) and the expression language
-- (select, insert, func, ...) are merged in by name.
for _, modname in ipairs({ "athanor.schema", "athanor.sql" }) do
  for k, v in pairs(require(modname)) do
    if M[k] == nil then M[k] = v end
  end
end

return M
