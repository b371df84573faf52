--- Query (API.md §7) and the ORM side of session:execute().
-- A Query is immutable like a Core statement: every method returns a new
-- Query and leaves the receiver as it was, so a base query can be reused.
-- It keeps its own clauses and builds the Core select when it runs.
local ath = require("athanor")
local core = require("athanor.core")
local errors = require("athanor.errors")
local state = require("athanor.orm.state")
local mapper_mod = require("athanor.orm.mapper")
local loading = require("athanor.orm.loading")
local rel = require("athanor.orm.relationships")

local states = state.states
local type, ipairs, pairs, setmetatable, getmetatable, select, tostring =
  type, ipairs, pairs, setmetatable, getmetatable, select, tostring
local unpack = require("athanor.compat").unpack
local SELECT_KIND = core.node_kinds.SELECT

local M = {}

local Query = { __name = "athanor.orm.Query" }
Query.__index = Query
M.Query = Query

-- The entity of one query argument: a model, or a column expression.
local function entity_of(x, level)
  local mapper = mapper_mod.mapper_of(x)
  if mapper then return { mapper = mapper } end
  local am, alias = rel.aliased_info(x)
  if am then return { mapper = am, from = alias } end
  if type(x) == "table" and x._orm_property then
    errors.raise("ArgumentError", level + 1, "query(): %s is not a column; select its model instead", tostring(x))
  end
  if type(x) ~= "table" then
    errors.raise("ArgumentError", level + 1,
      "query() expects models, columns or SQL expressions, got %s (wrap a value with ath.literal())", type(x))
  end
  return { expr = x }
end

--- session:query(entities...) (internal constructor).
function M.new(session, level, ...)
  local n = select("#", ...)
  if n == 0 then errors.raise("ArgumentError", level + 1, "session:query() needs at least one model or column") end
  local entities = {}
  for i = 1, n do entities[i] = entity_of((select(i, ...)), level + 1) end
  return setmetatable({ _session = session, _entities = entities, _where = {}, _order = {}, _group = {},
                        _having = {}, _joins = {}, _options = {} }, Query)
end

local function clone(q)
  local c = {}
  for k, v in pairs(q) do c[k] = v end
  return setmetatable(c, Query)
end

local function append(list, ...)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil then out[#out + 1] = v end
  end
  return out
end

-- The mapper filter_by() and bulk operations act on: the last joined
-- model, else the first model queried.
local function primary_mapper(q, level, joined)
  if joined then
    for i = #q._joins, 1, -1 do
      local m = q._joins[i].mapper
      if m then return m end
    end
  end
  for _, e in ipairs(q._entities) do if e.mapper then return e.mapper end end
  -- query(User.age): the model of the first mapped column
  for _, e in ipairs(q._entities) do
    local m = type(e.expr) == "table" and e.expr.table and mapper_mod.by_table[e.expr.table]
    if m then return m end
  end
  errors.raise("InvalidRequestError", level + 1, "this query selects no model")
end

--- The Core select this query runs.
function Query:statement()
  local cols = {}
  for _, e in ipairs(self._entities) do
    if e.present then
      for _, i in ipairs(e.present) do cols[#cols + 1] = e.mapper.columns[i] end
    else
      cols[#cols + 1] = e.from or (e.mapper and e.mapper.table) or e.expr
    end
  end
  local s = ath.select(unpack(cols))
  if self._select_from then s = s:select_from(unpack(self._select_from)) end
  for _, j in ipairs(self._joins) do
    if j.outer then s = s:outerjoin(j.target, j.on, j.opts) else s = s:join(j.target, j.on, j.opts) end
  end
  if #self._where > 0 then s = s:where(unpack(self._where)) end
  if #self._group > 0 then s = s:group_by(unpack(self._group)) end
  if #self._having > 0 then s = s:having(unpack(self._having)) end
  if #self._order > 0 then s = s:order_by(unpack(self._order)) end
  if self._distinct then
    if self._distinct == true then s = s:distinct() else s = s:distinct(unpack(self._distinct)) end
  end
  if self._limit then s = s:limit(self._limit) end
  if self._offset then s = s:offset(self._offset) end
  return s
end

function Query:__tostring() return tostring(self:statement()) end

------------------------------------------------------------- building

--- filter(criteria...) (alias where): several are joined with AND.
function Query:filter(...)
  local c = clone(self)
  c._where = append(self._where, ...)
  return c
end
Query.where = Query.filter

--- filter_by{ attr = value }: equality on attributes of the last joined
-- (else the first) model; ath.null tests IS NULL.
-- @raise ArgumentError naming the model and an unknown attribute
function Query:filter_by(kw)
  if type(kw) ~= "table" then errors.raise("ArgumentError", 2, "filter_by() expects a table of attribute = value") end
  local mapper = primary_mapper(self, 2, true)
  for k in pairs(kw) do
    local p = mapper.props[k]
    if p == nil or p.kind ~= "column" then
      errors.raise("ArgumentError", 2, "%s has no attribute '%s'", mapper.name, tostring(k))
    end
  end
  local crit = {}
  for _, key in ipairs(mapper.attr_keys) do
    local v = kw[key]
    if v ~= nil then crit[#crit + 1] = mapper.props[key].column:eq(v) end
  end
  return self:filter(unpack(crit))
end

function Query:order_by(...)
  local c = clone(self)
  if select("#", ...) == 1 and (...) == nil then c._order = {} return c end   -- order_by(nil) resets
  c._order = append(self._order, ...)
  return c
end

function Query:group_by(...)
  local c = clone(self)
  c._group = append(self._group, ...)
  return c
end

function Query:having(...)
  local c = clone(self)
  c._having = append(self._having, ...)
  return c
end

function Query:limit(n) local c = clone(self); c._limit = n; return c end
function Query:offset(n) local c = clone(self); c._offset = n; return c end

function Query:distinct(...)
  local c = clone(self)
  if select("#", ...) > 0 then c._distinct = { ... } else c._distinct = true end
  return c
end

local function join_target(target, level)
  local mapper = mapper_mod.mapper_of(target)
  if mapper then return mapper.table, mapper end
  local am, alias = rel.aliased_info(target)
  if am then return alias, am end
  if type(target) == "table" and target._orm_property then
    if target.join_target then return target:join_target() end   -- a relationship: table, mapper, ON
    errors.raise("InvalidRequestError", level + 1,
      "join(%s): joining along a relationship needs relationships (API.md §8); give the model and the ON clause",
      tostring(target))
  end
  return target, nil
end

local function add_join(self, outer, target, on, opts)
  local t, mapper, rel_on
  if rel.aliased_info(target) and type(on) == "table" and getmetatable(on) == rel.Relationship then
    -- join(alias, User.addresses): along the relationship, to the alias
    t, mapper, rel_on = on:join_target(target, 3)
    on = nil
  else
    t, mapper, rel_on = join_target(target, 3)
  end
  local c = clone(self)
  c._joins = append(self._joins, { target = t, mapper = mapper, on = on or rel_on, opts = opts, outer = outer })
  return c
end

--- join(Model or table [, on [, opts]]): inner join (ON inferred from the
-- foreign keys when not given).
function Query:join(target, on, opts) return add_join(self, false, target, on, opts) end
--- outerjoin(...): LEFT OUTER JOIN.
function Query:outerjoin(target, on, opts) return add_join(self, true, target, on, opts) end

--- select_from(Model or FROM element...)
function Query:select_from(...)
  local c = clone(self)
  local froms = {}
  for i = 1, select("#", ...) do froms[i] = join_target((select(i, ...)), 2) end
  c._select_from = froms
  return c
end

--- options(opts...): loader options (API.md §8), kept for the loaders.
function Query:options(...)
  local c = clone(self)
  c._options = append(self._options, ...)
  -- defer / load_only: the model's entity selects only some columns
  local e = c._entities[1]
  if e.mapper and e.from == nil then
    local present = rel.loaded_columns(e.mapper, c._options, 2)
    if present then
      local entities = {}
      for i, x in ipairs(c._entities) do entities[i] = x end
      entities[1] = { mapper = e.mapper, present = present }
      c._entities = entities
    end
  end
  return c
end


--- with_entities(entities...): the same query selecting something else.
function Query:with_entities(...)
  local c = clone(self)
  local entities = {}
  for i = 1, select("#", ...) do entities[i] = entity_of((select(i, ...)), 2) end
  if #entities == 0 then errors.raise("ArgumentError", 2, "with_entities() needs at least one model or column") end
  c._entities = entities
  return c
end

--- yield_per(n): iter() streams the rows n at a time.
function Query:yield_per(n)
  if type(n) ~= "number" or n < 1 then errors.raise("ArgumentError", 2, "yield_per() expects a positive count") end
  local c = clone(self)
  c._yield_per = n
  return c
end

--- subquery([name]): the Core subquery of this query's select.
function Query:subquery(name) return self:statement():subquery(name) end

--- exists(): an EXISTS (...) expression of this query
-- (`session:query(q:exists()):scalar()`).
function Query:exists() return ath.exists(self:statement()) end

------------------------------------------------------------- running

local function has_mapper(entities)
  for _, e in ipairs(entities) do if e.mapper then return true end end
  return false
end

-- Run sel in the session's transaction (autoflush first).
local function run(q, sel, opts, level)
  local session = q._session
  session:_autoflush(level + 1)
  local conn = session:_connection(level + 1)
  return conn:execute(sel, nil, opts)
end

-- Rows of res (already fetched) as the query returns them.
local function convert(q, res, rows)
  if not has_mapper(q._entities) then return rows end
  local plan = loading.plan(q._session, q._entities, res:keys())
  return loading.load(plan, rows)
end

-- The loader options in effect (explicit, and the relationships' own
-- eager strategies) when the query returns objects of one model, else nil.
local function loader_options(q)
  local e = q._entities
  if #e ~= 1 or e[1].mapper == nil then return nil end
  local mapper = e[1].mapper
  if #q._options == 0 and mapper.relationships == nil then return nil end
  rel.configure()
  local opts = rel.effective_options(mapper, q._options)
  if #opts == 0 then return nil end
  return opts, mapper
end

-- Objects of sel (the query's select) with their eager loads: joined ones
-- in the statement (the query wrapped in a subquery when `limited`, so
-- LIMIT counts parents), the others by one more query each.
local function load_eager(q, sel, limited, opts, mapper, level)
  local session = q._session
  if q._entities[1].from then
    -- a query of an alias: the options load after it (joinedload the selectin way)
    local res = run(q, sel, nil, level + 1)
    local objs = convert(q, res, res:all())
    rel.after_load(session, objs, opts, nil)
    return objs
  end
  -- contains_eager: the related rows come from the query's own join
  local contains = {}
  for _, opt in ipairs(opts) do
    local step = opt.path[1]
    if step.strategy == "contains" and step.prop ~= "*" and step.prop.parent == mapper then
      local tm = step.prop:_setup(level + 1).mapper
      local found = false
      for _, j in ipairs(q._joins) do if j.mapper == tm then found = true end end
      if not found then
        errors.raise("InvalidRequestError", level + 1,
          "contains_eager(%s): the query does not join %s (query:join(%s))", tostring(step.prop), tm.name, tostring(step.prop))
      end
      contains[#contains + 1] = opt
    end
  end
  if #contains > 0 then
    local entities, stmt = { { mapper = mapper, present = q._entities[1].present } }, sel
    for _, opt in ipairs(contains) do
      local tm = opt.path[1].prop.mapper
      stmt = stmt:add_columns(unpack(tm.columns))
      entities[#entities + 1] = { mapper = tm, joined = opt, prop = opt.path[1].prop, step = 1, parent_n = 1 }
    end
    local res = run(q, stmt, nil, level + 1)
    local rows = res:all()
    loading.load(loading.plan(session, entities, res:keys()), rows)
    local parents, joined = rel.joined_rows(session, rows, entities)
    rel.after_load(session, parents, opts, joined)
    return parents
  end
  local stmt, entities, _, sub, eager_order = rel.joined_statement(sel, mapper, opts, limited, q._entities[1].present)
  if stmt == nil then
    local res = run(q, sel, nil, level + 1)
    local objs = convert(q, res, res:all())
    rel.after_load(session, objs, opts, nil)
    return objs
  end
  if sub then
    -- the subquery's order is not kept by the join: order the outer select by the same columns
    local order = {}
    for _, o in ipairs(q._order) do
      if type(o) == "table" and o.table == mapper.table and sub.c[o.name] then order[#order + 1] = sub.c[o.name] end
    end
    if #order > 0 then stmt = stmt:order_by(unpack(order)) end
  end
  if #eager_order > 0 then stmt = stmt:order_by(unpack(eager_order)) end
  local res = run(q, stmt, nil, level + 1)
  local rows = res:all()
  loading.load(loading.plan(session, entities, res:keys()), rows)
  local parents, joined = rel.joined_rows(session, rows, entities)
  rel.after_load(session, parents, opts, joined)
  return parents
end

-- Whether the options load related rows in the query's own statement
-- (joined, contains_eager): iter() then cannot load a batch at a time.
local function whole_result_needed(opts, mapper, q_from)
  for _, opt in ipairs(opts) do
    local step = opt.path[1]
    if (step.strategy == "joined" or step.strategy == "contains") and step.prop ~= "*" and step.prop.parent == mapper
       and q_from == nil then
      return true
    end
  end
  return false
end

local function is_limited(q) return q._limit ~= nil or q._offset ~= nil or q._distinct ~= nil end

--- Every result: objects for one model, rows (tuples with the models'
-- names as keys) otherwise.
function Query:all()
  local opts, mapper = loader_options(self)
  if opts then return load_eager(self, self:statement(), is_limited(self), opts, mapper, 2) end
  local res = run(self, self:statement(), nil, 2)
  return convert(self, res, res:all())
end

--- The first result, or nil (LIMIT 1).
function Query:first()
  local opts, mapper = loader_options(self)
  if opts then return load_eager(self, self:statement():limit(1), true, opts, mapper, 2)[1] end
  local res = run(self, self:statement():limit(1), nil, 2)
  return convert(self, res, res:all())[1]
end

--- Exactly one result.
-- @raise NoResultFound, MultipleResultsFound
function Query:one()
  local opts, mapper = loader_options(self)
  if opts then
    local objs = load_eager(self, self:statement(), is_limited(self), opts, mapper, 2)
    if #objs == 0 then errors.raise("NoResultFound", 2, "No row was found when one was required") end
    if #objs > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when exactly one was required") end
    return objs[1]
  end
  local res = run(self, self:statement(), nil, 2)
  local rows = res:fetchmany(2)
  res:close()
  if #rows == 0 then errors.raise("NoResultFound", 2, "No row was found when one was required") end
  if #rows > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when exactly one was required") end
  return convert(self, res, rows)[1]
end

--- One result or nil.
-- @raise MultipleResultsFound
function Query:one_or_none()
  local opts, mapper = loader_options(self)
  if opts then
    local objs = load_eager(self, self:statement(), is_limited(self), opts, mapper, 2)
    if #objs > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required") end
    return objs[1]
  end
  local res = run(self, self:statement(), nil, 2)
  local rows = res:fetchmany(2)
  res:close()
  if #rows > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required") end
  return convert(self, res, rows)[1]
end

--- The first column of the one result (or nil when none).
-- @raise MultipleResultsFound
function Query:scalar()
  local res = run(self, self:statement(), nil, 2)
  local rows = res:fetchmany(2)
  res:close()
  if #rows > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required") end
  if #rows == 0 then return nil end
  local out = convert(self, res, rows)[1]
  if #self._entities == 1 and self._entities[1].mapper then return out end
  return out[1]
end

--- The number of results: SELECT count(*) FROM (this query).
function Query:count()
  local sub = self:statement():subquery("anon_1")
  local res = run(self, ath.select(ath.func.count()):select_from(sub), nil, 2)
  return res:scalar()
end

--- get(pk): session:get() of the query's model.
function Query:get(pk)
  return self._session:get(primary_mapper(self, 2).model, pk)
end

-- Let go of the objects a streaming loop has moved past: the loader holds
-- what it loads until the next flush (a change made by plain assignment is
-- only found then), one array per loaded batch appended to the session's
-- strong array, so a loop over a million rows held a million objects. In
-- the batches from `from` on, objects persistent in this session and
-- unchanged are dropped (the identity map still finds them while the
-- caller keeps them); changed, pending or foreign ones stay, gathered in
-- one batch. Returns the strong array's new length.
local function release_clean(session, from)
  local strong = session._strong
  local n = #strong
  if from > n then from = 0 end               -- a flush emptied the array since: all of it is newer
  local kept, k = {}, 0
  for j = from + 1, n do
    local batch = strong[j]
    for b = 1, #batch do
      local obj = batch[b]
      local st = states[obj]
      if not (st and state.is_clean_in(obj, st, session)) then
        k = k + 1
        kept[k] = obj
      end
    end
    strong[j] = nil
  end
  if k == 0 then return from end
  strong[from + 1] = kept
  return from + 1
end

--- for obj in q:iter() do ... end: results fetched and loaded a batch at a
-- time (yield_per(n) streams n rows at a time from the database). Objects
-- the loop has moved past are not held by the session unless they were
-- changed: memory stays at a batch however many rows there are.
function Query:iter()
  local lopts, lmapper = loader_options(self)
  if lopts and whole_result_needed(lopts, lmapper, self._entities[1].from) then
    -- joined/contains_eager rows of one parent may straddle a batch: load them all, then hand them out
    local objs, k = load_eager(self, self:statement(), is_limited(self), lopts, lmapper, 2), 0
    return function()
      k = k + 1
      return objs[k]
    end
  end
  local opts = self._yield_per and { stream = true } or nil
  local res = run(self, self:statement(), opts, 2)
  local size = self._yield_per or 100
  local entities = self._entities
  local mapped = has_mapper(entities)
  local plan, buf, i, n = nil, nil, 0, 0
  local session = self._session
  local held = #session._strong              -- what the session held before this loop: left alone
  return function()
    if i >= n then
      if mapped and buf then held = release_clean(session, held) end
      local rows = res:fetchmany(size)
      n = #rows
      if n == 0 then return nil end
      if mapped then
        if plan == nil then
          plan = loading.plan(session, entities, res:keys())
          plan.streaming = true                 -- (no lazy states: loading.lua)
        end
        buf = loading.load(plan, rows)
        -- selectin and the other non-joined options: one round per batch, as all() does for its one batch
        if lopts then rel.after_load(session, buf, lopts, nil) end
      else
        buf = rows
      end
      i = 0
    end
    i = i + 1
    return buf[i]
  end
end

-- Attribute keys of mapper -> column names (values for Core DML).
local function column_values(mapper, values, level)
  local out = {}
  for k, v in pairs(values) do
    local p = mapper.props[k]
    if p == nil or p.kind ~= "column" then
      errors.raise("ArgumentError", level + 1, "%s has no attribute '%s'", mapper.name, tostring(k))
    end
    out[p.column.name] = v
  end
  return out
end

--- Bulk UPDATE of the rows this query matches: q:update{ age = User.age + 1 }.
-- Objects of the model in the session are expired (read again on access).
-- @return the number of rows matched
function Query:update(values)
  if type(values) ~= "table" then errors.raise("ArgumentError", 2, "update() expects a table of attribute = value") end
  local mapper = primary_mapper(self, 2)
  local stmt = ath.update(mapper.table):values(column_values(mapper, values, 2))
  if #self._where > 0 then stmt = stmt:where(unpack(self._where)) end
  local res = run(self, stmt, nil, 2)
  local changed = {}
  for k in pairs(values) do changed[#changed + 1] = k end
  for _, obj in pairs(loading.identity_map(self._session, mapper)) do
    local st = states[obj]
    if st and st.status == "persistent" then self._session:expire(obj, changed) end
  end
  return res.rowcount
end

--- Bulk DELETE of the rows this query matches. Their objects in the
-- session become deleted (detached after commit).
-- @return the number of rows matched
function Query:delete()
  local mapper = primary_mapper(self, 2)
  local session = self._session
  local pkcols = {}
  for i, a in ipairs(mapper.pk_index) do pkcols[i] = mapper.columns[a] end
  local sel = ath.select(unpack(pkcols))
  if #self._where > 0 then sel = sel:where(unpack(self._where)) end
  local idmap = loading.identity_map(session, mapper)
  local doomed = {}
  for _, row in ipairs(run(self, sel, nil, 2):all()) do
    local pk = {}
    for i = 1, #pkcols do pk[i] = row[i] end
    local obj = idmap[mapper:identity_key(pk)]
    if obj then doomed[#doomed + 1] = obj end
  end
  local stmt = ath.delete(mapper.table)
  if #self._where > 0 then stmt = stmt:where(unpack(self._where)) end
  local res = run(self, stmt, nil, 2)
  for _, obj in ipairs(doomed) do
    local st = states[obj]
    idmap[st.key] = nil
    st.status = "deleted"
    session._tx_deleted[obj] = true
  end
  return res.rowcount
end

------------------------------------------------------------- session:execute

local ORMResult = { __name = "athanor.orm.Result" }
ORMResult.__index = ORMResult
M.ORMResult = ORMResult

-- The entities of a Core select: a run of columns that is exactly a mapped
-- table's column list (what select(User) expands to) is that model; any
-- other column is a column entity. Nil when no model is selected.
local function statement_entities(stmt)
  if type(stmt) ~= "table" or stmt.k ~= SELECT_KIND then return nil end
  local cols = stmt[1]
  if type(cols) ~= "table" then return nil end
  local entities, i, any = {}, 1, false
  while i <= #cols do
    local c = cols[i]
    local mapper = type(c) == "table" and c.table and mapper_mod.by_table[c.table]
    local matched = false
    if mapper and mapper.columns[1] == c then
      matched = true
      for j = 2, #mapper.columns do
        if cols[i + j - 1] ~= mapper.columns[j] then matched = false break end
      end
    end
    if matched then
      entities[#entities + 1] = { mapper = mapper }
      i = i + #mapper.columns
      any = true
    else
      entities[#entities + 1] = { expr = c }
      i = i + 1
    end
  end
  return any and entities or nil
end

local insert_mt, update_mt, delete_mt
local function dml_kinds()
  if insert_mt == nil then
    local t = ath.Table("_athanor_orm_probe", ath.MetaData(), ath.Column("id", ath.Integer, { primary_key = true }))
    insert_mt, update_mt, delete_mt = getmetatable(ath.insert(t)), getmetatable(ath.update(t)), getmetatable(ath.delete(t))
  end
  return insert_mt, update_mt, delete_mt
end

local function is_many(params)
  return type(params) == "table" and type(params[1]) == "table" and getmetatable(params[1]) == nil
end

--- session:execute(stmt, params, opts) (internal).
function M.execute_statement(session, stmt, params, opts, level)
  level = level + 1
  if getmetatable(stmt) == Query then stmt = stmt:statement() end
  session:_autoflush(level)
  local conn = session:_connection(level)
  local ins, upd, del = dml_kinds()
  local mt = type(stmt) == "table" and getmetatable(stmt)
  local mapper = (mt == ins or mt == upd or mt == del) and mapper_mod.by_table[stmt.table] or nil
  if mapper and mt == ins and params ~= nil then
    -- ORM bulk insert: rows keyed by attribute name
    if is_many(params) then
      local rows = {}
      for i, r in ipairs(params) do rows[i] = column_values(mapper, r, level) end
      return conn:execute(stmt, rows, opts)
    end
    return conn:execute(stmt, column_values(mapper, params, level), opts)
  end
  local entities = statement_entities(stmt)
  local res = conn:execute(stmt, params, opts)
  if mapper and mt ~= ins then
    -- a Core UPDATE/DELETE of a mapped table: what the session holds of it may be stale
    for _, obj in pairs(loading.identity_map(session, mapper)) do
      local st = states[obj]
      if st and st.status == "persistent" then session:expire(obj) end
    end
  end
  if not entities then return res end
  -- loader options (the select's own, and the relationships' lazy = "joined"/"selectin") for a select of one model
  local loader_opts
  local m1 = entities[1].mapper
  if #entities == 1 and m1 and (stmt._with_options or m1.relationships) then
    rel.configure()
    loader_opts = rel.effective_options(m1, stmt._with_options or {})
    if #loader_opts == 0 then loader_opts = nil end
  end
  return setmetatable({ _res = res, _session = session, _entities = entities, _loader_opts = loader_opts }, ORMResult)
end

-- Rows of an ORM result: tuples (row[1], row.User), or with `_scalar` the
-- first entity of each.
local function orm_rows(self, rows)
  if #rows == 0 then return rows end
  local entities = self._entities
  if self._scalar and entities[1].mapper then
    local plan = self._plan1 or loading.plan(self._session, { entities[1] }, self._res:keys())
    self._plan1 = plan
    local objs = loading.load(plan, rows)
    if self._loader_opts then rel.after_load(self._session, objs, self._loader_opts, nil) end
    return objs
  end
  local plan = self._plan or loading.plan(self._session, entities, self._res:keys())
  self._plan = plan
  plan.single = false
  loading.load(plan, rows)
  if self._loader_opts then
    local objs = {}
    for i = 1, #rows do objs[i] = rows[i][1] end
    rel.after_load(self._session, objs, self._loader_opts, nil)
  end
  if self._scalar then for i = 1, #rows do rows[i] = rows[i][1] end end
  return rows
end

function ORMResult:all() return orm_rows(self, self._res:all()) end
function ORMResult:fetchmany(n) return orm_rows(self, self._res:fetchmany(n)) end
function ORMResult:first()
  local rows = self._res:fetchmany(1)
  self._res:close()
  return orm_rows(self, rows)[1]
end
function ORMResult:one()
  local rows = self._res:fetchmany(2)
  self._res:close()
  if #rows == 0 then errors.raise("NoResultFound", 2, "No row was found when one was required") end
  if #rows > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when exactly one was required") end
  return orm_rows(self, rows)[1]
end
function ORMResult:one_or_none()
  local rows = self._res:fetchmany(2)
  self._res:close()
  if #rows > 1 then errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required") end
  return orm_rows(self, rows)[1]
end
function ORMResult:scalar()
  local row = self:first()
  if row == nil then return nil end
  if self._scalar then return row end
  return row[1]
end
function ORMResult:scalar_one()
  local row = self:one()
  if self._scalar then return row end
  return row[1]
end
--- The first entity of each row (objects for select(User)).
function ORMResult:scalars()
  return setmetatable({ _res = self._res, _session = self._session, _entities = self._entities, _scalar = true,
                        _loader_opts = self._loader_opts }, ORMResult)
end
function ORMResult:keys() return self._res:keys() end
function ORMResult:close() self._res:close() end
function ORMResult:iter()
  local buf, i = {}, 0
  return function()
    if i >= #buf then
      buf = orm_rows(self, self._res:fetchmany(100))
      i = 0
      if #buf == 0 then return nil end
    end
    i = i + 1
    return buf[i]
  end
end
ORMResult.__call = function(self)
  self._it = self._it or self:iter()
  return self._it()
end

return M
