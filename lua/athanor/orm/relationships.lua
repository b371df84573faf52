--- Relationships (API.md §8): `orm.relationship()`, lazy loading on first
-- access, the unit of work's part of them (foreign keys set from related
-- objects, cascades, association rows), and the loader options
-- (`joinedload`, `selectinload`, `lazyload`, `raiseload`, `noload`).
--
-- A loaded relationship is a plain field of the instance, like a column
-- attribute: a related object, or a plain Lua array for a collection. The
-- model's `__index` runs only while it is not loaded, and loads it
-- (lazy = "select"). Changes are found at flush by comparing each loaded
-- value with a snapshot the session keeps (session._rel[obj][key]: the
-- related object, false for none, or a copy of the collection's members):
-- an assignment to a plain table, `table.insert` and `table.remove` cannot
-- be intercepted. The snapshots live in the session (not in the global
-- state table) so that objects referring to each other stay collectable
-- on LuaJIT, whose weak tables are not ephemerons; they are dropped when
-- the session expires its objects (commit, rollback, close).
local ath = require("athanor")
local errors = require("athanor.errors")
local state = require("athanor.orm.state")
local mapper_mod = require("athanor.orm.mapper")
local loading = require("athanor.orm.loading")
local uow = require("athanor.orm.unitofwork")

local states = state.states
local type, ipairs, pairs, rawget, rawset, setmetatable, getmetatable, tostring, pcall, error =
  type, ipairs, pairs, rawget, rawset, setmetatable, getmetatable, tostring, pcall, error
local unpack = require("athanor.compat").unpack
local describe = mapper_mod.describe
local K_AND, K_BINARY = require("athanor.core").node_kinds.AND, require("athanor.core").node_kinds.BINARY

local M = {}

local WEAK_KEYS = { __mode = "k" }

local Relationship = { __name = "athanor.orm.Relationship", kind = "relationship", _orm_property = true }
Relationship.__index = Relationship
M.Relationship = Relationship

local OPTIONS = {
  back_populates = true, backref = true, secondary = true, uselist = true, order_by = true, cascade = true,
  lazy = true, foreign_keys = true, primaryjoin = true, remote_side = true, passive_deletes = true,
  viewonly = true, post_update = true,
}
local LAZY = { select = true, joined = true, selectin = true, raise = true, noload = true }
local CASCADES = { ["save-update"] = true, merge = true, delete = true, ["delete-orphan"] = true,
                   ["refresh-expire"] = true, expunge = true, all = true }

-- "all, delete-orphan" -> { ["save-update"] = true, ... }
local function parse_cascade(spec, level)
  local out = {}
  if spec == nil then spec = "save-update, merge" end
  if type(spec) ~= "string" then
    errors.raise("ArgumentError", level + 1, "relationship(): cascade must be a string, got %s", type(spec))
  end
  for word in spec:gmatch("[^,%s]+") do
    if not CASCADES[word] then
      errors.raise("ArgumentError", level + 1, "relationship(): unknown cascade '%s'", word)
    end
    if word == "all" then
      for _, w in ipairs({ "save-update", "merge", "refresh-expire", "expunge", "delete" }) do out[w] = true end
    else
      out[word] = true
    end
  end
  return out
end

-- Relationships not configured yet (their target may be defined later).
local unconfigured = setmetatable({}, WEAK_KEYS)
local any_unconfigured = false

--- orm.relationship(target, opts): target is a model, a model name (may
-- be defined later) or a function returning the model.
-- @raise ArgumentError for an unknown option, cascade or lazy strategy
function M.relationship(target, opts)
  if type(target) ~= "string" and type(target) ~= "function" and mapper_mod.mapper_of(target) == nil then
    errors.raise("ArgumentError", 2, "relationship() expects a model or a model name, got %s", tostring(target))
  end
  opts = opts or {}
  if type(opts) ~= "table" then errors.raise("ArgumentError", 2, "relationship(): options must be a table") end
  for k in pairs(opts) do
    if not OPTIONS[k] then errors.raise("ArgumentError", 2, "relationship(): unknown option '%s'", tostring(k)) end
  end
  local lazy = opts.lazy or "select"
  if lazy == true then lazy = "select" elseif lazy == false then lazy = "joined" end
  if not LAZY[lazy] then errors.raise("ArgumentError", 2, "relationship(): unknown lazy strategy '%s'", tostring(lazy)) end
  local cascade = parse_cascade(opts.cascade, 2)
  -- a custom join condition reads only, until _setup finds it is equalities
  -- of foreign-key columns (then it writes like the plain relationship)
  local writable_cascade
  if opts.primaryjoin ~= nil and not opts.viewonly then writable_cascade = cascade end
  local viewonly = opts.viewonly or opts.primaryjoin ~= nil
  if viewonly then cascade = {} end
  local r = setmetatable({ target_arg = target, opts = opts, cascade = cascade, lazy = lazy,
                           back_populates = opts.back_populates, viewonly = viewonly and true or false,
                           passive_deletes = opts.passive_deletes and true or false,
                           _writable_cascade = writable_cascade }, Relationship)
  return r
end

function Relationship:__tostring()
  return (self.parent and self.parent.name or "?") .. "." .. tostring(self.key)
end

-- Called by mapper:add_property.
function Relationship:_attach(mapper, key)
  if self.parent ~= nil and self.parent ~= mapper then
    errors.raise("ArgumentError", 4, "relationship %s is already attached to %s", tostring(key), self.parent.name)
  end
  self.parent, self.key = mapper, key
  local rels = mapper.relationships
  if rels == nil then
    rels = {}
    mapper.relationships = rels
    -- an assignment of a missing relationship attribute (none loaded yet)
    -- runs here: the other side of a back_populates pair is told now
    rawset(mapper.model, "__newindex", function(obj, k, v)
      rawset(obj, k, v)
      local p = mapper.props[k]
      if p ~= nil and p.kind == "relationship" then
        if v ~= nil then p:_assigned(obj, v) else p:_assigned_none(obj) end
      end
    end)
  end
  rels[#rels + 1] = self
  unconfigured[self] = true
  any_unconfigured = true
end

------------------------------------------------------------------ configuration

local function as_list(x)
  if x == nil then return nil end
  if type(x) == "table" and x.k ~= nil then return { x } end      -- a column
  if type(x) == "table" then return x end
  return { x }
end

-- Foreign keys of table `from` pointing to table `to` (name), filtered by
-- the `foreign_keys` columns when given: { { fk_col, ref_col }, ... }.
local function fk_pairs(from, to, allowed)
  local out = {}
  for _, col in ipairs(from.columns) do
    for _, fk in ipairs(col.foreign_keys or {}) do
      if fk.target_table == to.name and to.c[fk.target_column] and (allowed == nil or allowed[col]) then
        out[#out + 1] = { col, to.c[fk.target_column] }
      end
    end
  end
  return out
end

-- The { parent column, target column } pairs of a primaryjoin that is an
-- equality of a parent column and a target column, or an and_() of such;
-- nil for any other condition.
local function equality_pairs(pj, pt, tt)
  local function col_of(c, t) return type(c) == "table" and c.table == t and t.c[c.name] == c end
  local terms = pj
  if type(pj) ~= "table" then return nil end
  if pj.k ~= K_AND then terms = { pj } end
  local out = {}
  for i = 1, #terms do
    local term = terms[i]
    if type(term) ~= "table" or term.k ~= K_BINARY or term.s ~= "=" then return nil end
    local l, r = term[1], term[2]
    if col_of(l, tt) and col_of(r, pt) then l, r = r, l end
    if not (col_of(l, pt) and col_of(r, tt)) then return nil end
    out[#out + 1] = { l, r }
  end
  if #out == 0 then return nil end
  return out
end

-- Whether column `from` refers to column `to` (its ForeignKey, or named by foreign_keys).
local function refers(from, to, allowed)
  if allowed then return allowed[from] == true end
  for _, fk in ipairs(from.foreign_keys or {}) do
    if fk.target_table == to.table.name and fk.target_column == to.name then return true end
  end
  return false
end

-- The direction of a primaryjoin's equality pairs: manytoone when every
-- parent column refers to its target column, onetomany the other way
-- round, nil when the foreign keys do not say (or say both).
local function equality_direction(eq, allowed)
  local mto, otm = true, true
  for _, p in ipairs(eq) do
    if not refers(p[1], p[2], allowed) then mto = false end
    if not refers(p[2], p[1], allowed) then otm = false end
  end
  if mto == otm then return nil end
  return mto and "manytoone" or "onetomany"
end

local function key_of(mapper, col, what)
  local k = mapper.key_of_column[col]
  if k == nil then
    errors.raise("ArgumentError", 4, "relationship %s: column '%s' is not mapped by %s", what, tostring(col.name), mapper.name)
  end
  return k
end

--- Resolve the target and the join columns; creates the backref.
-- @raise InvalidRequestError when the target model does not exist,
--   ArgumentError when no (or more than one) foreign-key path joins them
function Relationship:_setup(level)
  if self.target then return self end
  level = (level or 1) + 1
  local parent = self.parent
  local t = self.target_arg
  local target
  if type(t) == "string" then
    target = parent.base.registry[t]
    if target == nil then
      errors.raise("InvalidRequestError", level,
        "relationship %s: no model named '%s' is defined", tostring(self), t)
    end
  elseif type(t) == "function" then
    target = t()
  else
    target = t
  end
  local tm = mapper_mod.mapper_of(target)
  if tm == nil then errors.raise("ArgumentError", level, "relationship %s: the target is not a model", tostring(self)) end
  local pt, tt = parent.table, tm.table
  local opts = self.opts
  local allowed
  if opts.foreign_keys then
    allowed = {}
    for _, c in ipairs(as_list(opts.foreign_keys)) do
      if type(c) == "string" then c = pt.c[c] or tt.c[c] end
      if c then allowed[c] = true end
    end
  end
  local pairs_, direction
  local secondary = opts.secondary
  if opts.primaryjoin ~= nil then
    -- loaded by joining the parent's table on the condition
    if pt == tt then
      errors.raise("ArgumentError", level, "relationship %s: primaryjoin on one table (self-referential) is not supported yet", tostring(self))
    end
    if secondary ~= nil then
      errors.raise("ArgumentError", level, "relationship %s: primaryjoin with secondary is not supported yet", tostring(self))
    end
    local pj = opts.primaryjoin
    if type(pj) == "function" then pj = pj() end
    local eq = not opts.viewonly and equality_pairs(pj, pt, tt)
    local eq_direction = eq and equality_direction(eq, allowed)
    if eq_direction then
      -- equalities of foreign-key columns: the plain relationship on those columns, writable
      direction = eq_direction
      pairs_ = {}
      for i, p in ipairs(eq) do pairs_[i] = { key_of(parent, p[1], tostring(self)), key_of(tm, p[2], tostring(self)), p[1], p[2] } end
      self.viewonly, self.cascade = false, self._writable_cascade
    else
      self.primaryjoin = pj
      direction = "custom"
      pairs_ = {}
    end
  elseif secondary ~= nil then
    if type(secondary) == "string" then secondary = parent.table.metadata.tables[secondary] end
    if type(secondary) ~= "table" or secondary.columns == nil then
      errors.raise("ArgumentError", level, "relationship %s: secondary must be a Table", tostring(self))
    end
    local lp, rp = fk_pairs(secondary, pt, allowed), fk_pairs(secondary, tt, allowed)
    if pt == tt then
      -- self-referential many-to-many: the first foreign key is ours
      if #lp < 2 then errors.raise("ArgumentError", level, "relationship %s: secondary needs two foreign keys", tostring(self)) end
      lp, rp = { lp[1] }, { lp[2] }
    end
    if #lp == 0 or #rp == 0 then
      errors.raise("ArgumentError", level,
        "relationship %s: secondary table '%s' has no foreign keys to both '%s' and '%s'",
        tostring(self), secondary.name, pt.name, tt.name)
    end
    direction = "manytomany"
    self.secondary = secondary
    self.sec_local, self.sec_remote = {}, {}   -- { sec_col, parent/target attribute key }
    for i, p in ipairs(lp) do self.sec_local[i] = { p[1], key_of(parent, p[2], tostring(self)) } end
    for i, p in ipairs(rp) do self.sec_remote[i] = { p[1], key_of(tm, p[2], tostring(self)) } end
    pairs_ = {}
  else
    local mto = fk_pairs(pt, tt, allowed)      -- our column refers to theirs
    local otm = fk_pairs(tt, pt, allowed)      -- theirs refers to ours
    if pt == tt then
      local remote = {}
      for _, c in ipairs(as_list(opts.remote_side) or {}) do remote[c] = true end
      local is_mto = false
      for _, p in ipairs(mto) do if remote[p[2]] then is_mto = true end end
      if is_mto then otm = {} else mto = {} end
    end
    if #mto > 0 and #otm > 0 then
      errors.raise("ArgumentError", level,
        "relationship %s: tables '%s' and '%s' are joined by foreign keys both ways; give foreign_keys",
        tostring(self), pt.name, tt.name)
    end
    if #mto == 0 and #otm == 0 then
      errors.raise("ArgumentError", level,
        "relationship %s: could not find a foreign key between '%s' and '%s'; give foreign_keys",
        tostring(self), pt.name, tt.name)
    end
    if #mto > 0 then
      direction = "manytoone"
      pairs_ = {}
      for i, p in ipairs(mto) do pairs_[i] = { key_of(parent, p[1], tostring(self)), key_of(tm, p[2], tostring(self)), p[1], p[2] } end
      -- the FK may name several columns: more than one FK to the same table needs foreign_keys
      local seen = {}
      for _, p in ipairs(mto) do
        if seen[p[2]] then
          errors.raise("ArgumentError", level,
            "relationship %s: several foreign keys of '%s' refer to '%s'; give foreign_keys", tostring(self), pt.name, tt.name)
        end
        seen[p[2]] = true
      end
    else
      direction = "onetomany"
      pairs_ = {}
      for i, p in ipairs(otm) do pairs_[i] = { key_of(parent, p[2], tostring(self)), key_of(tm, p[1], tostring(self)), p[2], p[1] } end
      local seen = {}
      for _, p in ipairs(otm) do
        if seen[p[2]] then
          errors.raise("ArgumentError", level,
            "relationship %s: several foreign keys of '%s' refer to '%s'; give foreign_keys", tostring(self), tt.name, pt.name)
        end
        seen[p[2]] = true
      end
    end
  end
  -- pairs: { local attribute key, remote attribute key, local column, remote column }
  self.pairs = pairs_
  self.direction = direction
  if opts.uselist ~= nil then self.uselist = opts.uselist and true or false
  else self.uselist = direction ~= "manytoone" end
  if direction == "custom" then self.back_populates = nil end
  self.target, self.mapper = target, tm
  unconfigured[self] = nil
  local br = opts.backref
  if br ~= nil then
    local name, bopts = br, {}
    if type(br) == "table" then name, bopts = br[1], br[2] or {} end
    local o = {}
    for k, v in pairs(bopts) do o[k] = v end
    o.back_populates = self.key
    if direction == "manytomany" then o.secondary = self.secondary end
    if direction == "manytoone" and o.uselist == nil then o.uselist = true end
    if direction == "onetomany" and o.uselist == nil then o.uselist = false end
    if pt == tt and direction == "onetomany" and o.remote_side == nil then
      local rs = {}
      for i, p in ipairs(pairs_) do rs[i] = p[3] end
      o.remote_side = rs
    end
    self.back_populates = name
    if tm.props[name] == nil then tm:add_property(name, M.relationship(parent.model, o)) end
  end
  return self
end

--- Configure every relationship whose target exists now (the others stay
-- pending until their target is defined or they are used).
function M.configure()
  if not any_unconfigured then return end
  any_unconfigured = false
  local list = {}
  for r in pairs(unconfigured) do list[#list + 1] = r end
  for _, r in ipairs(list) do
    local ok = pcall(r._setup, r, 2)
    if not ok then any_unconfigured = true end
  end
end

function Relationship:_back()
  local name = self.back_populates
  if name == nil then return nil end
  local p = self.mapper.props[name]
  if p and p.kind == "relationship" then return p:_setup(3) end
  return nil
end

------------------------------------------------------------------ snapshots

local function snapshots(session)
  local s = rawget(session, "_rel")
  if s == nil then
    s = setmetatable({}, WEAK_KEYS)
    rawset(session, "_rel", s)
  end
  return s
end
M.snapshots = snapshots

local function copy_array(a)
  local out = {}
  for i = 1, #a do out[i] = a[i] end
  return out
end

-- Record value as the loaded value of obj.key.
local function remember(session, obj, key, value, uselist)
  local all = snapshots(session)
  local s = all[obj]
  if s == nil then s = {}; all[obj] = s end
  if uselist then s[key] = copy_array(value or {}) else s[key] = value or false end
end
M.remember = remember

local function snapshot_of(session, obj, key)
  if session == nil then return nil end
  local all = rawget(session, "_rel")
  local s = all and all[obj]
  return s and s[key]
end

-- Is obj.key loaded (or set) in this session?
local function is_loaded(session, obj, key)
  return rawget(obj, key) ~= nil or snapshot_of(session, obj, key) ~= nil
end

------------------------------------------------------------------ loading

local function contains(list, x)
  for i = 1, #list do if list[i] == x then return true end end
  return false
end

-- The criteria selecting the targets related to obj.
function Relationship:_criteria(obj)
  local crit = {}
  if self.direction == "manytomany" then
    for i, p in ipairs(self.sec_local) do
      local v = obj[p[2]]
      if v == nil then return nil end
      crit[i] = p[1]:eq(v)
    end
    return crit
  end
  for i, p in ipairs(self.pairs) do
    local v = obj[p[1]]
    if v == nil then return nil end
    crit[i] = p[4]:eq(v)
  end
  return crit
end

-- The ON clause joining the target (or `alias` of its table) to the
-- secondary table.
local function secondary_on(self, target_table)
  local on = {}
  for i, p in ipairs(self.sec_remote) do
    local col = self.mapper.props[p[2]].column
    on[i] = p[1]:eq(target_table.c[col.name])
  end
  return #on == 1 and on[1] or ath.and_(unpack(on))
end

-- order_by given as columns, or as strings naming attributes of the
-- target ("email", "Address.email", "email desc": the target may not
-- exist when the relationship is written).
local function order_terms(self)
  local out = {}
  for _, o in ipairs(as_list(self.opts.order_by) or {}) do
    if type(o) == "string" then
      local name, dir = o:match("^%s*([%w_%.]+)%s*(%a*)%s*$")
      local attr = name and (name:match("%.([%w_]+)$") or name)
      local prop = attr and self.mapper.props[attr]
      if prop == nil or prop.kind ~= "column" then
        errors.raise("ArgumentError", 4, "relationship %s: order_by '%s' names no column of %s", tostring(self), o, self.mapper.name)
      end
      o = prop.column
      if dir:lower() == "desc" then o = o:desc() end
    end
    out[#out + 1] = o
  end
  return out
end

local function apply_order(self, q)
  if self.opts.order_by ~= nil then q = q:order_by(unpack(order_terms(self))) end
  return q
end

-- What a snapshot holds for "had a value, not known which" (an unloaded
-- many-to-one set to nil).
local SOME = setmetatable({}, { __name = "athanor.orm.unknown_related" })

--- obj.key = nil while obj.key was not loaded: a many-to-one of a
-- persistent object is cleared at flush (its FK set to NULL).
function Relationship:_assigned_none(obj)
  local st = states[obj]
  local session = st and st.session
  if session == nil or st.key == nil or not pcall(self._setup, self, 3) then return end
  if self.direction ~= "manytoone" or snapshot_of(session, obj, self.key) ~= nil then return end
  remember(session, obj, self.key, self:_cached_value(obj, session) or SOME, false)
end

-- The related object of a many-to-one from the identity map, or nil.
function Relationship:_cached_value(obj, session)
  local tm = self.mapper
  local vals = {}
  for i, p in ipairs(self.pairs) do
    local v = rawget(obj, p[1])
    if v == nil then return nil end
    if tm.pk_index[i] == nil or tm.attr_keys[tm.pk_index[i]] ~= p[2] then return nil end
    vals[i] = v
  end
  if #vals ~= tm.pk_count then return nil end
  return loading.identity_map(session, tm)[tm:identity_key(vals)]
end

-- The value of obj.key read from the database (without storing it).
function Relationship:_load_value(obj, session)
  self:_setup(3)
  local tm = self.mapper
  if self.direction == "manytoone" then
    local vals, by_pk = {}, true
    for i, p in ipairs(self.pairs) do
      local v = obj[p[1]]
      if v == nil then return nil end
      vals[i] = v
      if tm.pk_index[i] == nil or tm.attr_keys[tm.pk_index[i]] ~= p[2] then by_pk = false end
    end
    if by_pk and #self.pairs == tm.pk_count then
      -- the identity map answers without SQL when it holds the object
      local hit = loading.identity_map(session, tm)[tm:identity_key(vals)]
      if hit ~= nil and not session._deleted_set[hit] then return hit end
    end
  end
  if self.direction == "custom" then
    local pm, crit = self.parent, {}
    for i, a in ipairs(pm.pk_index) do crit[i] = pm.columns[a]:eq(obj[pm.attr_keys[a]]) end
    local rows = apply_order(self, session:query(self.target):join(pm.table, self.primaryjoin):filter(unpack(crit))):all()
    if self.uselist then return rows end
    return rows[1]
  end
  local crit = self:_criteria(obj)
  if crit == nil then return self.uselist and {} or nil end
  local q = session:query(self.target)
  if self.direction == "manytomany" then q = q:join(self.secondary, secondary_on(self, tm.table)) end
  q = apply_order(self, q:filter(unpack(crit)))
  local rows = q:all()
  if self.uselist then return rows end
  return rows[1]
end

local function load_option(session, obj, key)
  local o = rawget(session, "_loadopt")
  local s = o and o[obj]
  if s == nil then return nil end
  return s[key] or s["*"]
end

--- The value of an unloaded relationship attribute (the model's __index).
function Relationship:get_missing(obj, key, st)
  local session = st and st.session
  if session == nil then
    if st ~= nil and st.key ~= nil then
      errors.raise("DetachedInstanceError", 3,
        "Parent instance %s is not bound to a Session; lazy load operation of attribute '%s' cannot proceed",
        describe(obj), key)
    end
    -- transient: an empty collection to fill, no related object
    self:_setup(3)
    if self.uselist then local a = {}; rawset(obj, key, a); return a end
    return nil
  end
  self:_setup(3)
  local snap = snapshot_of(session, obj, key)
  if snap ~= nil then return rawget(obj, key) end       -- loaded: none (or a collection set to nil)
  if st.key == nil or st.status == "pending" then
    if self.uselist then local a = {}; rawset(obj, key, a); return a end
    return nil
  end
  local strategy = load_option(session, obj, key) or self.lazy
  if strategy == "raise" then
    errors.raise("InvalidRequestError", 3, "'%s' is not available due to lazy='raise'", tostring(self))
  end
  local value
  if strategy == "noload" then
    value = self.uselist and {} or nil
  else
    -- A lazy load autoflushes only when objects are pending or deleted:
    -- an autoflush compares every object of the session, and a loop of
    -- lazy loads over N objects would cost N^2.
    local prev = session._no_autoflush
    if #session._new == 0 and #session._deleted == 0 then session._no_autoflush = true end
    local ok, res = pcall(self._load_value, self, obj, session)
    session._no_autoflush = prev
    if not ok then error(res, 0) end
    value = res
  end
  if rawget(obj, key) ~= nil then return rawget(obj, key) end   -- set by a nested load meanwhile
  rawset(obj, key, value)
  remember(session, obj, key, value, self.uselist)
  return value
end

function Relationship:init_value(obj, key, value)
  if value == ath.null then value = nil end
  if value ~= nil and self.uselist ~= false and self.opts.uselist ~= false and type(value) ~= "table" then
    errors.raise("ArgumentError", 4, "%s expects an array of objects", tostring(self))
  end
  rawset(obj, key, value)
  if value ~= nil then self:_assigned(obj, value) end
end

--- obj.key = value was assigned while obj.key was not held: tell the other
-- side of a back_populates pair when it is loaded.
function Relationship:_assigned(obj, value)
  local ok = pcall(self._setup, self, 3)
  if not ok then return end
  local session = states[obj] and states[obj].session
  if session and self.direction == "manytoone" and states[obj].key ~= nil
     and snapshot_of(session, obj, self.key) == nil then
    -- the value it replaces, when the identity map holds it (no SQL):
    -- the flush then takes obj out of that parent's loaded collection
    local old = self:_cached_value(obj, session)
    if old ~= nil then remember(session, obj, self.key, old, false) end
  end
  local back = self:_back()
  if back == nil then return end
  local bkey = back.key
  local function link(other)
    if type(other) ~= "table" then return end
    if back.uselist then
      local coll = rawget(other, bkey)
      if coll == nil and (session == nil or states[other] == nil or states[other].key == nil) then
        -- a transient or pending other side: its collection starts here
        coll = {}
        rawset(other, bkey, coll)
      end
      if coll ~= nil and not contains(coll, obj) then coll[#coll + 1] = obj end
    else
      if rawget(other, bkey) ~= obj then rawset(other, bkey, obj) end
    end
  end
  if self.uselist then
    for _, other in ipairs(value) do link(other) end
  else
    link(value)
  end
end

------------------------------------------------------------------ the flush

local function has_identity(obj)
  local st = states[obj]
  return st ~= nil and st.key ~= nil
end


-- Work of one flush: FK copies, association rows, snapshots to take.
local function new_plan()
  return { syncs = {}, sec_insert = {}, sec_delete = {}, seen = {}, touched = {}, nulls = {} }
end

-- target.tkeys := source.skeys (source nil: NULL)
local function sync(plan, target, tkeys, source, skeys, post)
  plan.syncs[#plan.syncs + 1] = { target, tkeys, source, skeys, post }
end

local function apply_sync(op)
  local target, tkeys, source, skeys = op[1], op[2], op[3], op[4]
  for i, k in ipairs(tkeys) do
    local v = nil
    if source ~= nil then v = source[skeys[i]]
    elseif rawget(target, k) == nil then
      local _ = target[k]     -- an expired FK is read first: NULL over "not loaded" is a change
    end
    rawset(target, k, v)
  end
end

-- Association row key: the objects in the order of the secondary's
-- column names, so both sides of a pair name the same row.
local function add_sec(list, prop, obj, other)
  local sec = prop.secondary
  local a, b = obj, other
  if prop.sec_local[1][1].name > prop.sec_remote[1][1].name then a, b = other, obj end
  list[sec] = list[sec] or {}
  local byA = list[sec][a]
  if byA == nil then byA = {}; list[sec][a] = byA end
  if byA[b] then return end
  byA[b] = { prop = prop, obj = obj, other = other }
end

local function members_set(list)
  local s = {}
  if list then for _, x in ipairs(list) do s[x] = true end end
  return s
end

-- The related objects a relationship value holds.
local function related_list(prop, v)
  if v == nil or v == false then return {} end
  if prop.uselist then return v end
  return { v }
end

local function cascade_add(session, prop, obj, work)
  if not prop.cascade["save-update"] then return end
  for _, other in ipairs(related_list(prop, rawget(obj, prop.key))) do
    local st = states[other]
    if type(other) == "table" and mapper_mod.instance_mapper(other) and (st == nil or st.session == nil) then
      if not session._deleted_set[other] then
        session:add(other)
        work[#work + 1] = other
      end
    end
  end
end

--- session:add(obj): the objects obj's relationships hold join too
-- (save-update cascade), as in SQLAlchemy; the flush repeats it for
-- objects put into relationships later.
function M.cascade_on_add(session, obj)
  M.configure()
  local work, i = { obj }, 1
  while i <= #work do
    local o = work[i]
    local st = states[o]
    local rels = st and st.mapper.relationships
    if rels then
      for _, prop in ipairs(rels) do
        if pcall(prop._setup, prop, 3) then cascade_add(session, prop, o, work) end
      end
    end
    i = i + 1
  end
end

--- session:merge(obj): the related objects obj holds (loaded or set) are
-- merged too under the merge cascade, and the merged object's
-- relationship holds their merged copies. `merging` maps what was merged
-- already (cycles through back_populates).
function M.cascade_merge(session, obj, target, merging)
  local mapper = states[target].mapper
  for _, prop in ipairs(mapper.relationships) do
    if prop.cascade.merge and not prop.viewonly and pcall(prop._setup, prop, 3) then
      local v = rawget(obj, prop.key)
      if v ~= nil then
        if prop.uselist then
          local out = {}
          for i, x in ipairs(v) do out[i] = session:merge(x, merging) end
          -- compared with what the target had loaded: the flush sees the change
          if rawget(target, prop.key) == nil then local _ = target[prop.key] end
          rawset(target, prop.key, out)
        else
          if rawget(target, prop.key) == nil then local _ = target[prop.key] end
          rawset(target, prop.key, session:merge(v, merging))
        end
      end
    end
  end
end

-- Every object the session holds, for mappers with relationships.
local function session_objects(session)
  local out, seen = {}, {}
  local function add(obj)
    if not seen[obj] then seen[obj] = true; out[#out + 1] = obj end
  end
  for _, obj in ipairs(session._new) do add(obj) end
  for m, idmap in pairs(session._identity) do
    if m.relationships then
      for _, obj in pairs(idmap) do add(obj) end
    end
  end
  for _, obj in ipairs(session._deleted) do add(obj) end
  return out
end

-- True when obj waits in session's _new for its INSERT.
local function is_pending_in(session, obj)
  local st = states[obj]
  return st ~= nil and st.session == session and st.status == "pending"
end

local function relationships_of(obj)
  local st = states[obj]
  local m = st and st.mapper
  return m and m.relationships
end

--- Before a flush: cascades, foreign keys to copy, association rows.
-- @return the plan the unit of work follows, or nil when nothing relates
function M.prepare(session)
  M.configure()
  local any = false
  for m in pairs(session._identity) do if m.relationships then any = true break end end
  if not any then
    for _, obj in ipairs(session._new) do if relationships_of(obj) then any = true break end end
  end
  if not any then
    for _, obj in ipairs(session._deleted) do if relationships_of(obj) then any = true break end end
  end
  if not any then return nil end
  local prev = session._no_autoflush
  session._no_autoflush = true
  local ok, res = pcall(M._prepare, session)
  session._no_autoflush = prev
  if not ok then error(res, 0) end
  return res
end

function M._prepare(session)
  local plan = new_plan()
  -- 1. save-update cascade: what related objects reach joins the session
  local work = session_objects(session)
  local i = 1
  while i <= #work do
    local obj = work[i]
    local rels = relationships_of(obj)
    if rels and not session._deleted_set[obj] then
      for _, prop in ipairs(rels) do
        prop:_setup(4)
        cascade_add(session, prop, obj, work)
      end
    end
    i = i + 1
  end
  -- 2. deletes: cascade, or detach the children (their FK becomes NULL)
  local deleting = {}
  local dq = {}
  for _, obj in ipairs(session._deleted) do deleting[obj] = true; dq[#dq + 1] = obj end
  i = 1
  while i <= #dq do
    local obj = dq[i]
    for _, prop in ipairs(relationships_of(obj) or {}) do
      prop:_setup(4)
      if not prop.viewonly and prop.direction ~= "manytoone" then
        local loaded = is_loaded(session, obj, prop.key)
        local v
        if loaded then
          v = rawget(obj, prop.key)
          -- a collection changed before the delete: the snapshot's members are the rows
          local snap = snapshot_of(session, obj, prop.key)
          if prop.uselist and type(snap) == "table" then
            local all = copy_array(snap)
            for _, x in ipairs(v or {}) do if not contains(all, x) then all[#all + 1] = x end end
            v = all
          end
        elseif not (prop.passive_deletes and prop.direction == "onetomany") then
          v = prop:_load_value(obj, session)
        end
        for _, child in ipairs(related_list(prop, v)) do
          if prop.direction == "manytomany" then
            add_sec(plan.sec_delete, prop, obj, child)
            if prop.cascade.delete and has_identity(child) and not deleting[child] then
              session:delete(child); deleting[child] = true; dq[#dq + 1] = child
            end
          elseif prop.cascade.delete then
            if has_identity(child) and not deleting[child] then
              session:delete(child); deleting[child] = true; dq[#dq + 1] = child
            elseif not has_identity(child) and is_pending_in(session, child) then
              session:expunge(child)
            end
          elseif not deleting[child] then
            local tkeys = {}
            for k, p in ipairs(prop.pairs) do tkeys[k] = p[2] end
            plan.nulls[#plan.nulls + 1] = { child, tkeys }
          end
        end
      end
    end
    i = i + 1
  end
  -- 3. what changed in each loaded relationship
  local objs = session_objects(session)
  for _, obj in ipairs(objs) do
    local rels = relationships_of(obj)
    if rels and not deleting[obj] then
      plan.touched[#plan.touched + 1] = obj
      for _, prop in ipairs(rels) do
        if not prop.viewonly then M._changes(session, plan, prop, obj, deleting) end
      end
    end
  end
  -- the children of deleted parents lose their FK (unless moved meanwhile)
  for _, n in ipairs(plan.nulls) do
    local child, tkeys = n[1], n[2]
    local moved = false
    for _, op in ipairs(plan.syncs) do if op[1] == child and op[3] ~= nil then moved = true end end
    if not moved then sync(plan, child, tkeys, nil, nil) end
  end
  return plan
end

-- Diff one relationship of obj against its snapshot and record the work.
function M._changes(session, plan, prop, obj, deleting)
  local key = prop.key
  local cur = rawget(obj, key)
  local snap = snapshot_of(session, obj, key)
  local back = prop:_back()
  local st = states[obj]
  if prop.direction == "manytoone" then
    if cur ~= nil and cur ~= snap then
      local tk, sk = {}, {}
      for k, p in ipairs(prop.pairs) do tk[k] = p[1]; sk[k] = p[2] end
      if not deleting[cur] then sync(plan, obj, tk, cur, sk, prop.opts.post_update) end
      if back and back.uselist then
        local coll = rawget(cur, back.key)
        if coll and not contains(coll, obj) then coll[#coll + 1] = obj end
      end
      if snap and snap ~= SOME and back and back.uselist then
        local old = rawget(snap, back.key)
        if old then for j = #old, 1, -1 do if old[j] == obj then table.remove(old, j) end end end
      end
    elseif cur == nil and snap then
      local tk = {}
      for k, p in ipairs(prop.pairs) do tk[k] = p[1] end
      sync(plan, obj, tk, nil, nil)
      if back and back.uselist and snap ~= SOME then
        local old = rawget(snap, back.key)
        if old then for j = #old, 1, -1 do if old[j] == obj then table.remove(old, j) end end end
      end
    end
    return
  end
  -- one-to-many and many-to-many: members added and removed
  if cur == nil and snap == nil then return end
  local now = related_list(prop, cur)
  local before
  if snap ~= nil then
    before = prop.uselist and snap or (snap and { snap } or {})
  elseif st.key ~= nil and st.status ~= "pending" and cur ~= nil then
    -- replaced before it was loaded: what the database holds was removed
    before = related_list(prop, prop:_load_value(obj, session))
  else
    before = {}
  end
  local was, is = members_set(before), members_set(now)
  for _, child in ipairs(before) do
    if not is[child] then
      if prop.direction == "manytomany" then
        add_sec(plan.sec_delete, prop, obj, child)
        if back and back.uselist then
          local coll = rawget(child, back.key)
          if coll then for j = #coll, 1, -1 do if coll[j] == obj then table.remove(coll, j) end end end
        end
      elseif prop.cascade["delete-orphan"] then
        if has_identity(child) and not deleting[child] then session:delete(child); deleting[child] = true
        elseif not has_identity(child) and is_pending_in(session, child) then session:expunge(child) end
      elseif not deleting[child] then
        -- the child stays, without a parent (unless another collection took it)
        local now_parent = back and not back.uselist and rawget(child, back.key)
        if now_parent == obj or not now_parent then
          if back and not back.uselist and rawget(child, back.key) == obj then rawset(child, back.key, nil) end
          local tk = {}
          for k, p in ipairs(prop.pairs) do tk[k] = p[2] end
          plan.nulls[#plan.nulls + 1] = { child, tk }
        end
      end
    end
  end
  for _, child in ipairs(now) do
    if not was[child] and not deleting[child] then
      if prop.direction == "manytomany" then
        add_sec(plan.sec_insert, prop, obj, child)
        if back and back.uselist then
          local coll = rawget(child, back.key)
          if coll and not contains(coll, obj) then coll[#coll + 1] = obj end
        end
      else
        local tk, sk = {}, {}
        for k, p in ipairs(prop.pairs) do tk[k] = p[2]; sk[k] = p[1] end
        sync(plan, child, tk, obj, sk, prop.opts.post_update or (back and back.opts.post_update))
        if back and not back.uselist then
          local old = rawget(child, back.key)
          if old ~= obj then
            rawset(child, back.key, obj)
            -- and the child's snapshot agrees: it is the collection that moved it
            remember(session, child, back.key, obj, false)
          end
        end
      end
    end
  end
end

-- The association-row changes that cancel out (removed and added again).
local function sec_rows(list)
  local out = {}
  for sec, byA in pairs(list) do
    for _, byB in pairs(byA) do
      for _, r in pairs(byB) do out[#out + 1] = { sec = sec, r = r } end
    end
  end
  return out
end

local function sec_values(r)
  local prop, obj, other = r.prop, r.obj, r.other
  local values, crit = {}, {}
  for _, p in ipairs(prop.sec_local) do values[p[1].name] = obj[p[2]]; crit[#crit + 1] = p[1]:eq(obj[p[2]]) end
  for _, p in ipairs(prop.sec_remote) do values[p[1].name] = other[p[2]]; crit[#crit + 1] = p[1]:eq(other[p[2]]) end
  return values, crit
end

--- The FK copies whose source has its key now (targets in `objs` when given).
function M.apply_syncs(plan, objs)
  local want
  if objs then want = members_set(objs) end
  local rest = {}
  for _, op in ipairs(plan.syncs) do
    local ready = not op[5] and (op[3] == nil or has_identity(op[3]) or (rawget(op[3], op[4][1]) ~= nil))
    if ready and (want == nil or want[op[1]]) then apply_sync(op) else rest[#rest + 1] = op end
  end
  plan.syncs = rest
end

--- After every INSERT: the FK copies left (post_update ones, and those of
-- rows of one table that refer to each other in a cycle). A row inserted
-- in this flush gets its FKs by an UPDATE of its own; a persistent one is
-- found changed by the update phase.
function M.after_inserts(plan, conn, work)
  local inserted = members_set(work.inserted)
  local cols_of, order = {}, {}
  for _, op in ipairs(plan.syncs) do
    apply_sync(op)
    local target = op[1]
    if inserted[target] then
      if not cols_of[target] then cols_of[target] = {}; order[#order + 1] = target end
      for _, k in ipairs(op[2]) do cols_of[target][k] = true end
    end
  end
  plan.syncs = {}
  for _, obj in ipairs(order) do
    local mapper = states[obj].mapper
    local values, crit = {}, {}
    for k in pairs(cols_of[obj]) do
      local v = rawget(obj, k)
      values[mapper.props[k].column.name] = v == nil and ath.null or v
    end
    for i, a in ipairs(mapper.pk_index) do crit[i] = mapper.columns[a]:eq(rawget(obj, mapper.attr_keys[a])) end
    conn:execute(ath.update(mapper.table):where(unpack(crit)):values(values))
    work.statements = work.statements + 1
  end
end

--- Pending objects of one mapper in insert rounds: a row whose parent (by
-- a relationship) is pending in the same batch waits for it.
function M.insert_rounds(plan, objs)
  local in_batch = members_set(objs)
  local waits = {}
  local any = false
  for _, op in ipairs(plan.syncs) do
    local src = op[3]
    if src ~= nil and not op[5] and in_batch[op[1]] and in_batch[src] and src ~= op[1] then
      waits[op[1]] = waits[op[1]] or {}
      waits[op[1]][#waits[op[1]] + 1] = src
      any = true
    end
  end
  if not any then return { objs } end
  local rounds, done, left = {}, {}, objs
  while #left > 0 do
    local round, later = {}, {}
    for _, obj in ipairs(left) do
      local ready = true
      for _, src in ipairs(waits[obj] or {}) do if not done[src] then ready = false end end
      if ready then round[#round + 1] = obj else later[#later + 1] = obj end
    end
    if #round == 0 then round, later = later, {} end   -- a cycle: insert the rest as they are
    for _, obj in ipairs(round) do done[obj] = true end
    rounds[#rounds + 1] = round
    left = later
  end
  return rounds
end

--- Association rows: DELETEs then INSERTs (before the objects' DELETEs).
function M.write_secondary(plan, conn, work)
  local dels, ins = sec_rows(plan.sec_delete), sec_rows(plan.sec_insert)
  -- a row removed and added again in one flush stays
  local function same(a, b) return a.sec == b.sec and
    ((a.r.obj == b.r.obj and a.r.other == b.r.other) or (a.r.obj == b.r.other and a.r.other == b.r.obj)) end
  local keep_del, keep_ins = {}, {}
  for _, d in ipairs(dels) do
    local cancelled = false
    for _, x in ipairs(ins) do if same(d, x) then cancelled = true; x.cancel = true end end
    if not cancelled then keep_del[#keep_del + 1] = d end
  end
  for _, x in ipairs(ins) do if not x.cancel then keep_ins[#keep_ins + 1] = x end end
  for _, d in ipairs(keep_del) do
    local _, crit = sec_values(d.r)
    conn:execute(ath.delete(d.sec):where(unpack(crit)))
    work.statements = work.statements + 1
  end
  local by_sec, order = {}, {}
  for _, x in ipairs(keep_ins) do
    local values = sec_values(x.r)
    if not by_sec[x.sec] then by_sec[x.sec] = {}; order[#order + 1] = x.sec end
    by_sec[x.sec][#by_sec[x.sec] + 1] = values
  end
  for _, sec in ipairs(order) do
    local rows = by_sec[sec]
    if #rows == 1 then conn:execute(ath.insert(sec), rows[1]) else conn:execute(ath.insert(sec), rows) end
    work.statements = work.statements + 1
  end
end

--- After a successful flush: what each relationship holds is its new snapshot.
function M.finish(plan, session)
  local all = snapshots(session)
  for _, obj in ipairs(plan.touched) do
    local st = states[obj]
    if st and st.status == "persistent" then
      for _, prop in ipairs(st.mapper.relationships) do
        local v = rawget(obj, prop.key)
        if v ~= nil then
          remember(session, obj, prop.key, v, prop.uselist)
        elseif all[obj] and all[obj][prop.key] ~= nil then
          all[obj][prop.key] = prop.uselist and {} or false
        end
      end
    elseif st and st.status == "deleted" then
      all[obj] = nil
    end
  end
end

--- Forget obj's loaded relationships (expire).
function M.expire(session, obj, mapper)
  local rels = mapper.relationships
  if rels == nil then return end
  for _, prop in ipairs(rels) do rawset(obj, prop.key, nil) end
  local all = rawget(session, "_rel")
  if all then all[obj] = nil end
end

------------------------------------------------------------------ eager loading

-- Set obj.key to value unless it is loaded already (a loaded or changed
-- collection is kept, as SQLAlchemy does without populate_existing).
local function populate(session, prop, obj, value)
  if is_loaded(session, obj, prop.key) then return end
  rawset(obj, prop.key, value)
  remember(session, obj, prop.key, value, prop.uselist)
end

local MAX_IN = 500

--- selectin: one IN query (per chunk of keys) for the objects' relationship.
-- @return the related objects loaded (for chained options)
function M.selectin(session, prop, objs)
  prop:_setup(3)
  local tm = prop.mapper
  local loaded = {}
  if prop.direction == "manytoone" then
    local p = prop.pairs
    if #p ~= 1 then
      for _, obj in ipairs(objs) do local v = obj[prop.key]; if v then loaded[#loaded + 1] = v end end
      return loaded
    end
    local lk, rk, rcol = p[1][1], p[1][2], p[1][4]
    local want, keys = {}, {}
    for _, obj in ipairs(objs) do
      local v = obj[lk]
      if v ~= nil and not want[v] then want[v] = true; keys[#keys + 1] = v end
    end
    local found = {}
    for s = 1, #keys, MAX_IN do
      local chunk = { unpack(keys, s, math.min(#keys, s + MAX_IN - 1)) }
      for _, t in ipairs(session:query(prop.target):filter(rcol:in_(chunk)):all()) do
        found[rawget(t, rk)] = t
        loaded[#loaded + 1] = t
      end
    end
    for _, obj in ipairs(objs) do
      local v = obj[lk]
      populate(session, prop, obj, v ~= nil and found[v] or nil)
    end
    return loaded
  end
  local lk, keycol, qcols
  if prop.direction == "custom" then
    local pm = prop.parent
    if pm.pk_count ~= 1 then return loaded end
    lk, keycol = pm.attr_keys[pm.pk_index[1]], pm.columns[pm.pk_index[1]]
  elseif prop.direction == "manytomany" then
    if #prop.sec_local ~= 1 then return loaded end
    lk, keycol = prop.sec_local[1][2], prop.sec_local[1][1]
  else
    if #prop.pairs ~= 1 then return loaded end
    lk, keycol = prop.pairs[1][1], prop.pairs[1][4]
  end
  local keys, by_key = {}, {}
  for _, obj in ipairs(objs) do
    local v = obj[lk]
    if v ~= nil and by_key[v] == nil then by_key[v] = {}; keys[#keys + 1] = v end
  end
  qcols = keycol
  for s = 1, #keys, MAX_IN do
    local chunk = { unpack(keys, s, math.min(#keys, s + MAX_IN - 1)) }
    local q = session:query(prop.target, qcols)
    if prop.direction == "manytomany" then q = q:join(prop.secondary, secondary_on(prop, tm.table)) end
    if prop.direction == "custom" then q = q:join(prop.parent.table, prop.primaryjoin) end
    q = apply_order(prop, q:filter(keycol:in_(chunk)))
    for _, row in ipairs(q:all()) do
      local t, k = row[1], row[2]
      local list = by_key[k]
      if list and t ~= nil then list[#list + 1] = t; loaded[#loaded + 1] = t end
    end
  end
  for _, obj in ipairs(objs) do
    local v = obj[lk]
    local list = v ~= nil and by_key[v] or {}
    if prop.uselist then populate(session, prop, obj, list) else populate(session, prop, obj, list[1]) end
  end
  return loaded
end

------------------------------------------------------------------ loader options

-- Loader options are statement options for Core's select():options() too
-- (read back by session:execute); column options need session:query().
local Load = { __name = "athanor.orm.Load", _ath_statement_option = true }
Load.__index = Load
M.Load = Load

local function check_attr(attr, fname, level)
  if attr == "*" then return attr end
  if type(attr) ~= "table" or getmetatable(attr) ~= Relationship then
    errors.raise("ArgumentError", level + 1, "orm.%s() expects a relationship attribute (User.addresses), got %s",
      fname, tostring(attr))
  end
  return attr
end

local function new_load(path) return setmetatable({ path = path }, Load) end

for _, name in ipairs({ "joinedload", "selectinload", "lazyload", "raiseload", "noload", "contains_eager" }) do
  local strategy = ({ joinedload = "joined", selectinload = "selectin", lazyload = "select",
                      raiseload = "raise", noload = "noload", contains_eager = "contains" })[name]
  M[name] = function(attr)
    return new_load({ { strategy = strategy, prop = check_attr(attr, name, 2) } })
  end
  Load[name] = function(self, attr)
    local path = {}
    for i, p in ipairs(self.path) do path[i] = p end
    path[#path + 1] = { strategy = strategy, prop = check_attr(attr, name, 2) }
    return new_load(path)
  end
end

function Load:__tostring()
  local parts = {}
  for _, p in ipairs(self.path) do parts[#parts + 1] = p.strategy .. "(" .. tostring(p.prop) .. ")" end
  return "Load(" .. table.concat(parts, ".") .. ")"
end

-- Column options: orm.defer("bio", ...) and orm.load_only("name", ...)
-- choose the columns of the query's model that its SELECT loads; the
-- others are expired on the objects and read on first access.
local ColumnOption = { __name = "athanor.orm.ColumnOption",
  _ath_not_a_statement_option = "is not a relationship loader option (joinedload, selectinload, lazyload, "
    .. "raiseload, noload); defer/load_only need session:query()" }
ColumnOption.__index = ColumnOption
M.ColumnOption = ColumnOption

local function column_option(kind)
  return function(...)
    local keys = { ... }
    if #keys == 0 then errors.raise("ArgumentError", 3, "orm.%s() expects attribute names", kind) end
    for i, k in ipairs(keys) do
      if type(k) == "table" and k.k ~= nil and k.name then keys[i] = k.name end   -- a column: its name
      if type(keys[i]) ~= "string" then
        errors.raise("ArgumentError", 3, "orm.%s() expects attribute names, got %s", kind, type(keys[i]))
      end
    end
    return setmetatable({ kind = kind, keys = keys }, ColumnOption)
  end
end
M.defer = column_option("defer")
M.load_only = column_option("load_only")

--- The attribute indices of mapper a query loads under `options`, or nil
-- for all. The primary key is always loaded.
-- @raise ArgumentError naming an attribute that is not a column of mapper
function M.loaded_columns(mapper, options, level)
  local deferred, only
  for _, opt in ipairs(options) do
    if getmetatable(opt) == ColumnOption then
      for _, k in ipairs(opt.keys) do
        local p = mapper.props[k]
        if p == nil or p.kind ~= "column" then
          errors.raise("ArgumentError", level + 1, "orm.%s(): %s has no column attribute '%s'", opt.kind, mapper.name, k)
        end
        if opt.kind == "defer" then deferred = deferred or {}; deferred[k] = true
        else only = only or {}; only[k] = true end
      end
    end
  end
  if deferred == nil and only == nil then return nil end
  local present = {}
  for i, k in ipairs(mapper.attr_keys) do
    if mapper.is_pk[i] or ((only == nil or only[k]) and not (deferred and deferred[k])) then
      present[#present + 1] = i
    end
  end
  return present
end

-- Per-object strategies for lazy / raise / noload options.
local function set_lazy_option(session, objs, prop, strategy)
  local o = rawget(session, "_loadopt")
  if o == nil then o = setmetatable({}, WEAK_KEYS); rawset(session, "_loadopt", o) end
  local key = prop == "*" and "*" or prop.key
  for _, obj in ipairs(objs) do
    local s = o[obj]
    if s == nil then s = {}; o[obj] = s end
    s[key] = strategy
  end
end

-- Apply path[i..] to the objects loaded at level i.
local function apply_path(session, objs, path, i)
  local step = path[i]
  if step == nil or #objs == 0 then return end
  local prop = step.prop
  if prop == "*" or step.strategy == "raise" or step.strategy == "noload" or step.strategy == "select" then
    set_lazy_option(session, objs, prop, step.strategy)
    if prop == "*" or path[i + 1] == nil then return end
  end
  local children
  if step.strategy == "selectin" or step.strategy == "joined" then
    children = M.selectin(session, prop, objs)
  else
    children = {}
    for _, obj in ipairs(objs) do
      for _, c in ipairs(related_list(prop, obj[prop.key])) do children[#children + 1] = c end
    end
  end
  apply_path(session, children, path, i + 1)
end

--- The loader options of a query for the objects it returned: the
-- strategies of the first step of each (joined steps are done by the
-- statement itself: `joined` marks them) and the rest of each path.
function M.after_load(session, objs, options, joined)
  if #objs == 0 then return end
  -- the query that loaded objs has autoflushed: its eager loads need not again
  local prev = session._no_autoflush
  session._no_autoflush = true
  local ok, err = pcall(M._after_load, session, objs, options, joined)
  session._no_autoflush = prev
  if not ok then error(err, 0) end
end

function M._after_load(session, objs, options, joined)
  for _, opt in ipairs(options) do
    if getmetatable(opt) == Load then
      local first = opt.path[1]
      if joined and joined[opt] then
        apply_path(session, joined[opt].children, opt.path, joined[opt].depth + 1)
      elseif first then
        apply_path(session, objs, opt.path, 1)
      end
    end
  end
end

--- Options (explicit, else the relationships' own lazy = "joined"/"selectin")
-- of a query of mapper.
function M.effective_options(mapper, options)
  local out, named = {}, {}
  for _, opt in ipairs(options) do
    if getmetatable(opt) == Load then
      out[#out + 1] = opt
      local p = opt.path[1].prop
      if p ~= "*" then named[p] = true end
    end
  end
  for _, prop in ipairs(mapper.relationships or {}) do
    if not named[prop] and (prop.lazy == "joined" or prop.lazy == "selectin") then
      out[#out + 1] = new_load({ { strategy = prop.lazy, prop = prop } })
    end
  end
  return out
end

--- The joined-eager statement of a query: the query's select (wrapped in
-- a subquery when it has LIMIT/OFFSET/DISTINCT, so the limit counts
-- parents, not joined rows) LEFT OUTER JOINed to each joined relationship.
-- @return the statement, the entities to load, the joined steps
function M.joined_statement(sel, mapper, options, limited, present)
  local joins = {}
  for _, opt in ipairs(options) do
    local step = opt.path[1]
    if step.strategy == "joined" and step.prop ~= "*" and step.prop.parent == mapper then
      step.prop:_setup(3)
      -- a custom primaryjoin names the real tables, not the eager alias: selectin instead
      if step.prop.direction ~= "custom" then joins[#joins + 1] = opt end
    end
  end
  if #joins == 0 then return nil end
  local parent_from, parent_cols, sub
  if limited then
    sub = sel:subquery("anon_1")
    parent_from = sub
    parent_cols = {}
    for i, col in ipairs(mapper.columns) do parent_cols[i] = sub.c[col.name] end   -- nil: not selected
  else
    parent_from = mapper.table
    parent_cols = mapper.columns
  end
  local function pcol(key)
    local c = parent_cols[mapper.index[key]]
    if c == nil then
      errors.raise("InvalidRequestError", 4, "joinedload: the join needs column '%s' of %s, which the query defers", key, mapper.name)
    end
    return c
  end
  local cols = {}
  if present then
    for _, i in ipairs(present) do cols[#cols + 1] = parent_cols[i] end
  else
    for i, c in ipairs(parent_cols) do cols[i] = c end
  end
  local entities = { { mapper = mapper, present = present } }
  -- limited: joins from the subquery; else the query's own select (its
  -- FROM, WHERE, ORDER BY) with the eager columns and joins added
  local from = limited and parent_from or sel
  local extra, eager_order = {}, {}
  local n = 0
  for _, opt in ipairs(joins) do
    -- the joined steps at the head of the path, each from the previous alias
    local colfor, parent_n, at = pcol, 1, mapper
    for k, step in ipairs(opt.path) do
      local prop = step.prop
      if step.strategy ~= "joined" or prop == "*" or prop.parent ~= at then break end
      prop:_setup(3)
      if prop.direction == "custom" then break end
      n = n + 1
      local tm = prop.mapper
      local alias = tm.table:alias(tm.table.name .. "_" .. n)
      for _, col in ipairs(tm.columns) do cols[#cols + 1] = alias.c[col.name]; extra[#extra + 1] = alias.c[col.name] end
      local entity = { mapper = tm, joined = opt, prop = prop, step = k, parent_n = parent_n }
      entities[#entities + 1] = entity
      if prop.opts.order_by ~= nil then
        -- the collection's order_by, on the eager alias (plain columns)
        for _, o in ipairs(order_terms(prop)) do
          if type(o) == "table" and o.table == tm.table and alias.c[o.name] then eager_order[#eager_order + 1] = alias.c[o.name] end
        end
      end
      if prop.direction == "manytomany" then
        local sa = prop.secondary:alias(prop.secondary.name .. "_" .. n)
        local on1 = {}
        for i, p in ipairs(prop.sec_local) do on1[i] = sa.c[p[1].name]:eq(colfor(p[2])) end
        local on2 = {}
        for i, p in ipairs(prop.sec_remote) do on2[i] = sa.c[p[1].name]:eq(alias.c[tm.props[p[2]].column.name]) end
        from = from:outerjoin(sa, #on1 == 1 and on1[1] or ath.and_(unpack(on1)))
        from = from:outerjoin(alias, #on2 == 1 and on2[1] or ath.and_(unpack(on2)))
      else
        local on = {}
        for i, p in ipairs(prop.pairs) do on[i] = colfor(p[1]):eq(alias.c[p[4].name]) end
        from = from:outerjoin(alias, #on == 1 and on[1] or ath.and_(unpack(on)))
      end
      local this_alias, this_mapper = alias, tm
      colfor = function(key) return this_alias.c[this_mapper.props[key].column.name] end
      parent_n, at = #entities, tm
    end
  end
  local out
  if limited then
    out = ath.select(unpack(cols)):select_from(from)
  else
    out = from:add_columns(unpack(extra))
  end
  return out, entities, joins, sub, eager_order
end

--- De-duplicate joined rows (tuples of parent, related...) into parents
-- with their collections set.
function M.joined_rows(session, rows, entities)
  local parents, seen = {}, {}
  local per, order = {}, {}            -- per[n][parent object] = { list, set }; order[n]: parents seen
  for n = 2, #entities do per[n] = {}; order[n] = {} end
  for _, row in ipairs(rows) do
    local p = row[1]
    if p ~= nil then
      if not seen[p] then seen[p] = true; parents[#parents + 1] = p end
      for n = 2, #entities do
        local owner = row[entities[n].parent_n]
        if owner ~= nil then
          local acc = per[n][owner]
          if acc == nil then acc = { list = {}, set = {} }; per[n][owner] = acc; order[n][#order[n] + 1] = owner end
          local c = row[n]
          if c ~= nil and not acc.set[c] then acc.set[c] = true; acc.list[#acc.list + 1] = c end
        end
      end
    end
  end
  local joined = {}
  for n = 2, #entities do
    local e = entities[n]
    local prop = e.prop
    local children = {}
    for _, owner in ipairs(order[n]) do
      local list = per[n][owner].list
      if prop.uselist then populate(session, prop, owner, list) else populate(session, prop, owner, list[1]) end
      for _, c in ipairs(list) do children[#children + 1] = c end
    end
    local prev = joined[e.joined]
    if prev == nil or prev.depth < e.step then joined[e.joined] = { children = children, depth = e.step } end
  end
  return parents, joined
end

------------------------------------------------------------------ joins along relationships

--- query:join(User.addresses): the target table, its mapper and the ON
-- clause; with `alias` (an orm.aliased() of the target) the alias instead
-- of the target's table (`join(User.addresses:of_type(a))`, `join(a, User.addresses)`).
function Relationship:join_target(alias, level)
  level = (level or 1) + 1
  self:_setup(level)
  local tm = self.mapper
  local target = tm.table
  if alias ~= nil then
    local am, a = M.aliased_info(alias)
    if am ~= tm then
      errors.raise("ArgumentError", level, "join(%s): %s is not an alias of %s", tostring(self), tostring(alias), tm.name)
    end
    if self.direction == "custom" then
      errors.raise("InvalidRequestError", level,
        "join(%s): a viewonly primaryjoin names the target's table, not an alias; give the alias and the ON clause",
        tostring(self))
    end
    target = a
  end
  if self.direction == "custom" then return target, tm, self.primaryjoin end
  if self.direction == "manytomany" then
    -- the secondary first, then the target: returned as a join of both
    local on1 = {}
    for i, p in ipairs(self.sec_local) do on1[i] = p[1]:eq(self.parent.props[p[2]].column) end
    local j = self.secondary:join(target, secondary_on(self, target))
    return j, tm, #on1 == 1 and on1[1] or ath.and_(unpack(on1))
  end
  local on = {}
  for i, p in ipairs(self.pairs) do on[i] = p[3]:eq(target.c[p[4].name]) end
  return target, tm, #on == 1 and on[1] or ath.and_(unpack(on))
end

local OfType = { __name = "athanor.orm.OfType", _orm_property = true }
OfType.__index = OfType
function OfType:__tostring() return tostring(self.prop) .. ":of_type(" .. tostring(self.alias) .. ")" end
function OfType:join_target() return self.prop:join_target(self.alias, 2) end

--- User.addresses:of_type(a): the relationship towards an alias of its
-- target, for query:join() / outerjoin().
function Relationship:of_type(alias)
  self:_setup(2)
  if M.aliased_info(alias) ~= self.mapper then
    errors.raise("ArgumentError", 2, "%s:of_type(): expects orm.aliased(%s), got %s", tostring(self), self.mapper.name, tostring(alias))
  end
  return setmetatable({ prop = self, alias = alias }, OfType)
end

-- expr with the columns of `tbl` replaced by those of `alias` (copied
-- nodes; nested selects and FROM elements are left as they are).
local NK = require("athanor.core").node_kinds
local function adapt_to_alias(expr, tbl, alias)
  if type(expr) ~= "table" or type(expr.k) ~= "number" then return expr end
  if expr.k == NK.COLUMN then
    if expr.table == tbl and tbl.c[expr.name] == expr then return alias.c[expr.name] end
    return expr
  end
  if expr._from or expr.k == NK.SELECT or expr.k == NK.TABLE then return expr end
  local copy = {}
  for k, v in pairs(expr) do
    if k ~= "type" and type(v) == "table" then copy[k] = adapt_to_alias(v, tbl, alias) else copy[k] = v end
  end
  return setmetatable(copy, getmetatable(expr))
end

--- EXISTS (SELECT ... FROM target WHERE <join condition> AND criteria):
-- `query(User):filter(User.addresses:any(Address.email:like("%@x")))`.
local function exists_related(self, fname, want_list, criteria, level)
  self:_setup(level + 1)
  if self.uselist ~= want_list and self.direction ~= "manytomany" and self.direction ~= "custom" then
    errors.raise("InvalidRequestError", level + 1, "%s(): %s is %s; use %s()", fname, tostring(self),
      want_list and "not a collection" or "a collection", want_list and "has" or "any")
  end
  local tm = self.mapper
  local key_col = tm.columns[tm.pk_index[1]]
  local where = {}
  local sel
  if self.parent.table == tm.table then
    -- self-referential: the related rows are an alias of the table, the
    -- criteria name the related rows (as in SQLAlchemy), the join condition the outer row
    local alias = tm.table:alias(tm.table.name .. "_" .. fname)
    sel = ath.select(alias.c[key_col.name])
    if self.direction == "manytomany" then
      sel = sel:select_from(self.secondary:join(alias, secondary_on(self, alias)))
      for _, p in ipairs(self.sec_local) do where[#where + 1] = p[1]:eq(self.parent.props[p[2]].column) end
    else
      for _, p in ipairs(self.pairs) do where[#where + 1] = alias.c[p[4].name]:eq(p[3]) end
    end
    if criteria ~= nil then where[#where + 1] = adapt_to_alias(criteria, tm.table, alias) end
    return ath.exists(sel:where(unpack(where)))
  end
  if self.direction == "custom" then
    sel = ath.select(key_col)
    where[1] = self.primaryjoin
  elseif self.direction == "manytomany" then
    sel = ath.select(key_col):select_from(self.secondary:join(tm.table, secondary_on(self, tm.table)))
    for _, p in ipairs(self.sec_local) do where[#where + 1] = p[1]:eq(self.parent.props[p[2]].column) end
  else
    sel = ath.select(key_col)
    for _, p in ipairs(self.pairs) do where[#where + 1] = p[4]:eq(p[3]) end
  end
  if criteria ~= nil then where[#where + 1] = criteria end
  return ath.exists(sel:where(unpack(where)))
end

function Relationship:any(criteria) return exists_related(self, "any", true, criteria, 2) end
function Relationship:has(criteria) return exists_related(self, "has", false, criteria, 2) end

------------------------------------------------------------------ aliases

local Aliased = { __name = "athanor.orm.AliasedClass" }
M.Aliased = Aliased
Aliased.__index = function(self, k)
  local cols = rawget(self, "_columns")
  local c = cols[k]
  if c ~= nil then return c end
  return Aliased[k]
end
function Aliased.__clause_element__(self) return rawget(self, "_alias") end
function Aliased.__tostring(self) return "aliased(" .. rawget(self, "_mapper").name .. ")" end

local alias_count = 0

--- orm.aliased(Model [, name]): the model under another name, to join or
-- select it twice: `a2.email` is the alias's column; query(a2) loads
-- objects of Model (the same identity map).
function M.aliased(model, name)
  local mapper = mapper_mod.mapper_of(model)
  if mapper == nil then errors.raise("ArgumentError", 2, "orm.aliased() expects a model, got %s", tostring(model)) end
  if name == nil then alias_count = alias_count + 1; name = mapper.table.name .. "_a" .. alias_count end
  local alias = mapper.table:alias(name)
  local cols = {}
  for i, key in ipairs(mapper.attr_keys) do cols[key] = alias.c[mapper.columns[i].name] end
  return setmetatable({ _mapper = mapper, _alias = alias, _columns = cols }, Aliased)
end

--- The mapper and alias of an aliased model, or nil.
function M.aliased_info(x)
  if type(x) == "table" and getmetatable(x) == Aliased then return rawget(x, "_mapper"), rawget(x, "_alias") end
  return nil
end

-- The unit of work calls these (it never requires this module).
uow.relationship_hooks = M

return M
