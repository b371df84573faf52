--- athanor.orm: declarative models, sessions with an identity map and a
-- unit of work, and the Query API (API.md §5, §6, §7, §9; docs/orm.md).
-- Depends on the Core (`require("athanor")`); the Core never requires it.
-- The ORM registers with the Core what it adds: the session and mapper
-- event names of ath.event.
local ath = require("athanor")
local errors = require("athanor.errors")
local event = require("athanor.event")
local state = require("athanor.orm.state")
local mapper_mod = require("athanor.orm.mapper")
local session_mod = require("athanor.orm.session")
local rel = require("athanor.orm.relationships")
require("athanor.orm.query")                 -- (it gives the Core select its ORM options())

local type, tostring, ipairs, getmetatable = type, tostring, ipairs, getmetatable

-- Session events (on a session or a sessionmaker) and mapper events (on a model).
event.NAMES.session = event.NAMES.session or
  { before_flush = true, after_flush = true, after_commit = true, after_rollback = true }
event.NAMES.mapper = event.NAMES.mapper or
  { before_insert = true, after_insert = true, before_update = true, after_update = true,
    before_delete = true, after_delete = true, load = true }

local M = {
  declarative_base = mapper_mod.declarative_base,
  validates = mapper_mod.validates,
  sessionmaker = session_mod.sessionmaker,
  Session = function(opts) return session_mod.Session(opts) end,
  relationship = rel.relationship,
  joinedload = rel.joinedload, selectinload = rel.selectinload, lazyload = rel.lazyload,
  raiseload = rel.raiseload, noload = rel.noload, contains_eager = rel.contains_eager,
  configure_mappers = rel.configure, aliased = rel.aliased, defer = rel.defer, load_only = rel.load_only,
}
mapper_mod.configure_hook = function() rel.configure() end

--- orm.inspect(obj) -> { state =, identity =, modified =, session =,
-- mapper =, expired = } for an instance; the Mapper for a model.
-- state: transient, pending, persistent, deleted or detached; identity: the
-- primary key values (nil before INSERT); modified: the changed attributes.
-- @raise ArgumentError for anything else
function M.inspect(x)
  local mapper = mapper_mod.mapper_of(x)
  if mapper then return mapper end
  mapper = mapper_mod.instance_mapper(x)
  if not mapper then
    errors.raise("ArgumentError", 2, "orm.inspect(): no mapped object or model given (got %s)",
      type(x) == "table" and tostring(x) or type(x))
  end
  local st = state.get(x)
  local info = { mapper = mapper, object = x, state = state.status_name(st), modified = {} }
  if st then
    info.session = st.session
    if st.key ~= nil then info.identity = mapper:identity_values(st) end
    if st.status ~= "pending" then info.modified = state.changed_keys(x, st) or {} end
    local expired = st.expired
    if expired then
      local is_pk = {}
      for _, i in ipairs(mapper.pk_index) do is_pk[i] = true end
      info.expired = {}
      for i, k in ipairs(mapper.attr_keys) do
        if not is_pk[i] and (expired == true or expired[k]) then info.expired[#info.expired + 1] = k end
      end
    end
  end
  if info.state == "pending" or info.state == "transient" then
    -- what the constructor or the user set
    info.modified = {}
    for _, k in ipairs(mapper.attr_keys) do if x[k] ~= nil then info.modified[#info.modified + 1] = k end end
  end
  return info
end

--- True when x is an instance of a model (of any model when model is nil).
function M.is_instance(x, model)
  local mt = getmetatable(x)
  if model ~= nil then return mt == model end
  return mapper_mod.instance_mapper(x) ~= nil
end

M.null = ath.null

return M
