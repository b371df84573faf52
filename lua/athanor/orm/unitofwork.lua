--- The unit of work (API.md §6): what a flush writes and in which order.
--
-- A flush finds the pending objects (INSERT), the persistent ones whose
-- attributes differ from their loaded state (UPDATE of the changed columns
-- only) and the deleted ones (DELETE); orders the tables by foreign key
-- (parents inserted first, children deleted first); batches INSERTs of
-- the same shape; and runs everything on the session's one transaction.
-- Objects change only once every statement succeeded, except the keys and
-- defaults set on inserted objects (after_insert listeners see them),
-- which are undone when a later statement fails.
local ath = require("athanor")
local errors = require("athanor.errors")
local event = require("athanor.event")
local state = require("athanor.orm.state")
local mapper_mod = require("athanor.orm.mapper")
local loading = require("athanor.orm.loading")

local states = state.states
local lazy_changes, lazy_materialize = state.lazy_changes, state.lazy_materialize
local dispatch = event.dispatch
local null = ath.null
local type, ipairs, pairs, next, rawget, rawset, pcall, error, tostring =
  type, ipairs, pairs, next, rawget, rawset, pcall, error, tostring
local concat, sort = table.concat, table.sort
local unpack = table.unpack or unpack                  -- luacheck: ignore

local M = {}

-- Rows of one multi-row INSERT at most, and bound parameters at most
-- (SQLite's default limit is 32766, PostgreSQL's 65535).
local MAX_ROWS, MAX_PARAMS = 1000, 30000

------------------------------------------------------------- ordering

-- The mappers in foreign-key order: a mapper after those of the tables its
-- foreign keys point to (within the flush). A cycle keeps definition order.
local function sort_mappers(list)
  local involved, out, seen = {}, {}, {}
  for _, m in ipairs(list) do involved[m] = true end
  local function visit(m)
    if seen[m] then return end
    seen[m] = true
    for _, fk in ipairs(m.table.foreign_keys) do
      local target = fk:_target_table()
      local pm = target and mapper_mod.by_table[target]
      if pm and pm ~= m and involved[pm] then visit(pm) end
    end
    out[#out + 1] = m
  end
  sort(list, function(a, b) return a.id < b.id end)
  for _, m in ipairs(list) do visit(m) end
  return out
end
M.sort_mappers = sort_mappers

------------------------------------------------------------- statements

--- INSERT rows (name -> value tables of the same columns) into mapper's
-- table. With `want_key`, the autoincrement key of each row comes back, in
-- row order: multi-row VALUES ... RETURNING where the dialect has
-- RETURNING, else one INSERT per row and its last insert id. Otherwise one
-- executemany. The one place that decides how a batch is sent (the Core's
-- insert plan can take it over).
-- @return array of keys (want_key) or nil; the number of statements run
local function insert_batch(conn, mapper, rows, ncols, want_key)
  local t = mapper.table
  local ins = ath.insert(t)
  if not want_key then
    if #rows == 1 then conn:execute(ins, rows[1]) else conn:execute(ins, rows) end
    return nil, 1
  end
  local keycol = mapper.columns[mapper.autoinc_index]
  local keys, statements = {}, 0
  if conn.dialect.name == "postgresql" or conn.dialect.name == "sqlite" then
    -- rows with no column given at all are DEFAULT VALUES, one per statement
    local per = ncols == 0 and 1 or math.max(1, math.min(MAX_ROWS, math.floor(MAX_PARAMS / ncols)))
    local i = 1
    while i <= #rows do
      local chunk = {}
      for j = i, math.min(#rows, i + per - 1) do chunk[#chunk + 1] = rows[j] end
      local res
      if ncols == 0 then
        res = conn:execute(ins:returning(keycol))     -- DEFAULT VALUES, one row
      else
        res = conn:execute(ins:values(chunk):returning(keycol))
      end
      statements = statements + 1
      local got = {}
      for _, r in ipairs(res:all()) do got[#got + 1] = r[1] end
      if #got ~= #chunk then
        errors.raise("StaleDataError", 2, "INSERT into '%s' returned %d keys for %d rows", t.name, #got, #chunk)
      end
      -- an autoincrement key grows with the row order of one statement:
      -- sorting makes the pairing independent of RETURNING's row order
      sort(got)
      for _, k in ipairs(got) do keys[#keys + 1] = k end
      i = i + #chunk
    end
    return keys, statements
  end
  for _, row in ipairs(rows) do
    local res = conn:execute(ins, row)
    keys[#keys + 1] = res:inserted_primary_key()[1]
    statements = statements + 1
  end
  return keys, statements
end
M.insert_batch = insert_batch

local function pk_criteria(mapper, values)
  local crit = {}
  for i, a in ipairs(mapper.pk_index) do crit[i] = mapper.columns[a]:eq(values[i]) end
  return unpack(crit)
end

------------------------------------------------------------- the flush

-- The indices of mapper's columns with a server default, or false.
local function mapper_server_defaults(mapper)
  local d = mapper.server_defaults
  if d == nil then
    d = {}
    for i, col in ipairs(mapper.columns) do if col.server_default ~= nil then d[#d + 1] = i end end
    if #d == 0 then d = false end
    mapper.server_defaults = d
  end
  return d
end

local function fire(model, name, conn, obj)
  if rawget(model, "_listeners") ~= nil then dispatch(model, name, model, conn, obj) end
end

-- Validators of attributes changed since last loaded (or constructed).
local function validate_changes(mapper, obj, st)
  if next(mapper.validators) == nil then return end
  local keys = state.changed_keys(obj, st)
  if not keys then return end
  for _, key in ipairs(keys) do
    if mapper.validators[key] then
      local v = rawget(obj, key)
      local nv = mapper_mod.run_validators(mapper, obj, key, v)
      if nv == null then nv = nil end
      if nv ~= v then rawset(obj, key, nv) end
    end
  end
end

-- Group items by mapper, keeping their order.
local function by_mapper(objs)
  local groups, list = {}, {}
  for _, obj in ipairs(objs) do
    local m = states[obj].mapper
    local g = groups[m]
    if not g then g = {}; groups[m] = g; list[#list + 1] = m end
    g[#g + 1] = obj
  end
  return groups, list
end

-- The persistent objects of session whose columns changed.
-- An object with a lazy state (state.lua) is compared with its store: its
-- state is made only when it changed.
local function find_dirty(session, deleting)
  local dirty = {}
  local classes = rawget(session, "_state_classes")
  for mapper, idmap in pairs(session._identity) do
    local class = classes and classes[mapper]
    local store = class and class._pair.store
    if store and store.identity ~= idmap then store = nil end
    for key, obj in pairs(idmap) do
      local st = rawget(states, obj)
      if st == nil and store then
        local changed, lazy = lazy_changes(store, key, obj)
        if changed then st = lazy_materialize(store, key, obj)
        elseif not lazy then st = states[obj] end
      elseif st == nil then
        st = states[obj]
      end
      if st and not deleting[obj] and state.persistent_changes(obj, st) then
        dirty[#dirty + 1] = obj
      end
    end
  end
  -- a stable order: by mapper, then key (tables are iterated in hash order)
  sort(dirty, function(a, b)
    local sa, sb = states[a], states[b]
    if sa.mapper ~= sb.mapper then return sa.mapper.id < sb.mapper.id end
    local ka, kb = sa.key, sb.key
    if type(ka) == type(kb) and (type(ka) == "number" or type(ka) == "string") then return ka < kb end
    return tostring(ka) < tostring(kb)
  end)
  return dirty
end
M.find_dirty = find_dirty

-- The Lua-side defaults of mapper's columns: { index, key, default }, or
-- false when none has one (computed once per mapper).
local function lua_defaults(mapper)
  local d = mapper.lua_defaults
  if d == nil then
    d = {}
    for i, col in ipairs(mapper.columns) do
      if col.default ~= nil then d[#d + 1] = { i, mapper.attr_keys[i], col.default } end
    end
    if #d == 0 then d = false end
    mapper.lua_defaults = d
  end
  return d
end

-- A function turning an object of mapper into its INSERT row (column name
-- -> value, made with room for every column: no rehash while filling) and
-- its shape, a number whose bit i-1 says column attribute i is set (rows
-- of one shape go in one batch). Compiled once per mapper; nil for a
-- mapper of more columns than a double counts bits exactly (those take
-- the general path). Names are written as quoted literals (%q).
local MAX_SHAPE_BITS = 52
local function row_builder(mapper)
  local b = mapper.row_builder
  if b == nil then
    local keys, cols = mapper.attr_keys, mapper.columns
    if #keys > MAX_SHAPE_BITS then
      b = false
    else
      local reads, fields, bits = {}, {}, {}
      for i, key in ipairs(keys) do
        reads[i] = ("local v%d = rawget(obj, %q)"):format(i, key)
        fields[i] = ("[%q] = v%d"):format(cols[i].name, i)
        bits[i] = ("(v%d == nil and 0 or %d)"):format(i, 2 ^ (i - 1))
      end
      local src = "local rawget = rawget\nreturn function(obj)\n" .. concat(reads, "\n") ..
        "\nreturn { " .. concat(fields, ", ") .. " }, " .. concat(bits, " + ") .. "\nend"
      b = assert((loadstring or load)(src, "=athanor.orm row builder"))()   -- luacheck: ignore
    end
    mapper.row_builder = b
  end
  return b or nil
end

-- Apply the Lua-side column defaults to obj's unset attributes (recorded
-- in work.undo: a failed flush takes them back). A default of ath.null is
-- not set on the object (nil is NULL there) but inserted as NULL: the
-- indices of those come back in an array, or nil.
local function apply_defaults(obj, defaults, work)
  local nulls
  for j = 1, #defaults do
    local d = defaults[j]
    local key = d[2]
    if rawget(obj, key) == nil then
      local v = d[3]
      if type(v) == "function" then v = v() end
      if v == null then
        nulls = nulls or {}
        nulls[#nulls + 1] = d[1]
      elseif v ~= nil then
        rawset(obj, key, v)
        work.undo[#work.undo + 1] = { obj, key }
      end
    end
  end
  return nulls
end

-- Rows of objs grouped by shape (the set of columns given), first-seen
-- order: { rows =, objs =, ncols =, present = attribute indices }.
local function group_rows(mapper, objs, work)
  local keys, cols = mapper.attr_keys, mapper.columns
  local defaults = lua_defaults(mapper)
  local build = row_builder(mapper)
  local shapes, order = {}, {}
  for _, obj in ipairs(objs) do
    local nulls = defaults and apply_defaults(obj, defaults, work)
    local row, shape
    if build and not nulls then
      row, shape = build(obj)
    else
      local present = {}
      row = {}
      for i = 1, #keys do
        local v = rawget(obj, keys[i])
        if v ~= nil then row[cols[i].name] = v end
      end
      for _, i in ipairs(nulls or {}) do row[cols[i].name] = null end
      for i = 1, #keys do if row[cols[i].name] ~= nil then present[#present + 1] = i end end
      if build then
        shape = 0
        for _, i in ipairs(present) do shape = shape + 2 ^ (i - 1) end
      else
        shape = concat(present, ",")
      end
    end
    local g = shapes[shape]
    if not g then
      local present = {}
      for i = 1, #keys do if row[cols[i].name] ~= nil then present[#present + 1] = i end end
      g = { rows = {}, objs = {}, ncols = #present, present = present, n = 0 }
      shapes[shape] = g
      order[#order + 1] = g
    end
    local n = g.n + 1
    g.n = n
    g.rows[n] = row
    g.objs[n] = obj
  end
  return order
end

-- INSERT the pending objects of one mapper. Records undo entries and the
-- post-flush actions in `work`.
local function insert_objects(conn, mapper, objs, work)
  local model = mapper.model
  local keys = mapper.attr_keys
  local listening = rawget(model, "_listeners") ~= nil
  if listening or next(mapper.validators) ~= nil then
    for _, obj in ipairs(objs) do
      fire(model, "before_insert", conn, obj)
      validate_changes(mapper, obj, states[obj])
    end
  end
  local auto = mapper.autoinc_index
  local inserted = work.inserted
  for _, g in ipairs(group_rows(mapper, objs, work)) do
    local want_key = false
    if auto then
      want_key = true
      for _, i in ipairs(g.present) do if i == auto then want_key = false end end
    end
    local got, nstmt = insert_batch(conn, mapper, g.rows, g.ncols, want_key)
    work.statements = work.statements + nstmt
    local n = #inserted
    for j, obj in ipairs(g.objs) do
      if got then
        rawset(obj, keys[auto], got[j])
        work.undo[#work.undo + 1] = { obj, keys[auto] }
      end
      n = n + 1
      inserted[n] = obj
      if listening then fire(model, "after_insert", conn, obj) end
    end
  end
end

-- UPDATE the changed columns of each dirty object of one mapper.
local function update_objects(conn, mapper, objs, work)
  local model = mapper.model
  local t = mapper.table
  for _, obj in ipairs(objs) do
    local st = states[obj]
    fire(model, "before_update", conn, obj)
    validate_changes(mapper, obj, st)
    local changed = state.changed_keys(obj, st)
    if changed then
      local values = {}
      for _, key in ipairs(changed) do
        local v = rawget(obj, key)
        values[mapper.props[key].column.name] = v == nil and null or v
      end
      local res = conn:execute(ath.update(t):where(pk_criteria(mapper, mapper:identity_values(st))):values(values))
      work.statements = work.statements + 1
      if res.rowcount ~= 1 then
        errors.raise("StaleDataError", 2, "UPDATE statement on table '%s' expected to update 1 row; %d were matched",
          t.name, res.rowcount)
      end
      work.updated[#work.updated + 1] = obj
      fire(model, "after_update", conn, obj)
    end
  end
end

-- DELETE the objects of one mapper (a one-column key: IN batches).
local function delete_objects(conn, mapper, objs, work)
  local model = mapper.model
  local t = mapper.table
  for _, obj in ipairs(objs) do fire(model, "before_delete", conn, obj) end
  if mapper.pk_count == 1 then
    local col = mapper.columns[mapper.pk_index[1]]
    local i = 1
    while i <= #objs do
      local ids = {}
      for j = i, math.min(#objs, i + MAX_ROWS - 1) do ids[#ids + 1] = states[objs[j]][mapper.pk_index[1]] end
      local res = conn:execute(ath.delete(t):where(col:in_(ids)))
      work.statements = work.statements + 1
      if res.rowcount ~= #ids then
        errors.raise("StaleDataError", 2, "DELETE statement on table '%s' expected to delete %d row(s); %d were matched",
          t.name, #ids, res.rowcount)
      end
      i = i + #ids
    end
  else
    for _, obj in ipairs(objs) do
      local res = conn:execute(ath.delete(t):where(pk_criteria(mapper, mapper:identity_values(states[obj]))))
      work.statements = work.statements + 1
      if res.rowcount ~= 1 then
        errors.raise("StaleDataError", 2, "DELETE statement on table '%s' expected to delete 1 row; %d were matched",
          t.name, res.rowcount)
      end
    end
  end
  for _, obj in ipairs(objs) do
    work.deleted[#work.deleted + 1] = obj
    fire(model, "after_delete", conn, obj)
  end
end

-- Every statement of the flush, in order (raises on the first failure).
local function execute(conn, new, dirty, deleted, work, rel, session)
  local plan = work.rel_plan
  if plan then
    -- cascades may have added and deleted objects
    new, deleted = {}, {}
    for i, obj in ipairs(session._new) do new[i] = obj end
    for i, obj in ipairs(session._deleted) do deleted[i] = obj end
    rel.apply_syncs(plan)                             -- FKs from parents that have their key
    local deleting = {}
    for _, obj in ipairs(deleted) do deleting[obj] = true end
    dirty = find_dirty(session, deleting)
  end
  local ins_groups, ins_list = by_mapper(new)
  local upd_groups, upd_list = by_mapper(dirty)
  local del_groups, del_list = by_mapper(deleted)
  local all, seen = {}, {}
  for _, l in ipairs({ ins_list, upd_list, del_list }) do
    for _, m in ipairs(l) do if not seen[m] then seen[m] = true; all[#all + 1] = m end end
  end
  if plan then
    -- objects whose FK comes from a parent not inserted yet are updated later
    for _, op in ipairs(plan.syncs) do
      local st = states[op[1]]
      if st and not seen[st.mapper] then seen[st.mapper] = true; all[#all + 1] = st.mapper end
    end
  end
  local order = sort_mappers(all)
  for _, m in ipairs(order) do
    if ins_groups[m] then
      if plan then
        -- parents are inserted: their keys go into the children's FKs
        for _, round in ipairs(rel.insert_rounds(plan, ins_groups[m])) do
          rel.apply_syncs(plan, round)
          insert_objects(conn, m, round, work)
        end
      else
        insert_objects(conn, m, ins_groups[m], work)
      end
    end
  end
  if plan then
    -- FKs from parents inserted just now make more objects dirty
    rel.after_inserts(plan, conn, work)
    local deleting = {}
    for _, obj in ipairs(deleted) do deleting[obj] = true end
    upd_groups = by_mapper(find_dirty(session, deleting))
  end
  for _, m in ipairs(order) do
    if upd_groups[m] then update_objects(conn, m, upd_groups[m], work) end
  end
  if plan then rel.write_secondary(plan, conn, work) end
  for i = #order, 1, -1 do
    local m = order[i]
    if del_groups[m] then delete_objects(conn, m, del_groups[m], work) end
  end
end

--- Flush session (see the header). Fires before_flush / after_flush and
-- the mapper events. On failure: undoes what it set on objects, rolls the
-- database transaction back, leaves the session needing rollback()
-- (PendingRollbackError), and raises the error.
function M.flush(session, level)
  level = (level or 1) + 1
  if session._flushing then return end
  local rel = M.relationship_hooks
  local rel_plan
  if rel then
    session._flushing = true
    local ok, res = pcall(rel.prepare, session)
    session._flushing = false
    if not ok then error(res, 0) end
    rel_plan = res
  end
  local deleting = {}
  for _, obj in ipairs(session._deleted) do deleting[obj] = true end
  local dirty = find_dirty(session, deleting)
  local rel_work = rel_plan and (#rel_plan.syncs > 0 or next(rel_plan.sec_insert) or next(rel_plan.sec_delete))
  if #session._new == 0 and #session._deleted == 0 and #dirty == 0 and not rel_work then
    if rel_plan then rel.finish(rel_plan, session) end
    state.release_all(session._strong)              -- everything is clean: only references keep objects now
    return
  end
  session._flushing = true
  local ok, err = pcall(function()
    session:_dispatch("before_flush", session, nil, nil)
    -- listeners may have added, changed or deleted objects
    deleting = {}
    for _, obj in ipairs(session._deleted) do deleting[obj] = true end
    dirty = find_dirty(session, deleting)
  end)
  if not ok then session._flushing = false; error(err, 0) end
  local conn
  ok, err = pcall(function() conn = session:_connection(level + 2) end)
  if not ok then session._flushing = false; error(err, 0) end
  local new, deleted = {}, {}
  for i, obj in ipairs(session._new) do new[i] = obj end
  for i, obj in ipairs(session._deleted) do deleted[i] = obj end
  local work = { undo = {}, inserted = {}, updated = {}, deleted = {}, statements = 0, rel_plan = rel_plan }
  ok, err = pcall(execute, conn, new, dirty, deleted, work, rel, session)
  if not ok then
    for i = #work.undo, 1, -1 do rawset(work.undo[i][1], work.undo[i][2], nil) end
    session:_fail(err)
    session._flushing = false
    error(err, 0)
  end
  -- every statement succeeded: the objects take their new states
  local tx_new = session._tx_new
  local cur, cur_idmap, server_defaults, keys, nkeys, pk_key   -- of the current run of one mapper
  for _, obj in ipairs(work.inserted) do
    local st = states[obj]
    if st.mapper ~= cur then
      cur = st.mapper
      cur_idmap = loading.identity_map(session, cur)
      server_defaults = mapper_server_defaults(cur)
      keys = cur.attr_keys
      nkeys = #keys
      pk_key = cur.pk_count == 1 and keys[cur.pk_index[1]]
    end
    local key
    if pk_key then key = rawget(obj, pk_key) else key = cur:identity_key_of(obj) end
    st.status, st.key, st.session = "persistent", key, session
    if server_defaults or st.expired then
      -- server-side defaults are not known: read on first access
      for _, i in ipairs(server_defaults or {}) do
        if rawget(obj, keys[i]) == nil then
          local e = st.expired or {}
          if e ~= true then e[keys[i]] = true end
          st.expired = e
        end
      end
      state.snapshot(obj, st)
    else
      for i = 1, nkeys do st[i] = rawget(obj, keys[i]) end   -- state.snapshot, nothing expired
    end
    cur_idmap[key] = obj
    tx_new[obj] = true
  end
  for _, obj in ipairs(work.updated) do
    local st = states[obj]
    local mapper = st.mapper
    local old = st.key
    -- onupdate values are the database's: read on first access
    for i, col in ipairs(mapper.columns) do
      if col.onupdate ~= nil and not state.attr_changed(obj, st, i, mapper.attr_keys[i], st.expired) then
        local e = st.expired or {}
        if e ~= true then e[mapper.attr_keys[i]] = true; rawset(obj, mapper.attr_keys[i], nil) end
        st.expired = e
      end
    end
    state.snapshot(obj, st)
    local key = mapper:identity_key_of(obj)
    if key ~= old then                                -- the primary key itself changed
      local idmap = loading.identity_map(session, mapper)
      idmap[old] = nil
      idmap[key] = obj
      st.key = key
    end
  end
  for _, obj in ipairs(work.deleted) do
    local st = states[obj]
    st.status = "deleted"
    loading.identity_map(session, st.mapper)[st.key] = nil
    session._tx_deleted[obj] = true
  end
  session._new = {}
  session._deleted, session._deleted_set = {}, {}
  if rel_plan then rel.finish(rel_plan, session) end
  state.release_all(session._strong)
  session._flushing = false
  session.last_flush_statements = work.statements
  session:_dispatch("after_flush", session, nil)
end

return M
