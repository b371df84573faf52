--- Loading rows into objects (internal): the plan of a result's entities
-- and the call into the C loader (athanor.core.orm_load, csrc/lua/l_orm.c)
-- once per batch of fetched rows.
local core = require("athanor.core")
local event = require("athanor.event")
local state = require("athanor.orm.state")

local orm_load = core.orm_load
local compact_class = state.compact_class
local lazy_store = state.lazy_store
local dispatch = event.dispatch
local orm_new_table = core.orm_new_table
local rawget, setmetatable, ipairs, next, type = rawget, setmetatable, ipairs, next, type
local floor = math.floor

local M = {}

local WEAK_VALUES = { __mode = "v" }

--- The weak identity table of mapper in session (key -> object).
function M.identity_map(session, mapper)
  local all = session._identity
  local m = all[mapper]
  if m == nil then
    m = setmetatable({}, WEAK_VALUES)
    all[mapper] = m
  end
  return m
end

--- The C loader's spec for mapper's columns starting after position
-- `offset` of a result whose column names are `names`.
local function deferred_keys(mapper, present)
  local sel = {}
  for _, i in ipairs(present) do sel[i] = true end
  local out = {}
  for i, k in ipairs(mapper.attr_keys) do if not sel[i] then out[#out + 1] = k end end
  return out
end

-- A row key no result has: an attribute not selected (deferred) reads nil.
local ABSENT = "\0not selected"

-- The layout of session:get's result (mapper.pk_select_names: every
-- attribute, from offset 0): row_keys and reuse_rows, computed once per
-- names table.
local whole_layouts = setmetatable({}, { __mode = "k" })

local function entity_spec(session, mapper, names, offset, present)
  local cacheable = offset == 0 and present == nil and names == mapper.pk_select_names
  if cacheable then
    local layouts = whole_layouts[names]
    local layout = layouts and layouts[mapper]
    if layout then
      local model = mapper.model
      local listeners = rawget(model, "_listeners")
      return {
        model = model, mapper = mapper, session = session, mapper_id = mapper.id,
        attrs = mapper.attr_keys, row_keys = layout.row_keys, pk = mapper.pk_index,
        identity = M.identity_map(session, mapper), states = state.states, strong = session._strong,
        new_objects = (listeners and listeners.load) and {} or nil, reuse_rows = layout.reuse,
      }
    end
  end
  local first_at = {}
  for p = 1, #names do
    local nm = names[p]
    if first_at[nm] == nil then first_at[nm] = p end
  end
  local row_keys = {}
  if present then
    -- only the attributes `present` (indices, in select order) are in the row
    for i = 1, #mapper.attr_keys do row_keys[i] = ABSENT end
    for j, i in ipairs(present) do
      local p = offset + j
      local nm = names[p]
      row_keys[i] = (first_at[nm] == p) and nm or p
    end
  else
    for i = 1, #mapper.attr_keys do
      local p = offset + i
      local nm = names[p]
      row_keys[i] = (first_at[nm] == p) and nm or p
    end
  end
  -- a row of exactly this entity's columns, named as its attributes, is
  -- turned into the object itself
  local reuse = offset == 0 and #names == #mapper.attr_keys and present == nil
  for i, key in ipairs(mapper.attr_keys) do if row_keys[i] ~= key then reuse = false end end
  if cacheable then
    local layouts = whole_layouts[names]
    if layouts == nil then
      layouts = setmetatable({}, { __mode = "k" })
      whole_layouts[names] = layouts
    end
    layouts[mapper] = { row_keys = row_keys, reuse = reuse }
  end
  local model = mapper.model
  local listeners = rawget(model, "_listeners")
  return {
    model = model, mapper = mapper, session = session, mapper_id = mapper.id,
    attrs = mapper.attr_keys, row_keys = row_keys, pk = mapper.pk_index,
    identity = M.identity_map(session, mapper), states = state.states, strong = session._strong,
    new_objects = (listeners and listeners.load) and {} or nil, reuse_rows = reuse,
    deferred = present and deferred_keys(mapper, present) or nil,
  }
end

--- A plan for loading a result of `entities` (each { mapper = } or
-- { column = true }) whose column names are `names`.
function M.plan(session, entities, names)
  local plan = { entities = entities, specs = {}, offsets = {}, names = names }
  local offset = 0
  local single = #entities == 1 and entities[1].mapper ~= nil
  for i, e in ipairs(entities) do
    plan.offsets[i] = offset
    if e.mapper then
      plan.specs[i] = entity_spec(session, e.mapper, names, offset, e.present)
      offset = offset + (e.present and #e.present or #e.mapper.attr_keys)
    else
      offset = offset + 1
    end
  end
  plan.single = single
  plan.entity_only = single
  return plan
end

-- Attributes an entity did not select (defer, load_only) are expired on
-- the objects loaded: read on first access. (An attribute found assigned
-- is left alone: autoflush has written it before the query ran.)
local function mark_deferred(spec, objs, n)
  local deferred = spec.deferred
  if deferred == nil then return end
  local states = spec.states
  for r = 1, n do
    local obj = objs[r]
    local st = obj and states[obj]
    if st and st.expired ~= true and st.key ~= nil then
      local e = st.expired
      for _, k in ipairs(deferred) do
        if rawget(obj, k) == nil then e = e or {}; e[k] = true end
      end
      st.expired = e
    end
  end
end

-- Compact states (state.lua) for this load when the session has a state
-- class for the mapper already, or the batch is big enough to pay for
-- making one (a class is a few tables and closures: a get in a fresh
-- session would spend more on it than it saves). Plain states from the
-- loader tell the session it holds some (Session:expunge_all).
local COMPACT_MIN_ROWS = 8

-- A batch of PRESIZE_MIN rows or more into an empty identity map (a fresh
-- session's first load of the mapper) whose keys look dense (a one-column
-- integer key, the first and last rows' keys in 1 .. 2 * rows) gets a new
-- map, and its store a slot table, with an array part sized for them:
-- filling a map of 100,000 entries from empty rehashes it at every
-- doubling, and integer keys in the array part cost the collector and the
-- cache less than in the hash part (a hash part presized for them measured
-- worse than no presizing: docs/performance.md, "ORM loading per row").
-- Keys outside the array part go to the hash part as before: the size is
-- a hint, never a condition. (Nothing else keeps an empty map: the
-- session's is replaced, and a store of an earlier load that refers to the
-- old one has no objects in it to look for.)
local PRESIZE_MIN = 256

local function dense_key_hint(spec, rows, nrows)
  local pk = spec.pk
  if nrows < PRESIZE_MIN or #pk ~= 1 then return 0 end
  local k = spec.row_keys[pk[1]]
  local a, b = rawget(rows[1], k), rawget(rows[nrows], k)
  if type(a) ~= "number" or type(b) ~= "number" then return 0 end
  local top = a > b and a or b
  local bottom = a > b and b or a
  if bottom < 1 or top > 2 * nrows or top ~= floor(top) then return 0 end
  return top
end

local function presize_identity(spec, size)
  if size == 0 or next(spec.identity) ~= nil then return 0 end
  local m = setmetatable(orm_new_table(size), WEAK_VALUES)
  spec.session._identity[spec.mapper] = m
  spec.identity = m
  return size
end

-- With a class, the objects get lazy states (state.lua) unless attributes
-- are deferred (their expiry needs a state now) or the load streams
-- (q:iter(): a store keeps the values of every row it was given while its
-- session has it; a stream lets go of its objects as it goes).
local function choose_states(spec, rows, nrows, streaming)
  local session, mapper = spec.session, spec.mapper
  local classes = rawget(session, "_state_classes")
  local class = classes and classes[mapper]
  if class == nil then
    if nrows >= COMPACT_MIN_ROWS then
      class = compact_class(session, mapper)
    else
      session._plain_states = true
    end
  end
  spec.class = class
  if class and not streaming and spec.deferred == nil then
    local presized = presize_identity(spec, dense_key_hint(spec, rows, nrows))
    spec.store = lazy_store(class, mapper, spec.identity, presized)
  else
    spec.store = nil
  end
end

local function fire_load(spec)
  local new = spec.new_objects
  if new == nil or new[1] == nil then return end
  local model = spec.model
  for i = 1, #new do
    dispatch(model, "load", new[i], nil)
    new[i] = nil
  end
end

--- Turn fetched rows into what the query returns: objects (one entity),
-- or tuples { obj or value, ..., Name = obj or value }. Replaces rows[i].
function M.load(plan, rows)
  if plan.single then
    local spec = plan.specs[1]
    -- a NULL key (outer join) loads as nil
    local n = #rows
    spec.nil_for_null = true
    choose_states(spec, rows, n, plan.streaming)
    orm_load(spec, rows, rows)
    spec.nil_for_null = nil
    mark_deferred(spec, rows, n)
    fire_load(spec)
    return rows
  end
  local entities = plan.entities
  local cols = {}
  for i, e in ipairs(entities) do
    if e.mapper then
      local out = {}
      choose_states(plan.specs[i], rows, #rows, plan.streaming)
      orm_load(plan.specs[i], rows, out)
      mark_deferred(plan.specs[i], out, #rows)
      fire_load(plan.specs[i])
      cols[i] = out
    end
  end
  local names = plan.names
  for r = 1, #rows do
    local row = rows[r]
    local tuple = {}
    for i, e in ipairs(entities) do
      local v
      if e.mapper then
        v = cols[i][r]
        if v == false then v = nil end
        tuple[i] = v
        tuple[e.mapper.name] = v
      else
        local p = plan.offsets[i] + 1
        v = row[p]
        tuple[i] = v
        if names[p] and tuple[names[p]] == nil then tuple[names[p]] = v end
      end
    end
    rows[r] = tuple
  end
  return rows
end

return M
