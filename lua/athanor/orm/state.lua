--- Instance state of the ORM (internal): what the session knows about each
-- mapped object, kept beside the object so the object stays a plain table.
--
-- `states[obj]` (weak keys: the state goes with its object; an object
-- loaded with a lazy state has none until asked, see "Lazy states") is a
-- table:
--   mapper   the object's Mapper
--   session  the Session it belongs to, or nil (transient or detached)
--   key      its identity key (see identity.lua), or nil before INSERT
--   status   "pending" | "persistent" | "deleted" | nil (transient/detached)
--   expired  nil, true (every column attribute but the key) or { attr = true }
--   [i]      the value of column attribute i as last loaded or flushed
--            (nil for NULL); what flush compares the object with
-- The state never refers to its object, so a weak-keyed table frees both
-- on LuaJIT too (its weak tables are not ephemerons).
--
-- Compact states. An object the C loader creates (l_orm.c) in a batch of 8
-- rows or more (loading.lua) gets only its loaded values {v1..vn}: the
-- rest is the same for every object of one mapper loaded into one session,
-- so a metatable shared by them (a state class, made by M.compact_class)
-- answers it: mapper, session, status "persistent", expired (nil, or true
-- in the class's expired variant) and key (computed from the loaded
-- primary key values, which are never expired). A state without hash
-- fields is one table and one array: that and the four field stores were
-- most of what loading added to fetching.
-- Reading a field works as on any state. Writing one it answers the same
-- way does nothing; `expired = true` / `expired = nil` move the state to
-- the class's other variant; any other write first turns the state into a
-- plain one in place (its fields stored, its metatable removed), then
-- stores the value. So code can read and write states without knowing
-- which kind it has; only rawget/next on a state would see the difference
-- (l_orm.c looks at the metatable first). M.detach_compact detaches every
-- compact state of a session at once (expunge_all, close) by changing its
-- classes; session._plain_states says whether the session's identity maps
-- may hold plain states too (set by add, add_all, the loader's plain
-- states and materialize), so that expunge_all visits objects only then.
local core = require("athanor.core")

local rawget, rawset, rawequal, setmetatable, getmetatable, type, pairs, ipairs, next =
  rawget, rawset, rawequal, setmetatable, getmetatable, type, pairs, ipairs, next
local unpack = require("athanor.compat").unpack
local orm_identity_key = core.orm_identity_key

local M = {}

-- (the __index of states is set below: lazy states)
local states = setmetatable({}, { __mode = "k" })
local WEAK_VALUES = { __mode = "v" }
M.states = states

--- The state of obj, or nil for a table the ORM has never seen.
function M.get(obj) return states[obj] end

--- The state of obj, made for a transient object of mapper when missing.
function M.ensure(obj, mapper)
  local st = states[obj]
  if st == nil then
    st = { mapper = mapper }
    states[obj] = st
  end
  return st
end

-- key_of(st): the identity key of compact state st, from its loaded
-- primary key values (the C loader computed the same from the row).
local function key_reader(mapper)
  local pk = mapper.pk_index
  if #pk == 1 then
    local p = pk[1]
    return function(st) return rawget(st, p) end
  end
  local id, n = mapper.id, #pk
  return function(st)
    local v = {}
    for j = 1, n do v[j] = rawget(st, pk[j]) end
    return orm_identity_key(id, unpack(v, 1, n))
  end
end

-- Store the fields a compact state's class answers in st itself and drop
-- the class: st is a plain state from now on (its session learns it has
-- one: expunge_all visits plain states only when there may be some).
local function materialize(st, fields, key_of)
  local key = key_of(st)
  local session = fields.session
  if session then rawset(session, "_plain_states", true) end
  setmetatable(st, nil)
  st.mapper, st.session, st.status, st.key = fields.mapper, fields.session, fields.status, key
  st.expired = fields.expired
end

-- One variant of a state class: the metatable answering `fields` (and
-- the key) for its states. `pair` holds both variants (base, expired).
local function variant(fields, key_of, pair)
  local class = { _fields = fields, _pair = pair, _key_of = key_of }
  class.__index = function(st, k)
    local v = fields[k]
    if v == nil and k == "key" then return key_of(st) end
    return v
  end
  class.__newindex = function(st, k, v)
    if type(k) ~= "string" then                  -- a loaded value (st[i] was NULL)
      rawset(st, k, v)
      return
    end
    if k == "expired" and (v == true or v == nil) then
      setmetatable(st, v and pair.expired or pair.base)
      return
    end
    local cur
    if k == "key" then cur = key_of(st) else cur = fields[k] end
    if rawequal(cur, v) then return end          -- what the class says already
    materialize(st, fields, key_of)
    rawset(st, k, v)
  end
  return class
end

--- The state class of the objects of mapper that the C loader creates in
-- session (see "Compact states" above), made once per session and mapper.
function M.compact_class(session, mapper)
  local classes = rawget(session, "_state_classes")
  if classes == nil then
    classes = {}
    rawset(session, "_state_classes", classes)
  else
    local class = classes[mapper]
    if class then return class end
  end
  local key_of = key_reader(mapper)
  local pair = {}
  -- The fields hold the session weakly: the mapper's list of stores holds
  -- a store (and so its class) strongly, and a session dropped without
  -- close() must still be collected. Its objects then read as detached
  -- (status_name: no session), as SQLAlchemy's do when their session is
  -- gone, and its store is released like a closed one (register_store).
  pair.base = variant(setmetatable({ mapper = mapper, session = session, status = "persistent" }, WEAK_VALUES),
    key_of, pair)
  pair.expired = variant(setmetatable({ mapper = mapper, session = session, status = "persistent", expired = true },
    WEAK_VALUES), key_of, pair)
  classes[mapper] = pair.base
  return pair.base
end

--- Detach every compact state of session at once (what expunge_all does
-- to each of its objects: session and status become nil). Its classes
-- are changed in place, so the session makes new ones for what it loads
-- next. Plain states are left to the caller.
function M.detach_compact(session)
  local classes = rawget(session, "_state_classes")
  if classes == nil then return end
  rawset(session, "_state_classes", nil)
  for _, base in pairs(classes) do
    local pair = base._pair
    for _, class in ipairs({ pair.base, pair.expired }) do
      class._fields.session, class._fields.status = nil, nil
    end
  end
end

------------------------------------------------------------ lazy states
-- Lazy states. An object the C loader creates with a state class and a
-- store (loading.lua: a batch of `all()`, `one()`, `get` ... into a
-- session that has a class for the mapper; not the streaming q:iter()) gets
-- no state at all at first: its loaded values go to the store's column
-- arrays (l_orm.c: store.chunks[c][(r-1)*n + i], store.slot_of[key] =
-- c * 2^24 + r) and nothing is added to `states`. A state table and an
-- entry in the weak state table per object were most of what loading cost
-- beyond fetching. The compact state is made the first time `states` is
-- asked for the object: its __index finds the object's store (the stores
-- of its mapper, newest first, whose identity map holds the object under
-- the key of its primary key values, or anywhere in the map when those
-- were changed), copies the values into a compact state of the store's
-- class and records it, so every reader of `states` sees the states it
-- always saw. Flush's scan of the identity map compares such an object
-- with its store without making its state (M.lazy_changes); expiry and
-- everything else make it.
--
-- A store belongs to one state class (one session and mapper, until
-- close/expunge_all detach the class, which detaches the store's objects
-- too: their states are made from the detached class). The mapper's
-- `_stores` list holds its stores strongly, so an object outlives its
-- session's close with its state still to be found. Each time a store is
-- registered (a session's first lazy load of the mapper) the closed
-- stores of the list are looked at: one whose identity map is empty (its
-- objects were collected or have states) is dropped, and so is one with
-- fewer live objects than a quarter of its rows, after giving them their
-- states (so a kept detached object does not keep a whole load's values).
--
-- The slots of a store's first load are written later. A load into a store
-- with no chunk yet, of a mapper with a one-column key, leaves slot_of as it
-- is (store.index_later: the key of each row is in its chunk, at the key
-- column's place) and records the first chunk not in slot_of
-- (store.unindexed); index_slots writes their slots the first time
-- something asks for one (lazy_find, lazy_changes, release_closed) or
-- before the next load into the store looks keys up. A query whose objects
-- are read and dropped never pays for the slots (a hash entry per object,
-- and on LuaJIT a big table made fresh from the system: docs/performance.md,
-- "ORM loading on LuaJIT").

local ROW_SPAN = 16777216                          -- 2^24: l_orm.c LAZY_ROW_BITS
local floor = math.floor

-- Write the slots of the rows of store's chunks that are not in slot_of
-- yet (see "The slots of a store's first load" above).
local function index_slots(store)
  local from = store.unindexed
  if from == nil then return end
  store.unindexed = nil
  local chunks, n, p = store.chunks, store.n, store.pk1
  local slot_of = store.slot_of
  if next(slot_of) == nil and store.presize > 0 then
    slot_of = core.orm_new_table(store.presize)
    store.slot_of = slot_of
  end
  for c = from, #chunks do
    local chunk, code = chunks[c], c * ROW_SPAN
    -- a chunk's rows are packed from its start; one sized for more rows
    -- than came ends at the first row without a key
    local at, r = p, 1
    local key = chunk[at]
    while key ~= nil do
      slot_of[key] = code + r
      r, at = r + 1, at + n
      key = chunk[at]
    end
  end
end

-- The chunk and the index before the first value of `code`'s row.
local function lazy_place(store, code)
  local c = floor(code / ROW_SPAN)
  return store.chunks[c], (code - c * ROW_SPAN - 1) * store.n
end

-- The compact state of obj (identity key `key` in store), recorded.
local function lazy_materialize(store, key, obj)
  if store.unindexed then index_slots(store) end
  local chunk, at = lazy_place(store, store.slot_of[key])
  local n = store.n
  local st = {}
  for i = 1, n do st[i] = chunk[at + i] end
  setmetatable(st, store.class)
  rawset(states, obj, st)
  return st
end
M.lazy_materialize = lazy_materialize

-- states[obj] for an object without a recorded state: made from its store
-- when it has one, else nil (a table the ORM has never seen).
local function lazy_find(_, obj)
  if type(obj) ~= "table" then return nil end
  local model = getmetatable(obj)
  local mapper = type(model) == "table" and rawget(model, "__mapper__")
  local stores = mapper and rawget(mapper, "_stores")
  if stores == nil then return nil end
  local key = mapper:identity_key_of(obj)
  if key ~= nil then
    for i = #stores, 1, -1 do
      local store = stores[i]
      if rawequal(store.identity[key], obj) then
        if store.unindexed then index_slots(store) end      -- (only the store that has obj)
        if store.slot_of[key] ~= nil then return lazy_materialize(store, key, obj) end
      end
    end
  end
  -- its primary key attributes were assigned since it was loaded
  for i = #stores, 1, -1 do
    local store = stores[i]
    for k, o in pairs(store.identity) do
      if rawequal(o, obj) then
        if store.unindexed then index_slots(store) end
        if store.slot_of[k] ~= nil then return lazy_materialize(store, k, obj) end
      end
    end
  end
  return nil
end
getmetatable(states).__index = lazy_find

-- A closed store (its session closed or expunged everything: its class
-- is detached) keeps the values of all its rows while any of its objects
-- lives. When fewer than a quarter of its rows still have an object
-- without a state, those get their states and the store goes.
local function release_closed(store)
  local live, slots = 0, 0
  for _ in pairs(store.identity) do live = live + 1 end
  if live > 0 then
    if store.unindexed then index_slots(store) end        -- (not for a store that goes: nothing asks)
    for _ in pairs(store.slot_of) do slots = slots + 1 end
    if live * 4 >= slots then return false end
    for key, obj in pairs(store.identity) do
      if rawget(states, obj) == nil and store.slot_of[key] ~= nil then lazy_materialize(store, key, obj) end
    end
  end
  store.registered = false
  return true
end

-- Register store with its mapper, first dropping the closed stores the
-- list holds that are empty or mostly so (each registration: a load into
-- a new session, so the list stays at the open stores and the closed ones
-- whose objects are still used).
local function register_store(mapper, store)
  local stores = rawget(mapper, "_stores")
  if stores == nil then
    stores = {}
    rawset(mapper, "_stores", stores)
  end
  local kept = 0
  for i = 1, #stores do
    local s = stores[i]
    stores[i] = nil
    if s.class._fields.session ~= nil or not release_closed(s) then
      kept = kept + 1
      stores[kept] = s
    end
  end
  stores[kept + 1] = store
  store.registered = true
end

--- The store of `class` (a session's state class of mapper, whose
-- identity map is `identity`), registered with the mapper, ready for a
-- load: the slots of earlier loads written, and the slots of this one
-- left for later when it is the store's first (see "The slots of a
-- store's first load"). presize: the slot table's array size, for dense
-- keys (loading.lua).
function M.lazy_store(class, mapper, identity, presize)
  local pair = class._pair
  local store = pair.store
  if store == nil or store.identity ~= identity then
    local pk = mapper.pk_index
    store = { class = class, identity = identity, slot_of = {}, chunks = {}, n = #mapper.attr_keys,
              pk1 = #pk == 1 and pk[1] or nil, presize = presize }
    pair.store = store
    store.registered = false
  end
  if not store.registered then register_store(mapper, store) end
  if store.unindexed then index_slots(store) end
  local fresh = store.pk1 ~= nil and store.chunks[1] == nil
  store.index_later = fresh
  if fresh then store.unindexed = 1 end
  return store
end

--- The changed attribute keys of obj (identity key `key`), an object of
-- store without a state yet, or nil; nil too when store has no slot for
-- the key (then it is not such an object).
function M.lazy_changes(store, key, obj)
  if store.unindexed then index_slots(store) end
  local code = store.slot_of[key]
  if code == nil then return nil, false end
  local chunk, at = lazy_place(store, code)
  local keys = store.class._fields.mapper.attr_keys
  local out
  for i = 1, #keys do
    local k = keys[i]
    -- (raw: such an object has nothing expired, and the model's __index
    -- would ask states for it)
    if rawget(obj, k) ~= chunk[at + i] then
      out = out or {}
      out[#out + 1] = k
    end
  end
  return out, true
end

--- The public name of st's lifecycle state (API.md §5).
function M.status_name(st)
  if st == nil then return "transient" end
  local s = st.status
  if st.session ~= nil and s ~= nil then return s end
  if st.key ~= nil then return "detached" end
  return "transient"
end

--- True when attribute i (key `key`) of obj differs from what was loaded.
-- An expired attribute counts as changed only once assigned.
local function attr_changed(obj, st, i, key, expired, mapper)
  local v = rawget(obj, key)
  if expired then
    -- `true` expires every attribute but the primary key (never expired)
    if expired == true then
      if not (mapper or st.mapper).is_pk[i] then return v ~= nil end
    elseif expired[key] then
      return v ~= nil
    end
  end
  return v ~= st[i]
end
M.attr_changed = attr_changed

-- changed_keys with st's fields at hand: st itself, or its class's
-- (scans read them raw, not through the class's __index).
local function changed(obj, st, fields)
  local mapper = fields.mapper
  local keys = mapper.attr_keys
  local expired = fields.expired
  local out
  if expired == nil then
    -- the common case inline: nothing expired, a change is a differing value
    for i = 1, #keys do
      local key = keys[i]
      if rawget(obj, key) ~= st[i] then
        out = out or {}
        out[#out + 1] = key
      end
    end
    return out
  end
  for i = 1, #keys do
    local key = keys[i]
    if attr_changed(obj, st, i, key, expired, mapper) then
      out = out or {}
      out[#out + 1] = key
    end
  end
  return out
end

--- The keys of obj's changed column attributes (in mapper order), or nil.
function M.changed_keys(obj, st)
  local class = getmetatable(st)
  return changed(obj, st, class and class._fields or st)
end

--- Flush's test: the changed keys of obj when its state is persistent,
-- else nil. A compact state found changed becomes a plain one (flush
-- reads its key and mapper to order the updates, then stores the new
-- snapshot).
function M.persistent_changes(obj, st)
  local class = getmetatable(st)
  local fields = class and class._fields or st
  if fields.status ~= "persistent" then return nil end
  local out
  if fields.expired == nil then
    -- changed() inline: flush runs this for every object of the identity
    -- map. Nothing is expired, so obj[key] is rawget(obj, key) without the
    -- call (a NULL attribute goes through the model's __index: nil).
    local keys = fields.mapper.attr_keys
    for i = 1, #keys do
      local key = keys[i]
      if obj[key] ~= st[i] then
        out = out or {}
        out[#out + 1] = key
      end
    end
  else
    out = changed(obj, st, fields)
  end
  if out and class then materialize(st, fields, class._key_of) end
  return out
end

--- True when obj is persistent in session with nothing changed (what a
-- streaming loop may let go of).
function M.is_clean_in(obj, st, session)
  local class = getmetatable(st)
  local fields = class and class._fields or st
  return fields.session == session and fields.status == "persistent" and changed(obj, st, fields) == nil
end

--- Expire every column attribute of st but the key when it is persistent
-- (expire_all); true when it did, and the caller clears the object's.
function M.expire_persistent(st)
  local class = getmetatable(st)
  if class == nil then
    if st.status ~= "persistent" then return false end
    st.expired = true
    return true
  end
  local fields = class._fields
  if fields.status ~= "persistent" then return false end
  setmetatable(st, class._pair.expired)
  return true
end

--- Record obj's current column values as its loaded state. Attributes
-- still expired and not assigned stay expired (loaded on first read).
function M.snapshot(obj, st)
  local keys = st.mapper.attr_keys
  local expired, still = st.expired, nil
  for i = 1, #keys do
    local key = keys[i]
    local v = rawget(obj, key)
    st[i] = v
    if v == nil and expired and ((expired == true and not st.mapper.is_pk[i]) or (expired ~= true and expired[key])) then
      still = still or {}
      still[key] = true
    end
  end
  st.expired = still
end

--- Empty a session's set of strongly held objects in place (a loader
-- still running holds the same table). The loader appends arrays of the
-- objects it loaded (one per batch) to its array part, session:add sets
-- keys: the array is cleared by index (no call per entry), the rest by
-- pairs.
function M.release_all(set)
  for i = #set, 1, -1 do set[i] = nil end
  for obj in pairs(set) do set[obj] = nil end
end

return M
