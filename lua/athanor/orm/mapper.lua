--- Declarative models (API.md §5): `orm.declarative_base()`, `Base:model()`,
-- the Mapper behind each model and the instance metatable.
--
-- A model is a table that is at once the metatable of its instances, the
-- namespace of its column attributes (`User.name` is the Column itself, so
-- it works wherever a column does) and of its methods (`function
-- User:greeting()`). Instances are plain tables: a loaded attribute is a
-- plain field, and the model's `__index` runs only for what is not in the
-- table: methods, NULL attributes, expired attributes (loaded from the
-- database on first read) and, later, lazy relationships.
--
-- Each Mapper keeps a registry of properties (`mapper.props`, key ->
-- property); a column is one kind of property, and other kinds (the
-- relationships of API.md §8) plug in through `mapper:add_property(key,
-- prop)` and the same small interface: `prop:_attach(mapper, key)`,
-- `prop:get_missing(obj, key, state)`, `prop:init_value(obj, key, value)`.
local ath = require("athanor")
local errors = require("athanor.errors")
local state = require("athanor.orm.state")

local type, pairs, ipairs, next, rawget, rawset, setmetatable, getmetatable, tostring =
  type, pairs, ipairs, next, rawget, rawset, setmetatable, getmetatable, tostring
local concat, sort = table.concat, table.sort
local states = state.states
local null = ath.null

local M = {}

-- The C identity-key encoder of athanor.core when built in (csrc/orm/).
local core = require("athanor.core")
local c_identity_key = core.orm_identity_key

------------------------------------------------------------------ Mapper

local Mapper = { __name = "athanor.orm.Mapper" }
Mapper.__index = Mapper
M.Mapper = Mapper

--- Every mapper by its Table (weak: a collected model frees its entry).
M.by_table = setmetatable({}, { __mode = "k" })

--- A column attribute: `key` of the model maps `column` of its table.
local ColumnProperty = { __name = "athanor.orm.ColumnProperty", kind = "column" }
ColumnProperty.__index = ColumnProperty
M.ColumnProperty = ColumnProperty

--- The value of a column attribute the instance table does not hold: NULL,
-- unless the attribute is expired, which loads it (API.md §5).
-- @raise DetachedInstanceError when expired and the object has no session
function ColumnProperty:get_missing(obj, key, st)
  if st == nil then return nil end
  local expired = st.expired
  if expired == nil or (expired ~= true and not expired[key]) then return nil end
  local session = st.session
  if session == nil then
    errors.raise("DetachedInstanceError", 3,
      "Instance %s is not bound to a Session; attribute '%s' is expired and cannot be loaded",
      M.describe(obj), key)
  end
  session:_load_expired(obj, st, 4)
  return rawget(obj, key)
end

function ColumnProperty:init_value(obj, key, value)
  if value == null then value = nil end
  rawset(obj, key, value)
end

--- A short description of an instance for messages: `<User id=1>`.
function M.describe(obj)
  local mt = getmetatable(obj)
  local mapper = type(mt) == "table" and rawget(mt, "__mapper__")
  if not mapper then return tostring(obj) end
  local parts = {}
  for _, i in ipairs(mapper.pk_index) do
    local key = mapper.attr_keys[i]
    parts[#parts + 1] = key .. "=" .. tostring(rawget(obj, key))
  end
  return "<" .. mapper.name .. (#parts > 0 and (" " .. concat(parts, " ")) or "") .. ">"
end

--- Add a property under key (columns at definition; other kinds later,
-- e.g. `User.addresses = orm.relationship(...)`).
function Mapper:add_property(key, prop)
  if self.props[key] ~= nil and self.props[key].kind == "column" then
    errors.raise("ArgumentError", 3, "%s: '%s' is already a column attribute", self.name, key)
  end
  self.props[key] = prop
  if prop._attach then prop:_attach(self, key) end
  rawset(self.model, key, prop)
end

--- The identity key of a row of this mapper from its primary key values
-- (pk[1..n] in the table's key order): the value itself for a one-column
-- key, an encoded string (athanor.core, csrc/orm/ath_identity.c) otherwise.
-- Nil when a key value is missing (a NULL key has no identity).
function Mapper:identity_key(pk)
  local n = self.pk_count
  if n == 1 then
    local v = pk[1]
    if v == null then return nil end
    return v
  end
  for i = 1, n do if pk[i] == nil or pk[i] == null then return nil end end
  return c_identity_key(self.id, (table.unpack or unpack)(pk, 1, n))   -- luacheck: ignore
end

--- The identity key of obj from its current attribute values (nil when a
-- key attribute is not set).
function Mapper:identity_key_of(obj)
  local keys, idx = self.attr_keys, self.pk_index
  if self.pk_count == 1 then return rawget(obj, keys[idx[1]]) end
  local pk = {}
  for i = 1, #idx do
    local v = rawget(obj, keys[idx[i]])
    if v == nil then return nil end
    pk[i] = v
  end
  return self:identity_key(pk)
end

--- The primary key values of a state's loaded snapshot, as an array.
function Mapper:identity_values(st)
  local out = {}
  for i, a in ipairs(self.pk_index) do out[i] = st[a] end
  return out
end

function Mapper:__tostring() return "Mapper(" .. self.name .. ")" end

------------------------------------------------------------------ models

local Base = { __name = "athanor.orm.Base" }
Base.__index = Base
M.Base = Base

local next_mapper_id = 0

--- orm.declarative_base([{ metadata = md }]) -> Base with Base.metadata and
-- Base.registry (model name -> model).
function M.declarative_base(opts)
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "declarative_base() expects an options table, got %s", type(opts))
  end
  return setmetatable({ metadata = opts and opts.metadata or ath.MetaData(), registry = {} }, Base)
end

-- The metatable of every model: User{...} constructs, assignments of
-- properties add them, anything else is a method or class field.
local ModelMeta = { __name = "athanor.orm.Model" }

local function run_validators(mapper, obj, key, value)
  local list = mapper.validators[key]
  if list == nil then return value end
  for i = 1, #list do value = list[i](obj, key, value) end
  return value
end
M.run_validators = run_validators

-- A function copying the column attributes of a constructor's fields
-- into a new table made with room for all of them: setting them one by one
-- would grow the table (rehash) at the 1st, 2nd, 3rd, 5th, 9th ... key. The
-- keys are written as quoted literals (%q), so any attribute name is safe.
local function compile_copier(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = string.format("[%q] = f[%q]", k, k) end
  local src = "return function(f) return { " .. concat(parts, ", ") .. " } end"
  local chunk = assert((loadstring or load)(src, "=athanor.orm.mapper copier"))   -- luacheck: ignore
  return chunk()
end

-- A function making the state of a new instance (state.lua) with room for
-- everything it will hold: the n loaded values and mapper, session,
-- status, key, expired. Grown one field at a time, a state would be
-- rehashed five or six times between construction and commit.
local has_table_new, table_new = pcall(require, "table.new")   -- LuaJIT's
local function compile_state_maker(n)
  if has_table_new then
    -- (LuaJIT drops the nil fields of a constructor: it sizes by table.new)
    return function(mapper)
      local st = table_new(n, 5)
      st.mapper = mapper
      return st
    end
  end
  local slots = {}
  for i = 1, n do slots[i] = "nil" end
  slots[#slots + 1] = "mapper = mapper, session = nil, status = nil, key = nil, expired = nil"
  local src = "return function(mapper) return { " .. concat(slots, ", ") .. " } end"
  return assert((loadstring or load)(src, "=athanor.orm.mapper state maker"))()   -- luacheck: ignore
end

-- True when every field is a plain column value the copier can take as it
-- is: a column attribute, no validator, not ath.null. (Errors, validators,
-- relationships and ath.null take the general path.)
local function copyable(plain, fields)
  for k, v in pairs(fields) do
    if plain[k] == nil or v == null then return false end
  end
  return true
end

--- User{ name = "Bob" }: a transient instance. An unknown key is an
-- ArgumentError naming the model and the key; validators run here.
function ModelMeta.__call(model, fields)
  local mapper = rawget(model, "__mapper__")
  local hook = M.configure_hook
  if hook then hook() end
  local obj
  local props, validators = mapper.props, mapper.validators
  if fields == nil then
    obj = setmetatable({}, model)
  elseif type(fields) ~= "table" then
    errors.raise("ArgumentError", 2, "%s{...} expects a table of attribute values, got %s", mapper.name, type(fields))
  elseif copyable(mapper.plain_columns, fields) then
    obj = setmetatable(mapper.copy_columns(fields), model)
  else
    obj = setmetatable({}, model)
    for k in pairs(fields) do
      if props[k] == nil then
        errors.raise("ArgumentError", 2, "%s has no attribute '%s'", mapper.name, tostring(k))
      end
    end
    for k, v in pairs(fields) do
      if validators[k] then v = run_validators(mapper, obj, k, v) end
      props[k]:init_value(obj, k, v)
    end
  end
  local st = mapper.new_state(mapper)
  -- what validators compare with at flush (validate only what changed
  -- since); without validators nothing reads a transient object's snapshot
  if next(validators) ~= nil then state.snapshot(obj, st) end
  states[obj] = st
  return obj
end

-- A field the model does not hold yet may be a backref another model's
-- relationship adds when the relationships are configured.
function ModelMeta.__index(model, key)
  if M.configure_hook and type(key) == "string" and key:sub(1, 2) ~= "__" then
    M.configure_hook()
    return rawget(model, key)
  end
  return nil
end

function ModelMeta.__newindex(model, key, value)
  local mapper = rawget(model, "__mapper__")
  if type(value) == "table" and value._orm_property then
    mapper:add_property(key, value)
    return
  end
  if type(value) == "table" and value._kind == "column" then
    errors.raise("ArgumentError", 2, "%s.%s: columns are declared in Base:model()'s fields", mapper.name, tostring(key))
  end
  rawset(model, key, value)
end

function ModelMeta.__tostring(model)
  return "<model " .. tostring(rawget(model, "__name")) .. ">"
end

local function instance_tostring(obj) return M.describe(obj) end

local META_FIELDS = { __tablename = true, __table_args = true }

--- Base:model(name, fields) -> the model: a Table in Base.metadata built
-- from the Column fields (in the order they were written), the methods
-- given as function fields, and the properties (relationships) given.
-- @raise ArgumentError for a missing __tablename, a field of another kind,
--   a duplicate model name, or a table without a primary key
function Base:model(name, fields)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "Base:model() expects a model name, got %s", tostring(name))
  end
  if type(fields) ~= "table" then
    errors.raise("ArgumentError", 2, "Base:model('%s', fields): fields must be a table, got %s", name, type(fields))
  end
  if self.registry[name] then
    errors.raise("ArgumentError", 2, "a model named '%s' is already defined for this Base", name)
  end
  local tablename = fields.__tablename
  if type(tablename) ~= "string" then
    errors.raise("ArgumentError", 2, "model '%s' needs __tablename (a string)", name)
  end
  local cols, props, methods = {}, {}, {}
  for key, v in pairs(fields) do
    if type(key) ~= "string" then
      errors.raise("ArgumentError", 2, "model '%s': field names must be strings, got %s", name, tostring(key))
    end
    if META_FIELDS[key] then -- luacheck: ignore 542
    elseif key:sub(1, 2) == "__" then
      errors.raise("ArgumentError", 2, "model '%s': unknown option '%s'", name, key)
    elseif type(v) == "table" and v._kind == "column" then
      if v.table ~= nil then
        errors.raise("ArgumentError", 2, "model '%s': column '%s' already belongs to table '%s'",
          name, key, tostring(v.table.name))
      end
      cols[#cols + 1] = { key = key, col = v }
    elseif type(v) == "table" and v._orm_property then
      props[#props + 1] = { key = key, prop = v }
    elseif type(v) == "function" then
      methods[key] = v
    else
      errors.raise("ArgumentError", 2,
        "model '%s': field '%s' must be a Column, a relationship or a function, got %s", name, key, type(v))
    end
  end
  sort(cols, function(a, b)
    local x, y = a.col._creation_order or 0, b.col._creation_order or 0
    if x ~= y then return x < y end
    return a.key < b.key
  end)
  local args = {}
  for i, c in ipairs(cols) do
    if c.col.name == nil then c.col.name = c.key end
    args[i] = c.col
  end
  for _, a in ipairs(fields.__table_args or {}) do args[#args + 1] = a end
  local t = ath.Table(tablename, self.metadata, (table.unpack or unpack)(args))   -- luacheck: ignore
  if #t.primary_key == 0 then
    errors.raise("ArgumentError", 2, "model '%s': table '%s' has no primary key column", name, tablename)
  end

  next_mapper_id = next_mapper_id + 1
  local mapper = setmetatable({ name = name, table = t, base = self, id = next_mapper_id,
                                props = {}, attr_keys = {}, columns = {}, index = {}, key_of_column = {},
                                pk_index = {}, validators = {} }, Mapper)
  for i, c in ipairs(cols) do
    local prop = setmetatable({ key = c.key, column = c.col, index = i }, ColumnProperty)
    mapper.props[c.key] = prop
    mapper.attr_keys[i] = c.key
    mapper.columns[i] = c.col
    mapper.index[c.key] = i
    mapper.key_of_column[c.col] = c.key
  end
  mapper.is_pk = {}
  for i, col in ipairs(t.primary_key) do
    mapper.pk_index[i] = mapper.index[mapper.key_of_column[col]]
    mapper.is_pk[mapper.pk_index[i]] = true
  end
  mapper.pk_count = #mapper.pk_index
  -- the column attributes expiring clears (all but the primary key)
  mapper.expirable_keys = {}
  for i, key in ipairs(mapper.attr_keys) do
    if not mapper.is_pk[i] then mapper.expirable_keys[#mapper.expirable_keys + 1] = key end
  end
  mapper.copy_columns = compile_copier(mapper.attr_keys)
  -- the column attributes without a validator (orm.validates takes its
  -- attribute out): the constructor copies those as they are
  mapper.plain_columns = {}
  for _, key in ipairs(mapper.attr_keys) do mapper.plain_columns[key] = true end
  mapper.new_state = compile_state_maker(#mapper.attr_keys)
  local auto = t:_autoincrement_column()
  mapper.autoinc_index = auto and mapper.index[mapper.key_of_column[auto]] or nil

  local model = { __name = name, __table__ = t, __mapper__ = mapper, __tablename = tablename,
                  __tostring = instance_tostring, _event_kind = "mapper" }
  mapper.model = model
  local props_of = mapper.props
  -- Instances read here only what their table lacks (see the header).
  model.__index = function(obj, k)
    local p = props_of[k]
    if p == nil then
      -- an instance is a value, never a clause element: only the model stands for its table
      if k == "__clause_element__" then return nil end
      return rawget(model, k)
    end
    return p:get_missing(obj, k, states[obj])
  end
  model.__clause_element__ = function() return t end
  for col, key in pairs(mapper.key_of_column) do model[key] = col end
  for key, fn in pairs(methods) do model[key] = fn end
  setmetatable(model, ModelMeta)
  for _, p in ipairs(props) do mapper:add_property(p.key, p.prop) end
  self.registry[name] = model
  M.by_table[t] = mapper
  return model
end

--- The mapper of a model (or nil).
function M.mapper_of(x)
  if type(x) ~= "table" then return nil end
  local m = rawget(x, "__mapper__")
  if m and getmetatable(m) == Mapper then return m end
  return nil
end

--- The mapper of an instance (or nil).
function M.instance_mapper(obj)
  if type(obj) ~= "table" then return nil end
  local mt = getmetatable(obj)
  if type(mt) ~= "table" then return nil end
  local m = rawget(mt, "__mapper__")
  if m and getmetatable(m) == Mapper then return m end
  return nil
end

--- orm.validates(User, "email", function(obj, key, value) ... return value end)
function M.validates(model, key, fn)
  local mapper = M.mapper_of(model)
  if not mapper then errors.raise("ArgumentError", 2, "orm.validates() expects a model, got %s", type(model)) end
  if mapper.props[key] == nil then
    errors.raise("ArgumentError", 2, "%s has no attribute '%s'", mapper.name, tostring(key))
  end
  if type(fn) ~= "function" then errors.raise("ArgumentError", 2, "orm.validates() expects a function") end
  local list = mapper.validators[key] or {}
  list[#list + 1] = fn
  mapper.validators[key] = list
  mapper.plain_columns[key] = nil
end

return M
