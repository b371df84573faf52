--- Instance state of the ORM (internal): what the session knows about each
-- mapped object, kept beside the object so the object stays a plain table.
--
-- `states[obj]` (weak keys: the state goes with its object) is a table:
--   mapper   the object's Mapper
--   session  the Session it belongs to, or nil (transient or detached)
--   key      its identity key (see identity.lua), or nil before INSERT
--   status   "pending" | "persistent" | "deleted" | nil (transient/detached)
--   expired  nil, true (every column attribute but the key) or { attr = true }
--   [i]      the value of column attribute i as last loaded or flushed
--            (nil for NULL); what flush compares the object with
-- The state never refers to its object, so a weak-keyed table frees both
-- on LuaJIT too (its weak tables are not ephemerons).
local M = {}

local states = setmetatable({}, { __mode = "k" })
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
local function attr_changed(obj, st, i, key, expired)
  local v = rawget(obj, key)
  if expired then
    -- `true` expires every attribute but the primary key (never expired)
    if expired == true then
      if not st.mapper.is_pk[i] then return v ~= nil end
    elseif expired[key] then
      return v ~= nil
    end
  end
  return v ~= st[i]
end
M.attr_changed = attr_changed

--- The keys of obj's changed column attributes (in mapper order), or nil.
function M.changed_keys(obj, st)
  local keys = st.mapper.attr_keys
  local expired = st.expired
  local out
  for i = 1, #keys do
    local key = keys[i]
    if attr_changed(obj, st, i, key, expired) then
      out = out or {}
      out[#out + 1] = key
    end
  end
  return out
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
-- still running holds the same table).
function M.release_all(set)
  for obj in pairs(set) do set[obj] = nil end
end

return M
