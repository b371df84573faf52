--- Session (API.md §6): the identity map, the unit of work's bookkeeping,
-- and one database transaction at a time. A Session is mutable and meant
-- for one request, task or coroutine: nothing in it is global.
--
-- Objects are held weakly by the identity map. Pending and deleted objects
-- are held strongly until flush; persistent objects loaded or attached
-- since the last flush are held strongly until the next one (a plain table
-- cannot report an assignment, so an object must stay reachable until a
-- flush has compared it with its loaded state). After a flush, commit or
-- rollback, a clean object nobody references is collected and its identity
-- entry goes with it, on Lua 5.4 and LuaJIT alike.
local ath = require("athanor")
local errors = require("athanor.errors")
local event = require("athanor.event")
local state = require("athanor.orm.state")
local mapper_mod = require("athanor.orm.mapper")
local loading = require("athanor.orm.loading")
local uow = require("athanor.orm.unitofwork")

local states = state.states
local dispatch = event.dispatch
local type, ipairs, pairs, rawget, rawset, setmetatable, getmetatable, pcall, error, tostring =
  type, ipairs, pairs, rawget, rawset, setmetatable, getmetatable, pcall, error, tostring
local compat = require("athanor.compat")
local unpack, pack = compat.unpack, compat.pack

local M = {}

local Session = { __name = "athanor.orm.Session" }
M.Session_class = Session

local describe = mapper_mod.describe

-- session.new / dirty / deleted are computed arrays; the rest are methods.
Session.__index = function(self, k)
  if k == "new" then
    local out = {}
    for i, obj in ipairs(rawget(self, "_new")) do out[i] = obj end
    return out
  elseif k == "dirty" then
    local deleting = {}
    for _, obj in ipairs(rawget(self, "_deleted")) do deleting[obj] = true end
    return uow.find_dirty(self, deleting)
  elseif k == "deleted" then
    local out = {}
    for i, obj in ipairs(rawget(self, "_deleted")) do out[i] = obj end
    return out
  end
  return Session[k]
end

--- orm.Session({ bind = engine, autoflush = true, expire_on_commit = true })
function M.Session(opts, maker)
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "Session() expects an options table, got %s", type(opts))
  end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "bind" and k ~= "autoflush" and k ~= "expire_on_commit" then
      errors.raise("ArgumentError", 2, "Session(): unknown option '%s'", tostring(k))
    end
  end
  return setmetatable({
    bind = opts.bind, autoflush = opts.autoflush ~= false, expire_on_commit = opts.expire_on_commit ~= false,
    _event_kind = "session", _maker = maker,
    _identity = {}, _new = {}, _deleted = {}, _deleted_set = {}, _strong = {},
    _tx_new = {}, _tx_deleted = {},
  }, Session)
end

--- orm.sessionmaker(opts) -> a factory: `Session()` makes a session with
-- opts (merged with the call's own). Listeners on the factory
-- (ath.event.listen(Session, "after_commit", fn)) hear every session it made.
local Maker = { __name = "athanor.orm.sessionmaker" }
Maker.__index = Maker
function M.sessionmaker(opts)
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise("ArgumentError", 2, "sessionmaker() expects an options table, got %s", type(opts))
  end
  return setmetatable({ _opts = opts or {}, _event_kind = "session" }, Maker)
end
function Maker:__call(opts)
  local merged = {}
  for k, v in pairs(self._opts) do merged[k] = v end
  for k, v in pairs(opts or {}) do merged[k] = v end
  return M.Session(merged, self)
end
--- maker:configure(opts): change the options of sessions made from now on.
function Maker:configure(opts)
  for k, v in pairs(opts or {}) do self._opts[k] = v end
end

function Session:_dispatch(name, ...)
  local maker = self._maker
  if maker and maker._listeners then dispatch(maker, name, ...) end
  if rawget(self, "_listeners") then dispatch(self, name, ...) end
end

------------------------------------------------------------- plumbing

local function check_usable(self)
  local err = self._pending_rollback
  if err ~= nil then
    local e = errors.new("PendingRollbackError",
      "This Session's transaction has been rolled back due to a previous exception during flush. " ..
      "To begin a new transaction with this Session, first issue session:rollback(). Original exception was: " ..
      tostring(err))
    e.orig_error = err
    error(e, 0)
  end
end

--- The session's connection, beginning its transaction on first use.
function Session:_connection(level)
  check_usable(self)
  local conn = self._conn
  if conn then return conn end
  local bind = self.bind
  if bind == nil then
    errors.raise("InvalidRequestError", (level or 1) + 1,
      "This Session is not bound to an engine: orm.Session({ bind = engine })")
  end
  conn = bind:connect()
  self._conn = conn
  self._tx = conn:begin()
  return conn
end

--- The Connection of the session's transaction (begun when needed).
function Session:connection() return self:_connection(2) end

local function release(self)
  local conn = self._conn
  self._conn, self._tx = nil, nil
  if conn then pcall(conn.close, conn) end
end

-- A failed flush (unitofwork): roll the database back now, and refuse
-- everything but rollback()/close() until then.
function Session:_fail(err)
  local tx = self._tx
  if tx then pcall(tx.rollback, tx) end
  release(self)
  self._pending_rollback = err
end

local function mapper_for(obj, what, level)
  local m = mapper_mod.instance_mapper(obj)
  if not m then
    errors.raise("ArgumentError", level + 1, "%s expects a mapped object, got %s", what,
      type(obj) == "table" and tostring(obj) or type(obj))
  end
  return m
end

local function autoflush(self, level)
  if self.autoflush and not self._flushing and not self._no_autoflush then uow.flush(self, level + 1) end
end
Session._autoflush = autoflush

------------------------------------------------------------- objects

--- Add an object: a transient one becomes pending (inserted at the next
-- flush), a detached one persistent again.
-- @raise InvalidRequestError when it belongs to another session, or
--   another object has its identity here
function Session:add(obj)
  local mapper = mapper_for(obj, "Session:add()", 2)
  local st = state.ensure(obj, mapper)
  local owner = st.session
  if owner == self then
    if self._deleted_set[obj] and st.status == "persistent" then return end
    return
  end
  if owner ~= nil then
    errors.raise("InvalidRequestError", 2,
      "Object %s is already attached to another Session; expunge it there first (session:expunge(obj))",
      describe(obj))
  end
  if st.key == nil then
    -- (it had no session, so it is not in _new yet: an object is in _new
    -- exactly while its state says pending in this session)
    st.session, st.status = self, "pending"
    self._plain_states = true
    self._new[#self._new + 1] = obj
    if mapper.relationships then uow.relationship_hooks.cascade_on_add(self, obj) end
    return
  end
  local idmap = loading.identity_map(self, mapper)
  local present = idmap[st.key]
  if present ~= nil and present ~= obj then
    errors.raise("InvalidRequestError", 2,
      "Can't attach instance %s: another instance with the same identity key is already in this Session",
      describe(obj))
  end
  idmap[st.key] = obj
  st.session, st.status = self, "persistent"
  self._plain_states = true
  self._strong[obj] = true
  if mapper.relationships then uow.relationship_hooks.cascade_on_add(self, obj) end
end

--- Add every object of an array.
function Session:add_all(objs)
  if type(objs) ~= "table" then errors.raise("ArgumentError", 2, "add_all() expects an array of objects") end
  local new = self._new
  local n = #new
  if objs[1] ~= nil then self._plain_states = true end
  for _, obj in ipairs(objs) do
    -- the common case inline: a transient object of a model without
    -- relationships (no cascade) becomes pending
    local st = states[obj]
    local mapper = st and st.mapper
    if mapper and st.session == nil and st.key == nil and mapper.relationships == nil
        and getmetatable(obj) == mapper.model then
      st.session, st.status = self, "pending"
      n = n + 1
      new[n] = obj
    else
      self:add(obj)
      n = #new
    end
  end
end

--- Mark a persistent object for deletion at the next flush.
-- @raise InvalidRequestError for an object that is not persisted
function Session:delete(obj)
  local mapper = mapper_for(obj, "Session:delete()", 2)
  local st = state.ensure(obj, mapper)
  if st.key == nil then
    errors.raise("InvalidRequestError", 2, "Instance %s is not persisted", describe(obj))
  end
  if st.session ~= self then self:add(obj) end
  if st.status == "deleted" then return end
  if not self._deleted_set[obj] then
    self._deleted_set[obj] = true
    self._deleted[#self._deleted + 1] = obj
  end
end

local function remove_from(list, obj)
  for i = #list, 1, -1 do if list[i] == obj then table.remove(list, i) end end
end

-- Forget obj (its state stays: transient when never inserted, else detached).
local function detach(self, obj, st)
  if st.session == self and st.status == "pending" then remove_from(self._new, obj) end
  if self._deleted_set[obj] then self._deleted_set[obj] = nil; remove_from(self._deleted, obj) end
  if st.key ~= nil then
    local idmap = self._identity[st.mapper]
    if idmap and idmap[st.key] == obj then idmap[st.key] = nil end
  end
  self._strong[obj] = nil
  self._tx_new[obj], self._tx_deleted[obj] = nil, nil
  st.session, st.status = nil, nil
end

--- Remove an object from the session (it becomes detached, or transient
-- if it was pending).
-- @raise InvalidRequestError when it is not in this session
function Session:expunge(obj)
  mapper_for(obj, "Session:expunge()", 2)
  local st = states[obj]
  if st == nil or st.session ~= self then
    errors.raise("InvalidRequestError", 2, "Instance %s is not present in this Session", describe(obj))
  end
  detach(self, obj, st)
end

-- Detach obj when it is still this session's (what detach() does to its
-- state; the caller empties the session's tables itself). Compact states
-- are detached already (state.detach_compact): only a plain state can
-- still name the session, and it does so in a raw field.
local function forget(self, obj)
  local st = states[obj]
  if st and rawget(st, "session") == self then st.session, st.status = nil, nil end
end

--- Remove every object from the session.
function Session:expunge_all()
  state.detach_compact(self)
  -- every object of the session: identity map, pending, deleted. The
  -- identity maps hold plain states only once _plain_states is set (an
  -- object added, or a compact state made plain): a session that only
  -- loaded has none to visit. (The loop is forget() inline.)
  if self._plain_states then
    for _, idmap in pairs(self._identity) do
      for _, obj in pairs(idmap) do
        local st = rawget(states, obj)            -- (an object without a state yet is compact: state.lua)
        if st and rawget(st, "session") == self then st.session, st.status = nil, nil end
      end
    end
    self._plain_states = nil
  end
  for _, obj in ipairs(self._new) do forget(self, obj) end
  for obj in pairs(self._tx_deleted) do forget(self, obj) end
  self._identity = {}
  self._new, self._deleted, self._deleted_set = {}, {}, {}
  self._tx_new, self._tx_deleted = {}, {}
  self._rel, self._loadopt = nil, nil
  state.release_all(self._strong)
end

--- Expire attributes of a persistent object (all column attributes when
-- attrs is nil): they are read from the database on next access.
function Session:expire(obj, attrs)
  local mapper = mapper_for(obj, "Session:expire()", 2)
  local st = states[obj]
  if st == nil or st.session ~= self or st.key == nil then
    errors.raise("InvalidRequestError", 2, "Instance %s is not persistent within this Session", describe(obj))
  end
  local pk = {}
  for _, i in ipairs(mapper.pk_index) do pk[mapper.attr_keys[i]] = true end
  if attrs == nil then
    for _, key in ipairs(mapper.attr_keys) do if not pk[key] then rawset(obj, key, nil) end end
    st.expired = true
    if mapper.relationships then uow.relationship_hooks.expire(self, obj, mapper) end
  else
    for _, key in ipairs(attrs) do
      if mapper.props[key] == nil then
        errors.raise("ArgumentError", 2, "%s has no attribute '%s'", mapper.name, tostring(key))
      end
      if mapper.props[key].kind == "relationship" then
        -- a relationship is not a column: forget it, it loads again on access
        rawset(obj, key, nil)
        local snaps = rawget(self, "_rel")
        if snaps and snaps[obj] then snaps[obj][key] = nil end
      end
    end
    local e = st.expired
    if e ~= true then
      e = e or {}
      for _, key in ipairs(attrs) do
        if mapper.props[key].kind == "column" and not pk[key] then e[key] = true; rawset(obj, key, nil) end
      end
      st.expired = next(e) and e or nil
    end
  end
end

-- Expire every persistent object (commit, rollback).
local function expire_all(self)
  for mapper, idmap in pairs(self._identity) do
    -- (an identity map holds the objects of its mapper only)
    local expirable = mapper.expirable_keys
    local n = #expirable
    local relationships = mapper.relationships
    for _, obj in pairs(idmap) do
      local st = states[obj]
      if st and state.expire_persistent(st) then
        for i = 1, n do rawset(obj, expirable[i], nil) end
        if relationships then uow.relationship_hooks.expire(self, obj, mapper) end
      end
    end
  end
  -- loaded relationships are read again too: their snapshots go
  self._rel, self._loadopt = nil, nil
end

--- Expire every persistent object of the session.
function Session:expire_all() expire_all(self) end

--- Reload every attribute of a persistent object now.
-- @raise ObjectDeletedError when its row is gone
function Session:refresh(obj)
  self:expire(obj)
  self:_load_expired(obj, states[obj], 2)
end

--- Load the expired attributes of obj (the model's __index calls this).
function Session:_load_expired(obj, st, level)
  level = (level or 1) + 1
  check_usable(self)
  local mapper = st.mapper
  local conn = self:_connection(level)
  local t = mapper.table
  local crit = {}
  for i, a in ipairs(mapper.pk_index) do crit[i] = mapper.columns[a]:eq(st[a]) end
  local res = conn:execute(ath.select(t):where(unpack(crit)))
  local rows = res:all()
  if #rows == 0 then
    errors.raise("ObjectDeletedError", level,
      "Instance %s has been deleted, or its row is otherwise not present", describe(obj))
  end
  local plan = loading.plan(self, { { mapper = mapper } }, res:keys())
  loading.load(plan, rows)
  if rows[1] ~= obj then
    -- not in this session's identity map any more (expunged meanwhile)
    st.expired = nil
  end
end

-- SELECT of mapper's table by primary key, built once per mapper with a
-- bound parameter per key column (compiled once, bound on each get).
local function pk_select(mapper)
  local stmt = mapper.pk_select
  if stmt == nil then
    local crit = {}
    for i, a in ipairs(mapper.pk_index) do
      local col = mapper.columns[a]
      crit[i] = col:eq(ath.bindparam("athanor_pk_" .. i, nil, col.type))
    end
    stmt = ath.select(mapper.table):where(unpack(crit))
    mapper.pk_select = stmt
  end
  return stmt
end

local PK_PARAM = {}
for i = 1, 32 do PK_PARAM[i] = "athanor_pk_" .. i end

local function pk_params(mapper, values)
  local params = {}
  for i = 1, mapper.pk_count do params[PK_PARAM[i] or ("athanor_pk_" .. i)] = values[i] end
  return params
end

--- The object of model with primary key pk (a value, or an array for a
-- composite key), from the identity map without SQL when it is there.
-- @return the object or nil
function Session:get(model, pk)
  local mapper = mapper_mod.mapper_of(model)
  if not mapper then errors.raise("ArgumentError", 2, "Session:get() expects a model, got %s", tostring(model)) end
  check_usable(self)
  local values
  if type(pk) == "table" then
    values = {}
    if pk[1] ~= nil then
      for i = 1, mapper.pk_count do values[i] = pk[i] end
    else
      for i, a in ipairs(mapper.pk_index) do values[i] = pk[mapper.attr_keys[a]] end
    end
  else
    values = { pk }
  end
  for i = 1, mapper.pk_count do
    if values[i] == nil then
      errors.raise("ArgumentError", 2, "Session:get(%s): the primary key has %d value(s), %d given",
        mapper.name, mapper.pk_count, i - 1)
    end
  end
  local key = mapper:identity_key(values)
  local idmap = loading.identity_map(self, mapper)
  local obj = idmap[key]
  if obj ~= nil then
    local st = states[obj]
    if self._deleted_set[obj] or st.status == "deleted" then return nil end
    if st.expired then
      local ok, err = pcall(self._load_expired, self, obj, st, 2)
      if not ok then
        if errors.is(err, "ObjectDeletedError") then return nil end
        error(err, 0)
      end
    end
    return obj
  end
  -- Only pending inserts and deletes can change what a select by primary
  -- key finds: an assignment to a loaded object cannot (its row is another
  -- key's, or it would have been found in the map above). Finding those
  -- assignments means comparing every object of the map, so a get that
  -- misses leaves them to the next flush (a loop of gets stays linear).
  if self._new[1] ~= nil or self._deleted[1] ~= nil then autoflush(self, 2) end
  local conn = self:_connection(2)
  local res = conn:execute(pk_select(mapper), pk_params(mapper, values))
  local rows = res:all()
  if #rows == 0 then return nil end
  -- the statement's names, kept: the loader remembers its layout by them
  local names = mapper.pk_select_names
  if names == nil then
    names = res:keys()
    mapper.pk_select_names = names
  end
  local plan = loading.plan(self, { { mapper = mapper } }, names)
  return loading.load(plan, rows)[1]
end

--- Copy the state of obj onto the session's object with the same identity
-- (loaded or created), and return that object; obj itself is not added.
function Session:merge(obj, merging)
  local mapper = mapper_for(obj, "Session:merge()", 2)
  merging = merging or {}
  if merging[obj] then return merging[obj] end
  local key = mapper:identity_key_of(obj)
  local target
  if key ~= nil then
    local pk = {}
    for i, a in ipairs(mapper.pk_index) do pk[i] = rawget(obj, mapper.attr_keys[a]) end
    target = self:get(mapper.model, pk)
  end
  if target == nil then
    target = mapper.model{}
    self:add(target)
  end
  merging[obj] = target
  if target == obj then return obj end
  for _, k in ipairs(mapper.attr_keys) do
    local v = rawget(obj, k)
    if v ~= nil or states[obj] == nil or not states[obj].expired then rawset(target, k, v) end
  end
  if mapper.relationships then uow.relationship_hooks.cascade_merge(self, obj, target, merging) end
  return target
end

--- True when obj has changes a flush would write.
function Session:is_modified(obj)
  mapper_for(obj, "Session:is_modified()", 2)
  local st = states[obj]
  if st == nil then return false end
  if st.status == "pending" then return true end
  return state.changed_keys(obj, st) ~= nil
end

------------------------------------------------------------- flush, transactions

--- Write every pending change to the database (in the session's
-- transaction, begun if needed).
-- @raise the database error (the session then needs rollback()),
--   PendingRollbackError after a failed flush
function Session:flush()
  check_usable(self)
  uow.flush(self, 2)
end

--- Flush, then commit the transaction. With expire_on_commit (the default)
-- every object is expired: its next read loads the committed row.
function Session:commit()
  check_usable(self)
  uow.flush(self, 2)
  local tx = self._tx
  if tx then
    local ok, err = pcall(tx.commit, tx)
    if not ok then
      self:_fail(err)
      error(err, 0)
    end
  end
  release(self)
  for obj in pairs(self._tx_deleted) do
    local st = states[obj]
    if st then st.session, st.status = nil, nil end
  end
  self._tx_new, self._tx_deleted = {}, {}
  if self.expire_on_commit then expire_all(self) end
  state.release_all(self._strong)
  self:_dispatch("after_commit", self)
end

--- Roll back the transaction: objects added since it began are expunged,
-- objects deleted in it are persistent again, and every persistent object
-- is expired (its next read loads what the database holds).
function Session:rollback()
  local tx = self._tx
  if tx then pcall(tx.rollback, tx) end
  release(self)
  self._pending_rollback = nil
  for _, obj in ipairs(self._new) do
    local st = states[obj]
    if st then st.session, st.status = nil, nil end
  end
  self._new = {}
  self._deleted, self._deleted_set = {}, {}
  for obj in pairs(self._tx_new) do
    local st = states[obj]
    if st then
      local idmap = self._identity[st.mapper]
      if idmap and idmap[st.key] == obj then idmap[st.key] = nil end
      st.session, st.status, st.key = nil, nil, nil
    end
  end
  for obj in pairs(self._tx_deleted) do
    local st = states[obj]
    if st then
      st.status = "persistent"
      loading.identity_map(self, st.mapper)[st.key] = obj
    end
  end
  self._tx_new, self._tx_deleted = {}, {}
  expire_all(self)
  state.release_all(self._strong)
  self:_dispatch("after_rollback", self)
end

--- Roll back whatever is open, release the connection and expunge every
-- object. The session can be used again afterwards.
function Session:close()
  local tx = self._tx
  if tx then pcall(tx.rollback, tx) end
  release(self)
  self._pending_rollback = nil
  for obj in pairs(self._tx_new) do
    local st = states[obj]
    if st then st.key = nil end
  end
  self:expunge_all()
  self._new, self._deleted, self._deleted_set = {}, {}, {}
  self._tx_new, self._tx_deleted = {}, {}
end
Session.__close = function(self) self:close() end

--- session:begin(function(session) ... end): commit when fn returns, roll
-- back and re-raise when it raises; returns what fn returns. Without fn:
-- begins the transaction now and returns an object with commit() and
-- rollback() (the session's own).
function Session:begin(fn)
  if fn == nil then
    self:_connection(2)
    local s = self
    return { commit = function() s:commit() end, rollback = function() s:rollback() end }
  end
  if type(fn) ~= "function" then errors.raise("ArgumentError", 2, "Session:begin() expects a function") end
  local res = pack(pcall(fn, self))
  if not res[1] then
    pcall(self.rollback, self)
    error(res[2], 0)
  end
  self:commit()
  return unpack(res, 2, res.n)
end

--- A SAVEPOINT: flushes, then returns an object whose commit() releases
-- it and whose rollback() rolls back to it (objects inserted since are
-- expunged, every object is expired).
function Session:begin_nested()
  check_usable(self)
  uow.flush(self, 2)
  local conn = self:_connection(2)
  local sp = conn:begin_nested()
  local before = {}
  for obj in pairs(self._tx_new) do before[obj] = true end
  local s = self
  return {
    commit = function() uow.flush(s, 2); sp:commit() end,
    rollback = function()
      sp:rollback()
      for obj in pairs(s._tx_new) do
        if not before[obj] then
          local st = states[obj]
          if st then detach(s, obj, st); st.key = nil end
        end
      end
      for _, obj in ipairs(s._new) do
        local st = states[obj]
        if st then st.session, st.status = nil, nil end
      end
      s._new = {}
      expire_all(s)
    end,
  }
end

------------------------------------------------------------- execution

--- session:query(entities...) -> Query (API.md §7).
function Session:query(...)
  return require("athanor.orm.query").new(self, 2, ...)
end

--- Execute a Core statement in the session's transaction (autoflush
-- first). A select of mapped entities (`ath.select(User)`) returns an ORM
-- result whose rows hold objects; `ath.insert(User)` with a list of rows
-- keyed by attribute is a bulk insert; other statements run as they are.
function Session:execute(stmt, params, opts)
  check_usable(self)
  return require("athanor.orm.query").execute_statement(self, stmt, params, opts, 2)
end

--- execute(stmt):scalars(): the first column (objects for select(User)).
function Session:scalars(stmt, params, opts)
  check_usable(self)
  return require("athanor.orm.query").execute_statement(self, stmt, params, opts, 2):scalars()
end

--- execute(stmt):scalar()
function Session:scalar(stmt, params, opts)
  check_usable(self)
  return require("athanor.orm.query").execute_statement(self, stmt, params, opts, 2):scalar()
end

function Session:__tostring()
  return "Session(" .. (self._conn and "in transaction" or "idle") .. ")"
end

return M
