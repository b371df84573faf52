--- SELECT and the things rows come from (API.md §4): select, compound
-- selects (UNION ...), subqueries, CTEs, table aliases and joins.
-- A Select is itself the node the C compiler reads: its slots hold the
-- clauses (ATH_SEL_* in csrc/sql/ath_sql.h). Every method copies the
-- statement and changes the copy, so a base query can be reused.
local errors = require("athanor.errors")
local schema = require("athanor.schema")
local el = require("athanor.sql.elements")
local coercions = require("athanor.sql.coercions")
local unpack = require("athanor.compat").unpack

local K, Expr, node, PLAIN_COMPARE_OP = el.K, el.Expr, el.node, el.PLAIN_COMPARE_OP
local type, setmetatable, getmetatable, select, ipairs, pairs, tostring = type, setmetatable, getmetatable, select, ipairs, pairs, tostring
local Column, Table = schema._Column, schema._Table
-- An object's metatable for the identity checks on the point select's path
-- (select(t), where()): on PUC Lua, debug.getmetatable skips the
-- __metatable lookup that getmetatable makes (a string interned per call:
-- ~0.15k instructions on Lua 5.4). LuaJIT compiles getmetatable into its
-- traces (debug.getmetatable would be a call out of them); a host without
-- the debug library gets getmetatable too.
local class_of = not rawget(_G, "jit") and debug and debug.getmetatable or getmetatable

-- Table's methods from here (alias, join, outerjoin, select, and the _from
-- marker of FROM elements) are applied to it in athanor.sql (sql/init.lua).
local M = { table_methods = { _from = true } }

-- Slot numbers (1-based: Lua arrays) of a SELECT node, by name from the C
-- kind list (core.node_slots; ATH_NODE_KINDS in csrc/sql/ath_sql.h).
-- (CTES stays empty: WITH is gathered from the whole tree by the compiler)
local SEL = require("athanor.core").node_slots.SELECT
local COLS, FROM, WHERE, GROUP, HAVING, ORDER, LIMIT, OFFSET, CORRELATE =
  SEL.COLUMNS, SEL.FROM, SEL.WHERE, SEL.GROUP, SEL.HAVING, SEL.ORDER, SEL.LIMIT, SEL.OFFSET, SEL.CORRELATE
-- an optional last slot: the DISTINCT ON expressions, absent when not used
local DISTINCT_ON = SEL.DISTINCT_ON
assert(COLS == 1 and FROM == 2 and WHERE == 3, "Select:where's fused select writes slots 1-3 by position")
-- a compound's slots
local CMP = require("athanor.core").node_slots.COMPOUND

local EMPTY_LIST = node(K.LIST, {})
local WEAK_KEYS = { __mode = "k" }

local function append(lst, ...)
  local out = { k = K.LIST }
  for i = 1, #lst do out[i] = lst[i] end
  for i = 1, select("#", ...) do out[#out + 1] = (select(i, ...)) end
  return out
end

--------------------------------------------------------------- FROM elements

-- A column of a FROM element other than a schema table (alias, subquery,
-- CTE): same operators, a name, a type, and the element it belongs to.
local function proxy_column(from, name, ty, orig)
  return setmetatable({ k = K.COLUMN, s = name, t = from, name = name, type = ty, table = from,
                        _orig = orig, primary_key = orig and orig.primary_key or false,
                        foreign_keys = orig and orig.foreign_keys or {} }, Column)
end

local FromElement = {}           -- methods shared by tables, aliases, subqueries and CTEs

-- The columns of a FROM element as a LIST node, built once (select(t) reuses it).
local function columns_list(from)
  local l = from._columns_list
  if not l then
    -- _frozen: the compiler converts this list once and reuses it
    l = { k = K.LIST, _frozen = true }
    for i, c in ipairs(from.columns) do l[i] = c end
    from._columns_list = l
  end
  return l
end
M.columns_list = columns_list

--- users:alias("u2"): the same table under another name (self-joins).
function M.table_methods.alias(self, name)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "alias() expects a name, got %s", tostring(name))
  end
  local a = setmetatable({ k = K.TABLE, s = self.name, s2 = name, name = name, _orig = self, columns = {}, c = {},
                           primary_key = {}, foreign_keys = self.foreign_keys, metadata = self.metadata,
                           _from = true }, M.TableAlias)
  for i, col in ipairs(self.columns) do
    local p = proxy_column(a, col.name, col.type, col)
    a.columns[i] = p
    a.c[col.name] = p
    if col.primary_key then a.primary_key[#a.primary_key + 1] = p end
  end
  return a
end

M.TableAlias = { __name = "athanor.TableAlias" }
M.TableAlias.__index = function(_, k) return M.TableAlias[k] or FromElement[k] or Table[k] end
el.register_node_class(M.TableAlias)
function M.TableAlias:__tostring() return self.s .. " AS " .. self.s2 end

-- The schema table behind a FROM element (for foreign keys).
local function base_table(f)
  if getmetatable(f) == Table then return f end
  return f._orig and getmetatable(f._orig) == Table and f._orig or nil
end

-- Every table-like element a FROM item covers (joins: both sides).
local function flatten(f, out)
  out = out or {}
  if f.k == K.JOIN then flatten(f[1], out); flatten(f[2], out)
  else out[#out + 1] = f end
  return out
end

-- The ON clause of a join between left (an element or join) and right,
-- from the foreign keys between them: exactly one must exist.
local function infer_on(left, right, level)
  local rbase = base_table(right)
  local found = {}
  for _, l in ipairs(flatten(left)) do
    local lbase = base_table(l)
    if lbase and rbase then
      for _, col in ipairs(right.columns) do      -- right -> left
        for _, fk in ipairs(col.foreign_keys or {}) do
          if fk.target_table == lbase.name and l.c[fk.target_column] then
            found[#found + 1] = l.c[fk.target_column]:eq(col)
          end
        end
      end
      for _, col in ipairs(l.columns) do          -- left -> right
        for _, fk in ipairs(col.foreign_keys or {}) do
          if fk.target_table == rbase.name and right.c[fk.target_column] and l ~= right then
            found[#found + 1] = col:eq(right.c[fk.target_column])
          end
        end
      end
    end
  end
  if #found ~= 1 then
    local names = {}
    for _, l in ipairs(flatten(left)) do names[#names + 1] = "'" .. tostring(l.name) .. "'" end
    errors.raise("ArgumentError", level + 1,
      "Can't determine the join condition between %s and '%s': %s; give the ON clause explicitly",
      table.concat(names, ", "), tostring(right.name),
      #found == 0 and "no foreign key links them" or (#found .. " foreign key paths link them"))
  end
  return found[1]
end

local Join = { __name = "athanor.Join" }
Join.__index = function(t, k) return Join[k] or FromElement[k] end
M.Join = Join
el.register_node_class(Join)

local function make_join(left, right, on, opts, level)
  left = coercions.to_from(left, "join()", level + 1, "JoinTargetRole")
  right = coercions.to_from(right, "join()", level + 1, "JoinTargetRole")
  if on ~= nil then on = coercions.resolve(on, level + 1) end
  if on == nil then on = infer_on(left, right, level + 1)
  elseif el.is_from(on) and opts == nil then
    errors.raise("ArgumentError", level + 1, "join(): the second argument is the ON clause, got a table")
  else on = el.criterion(on, "join() ON clause", level + 1) end
  local f = 0
  if opts and opts.full then f = K.F_FULL elseif opts and opts.isouter then f = K.F_OUTER end
  return setmetatable({ k = K.JOIN, f = f, left, right, on, _from = true }, Join)
end

--- t:join(right [, on [, opts]]) / t:outerjoin(...): a FROM element.
function FromElement:join(right, on, opts) return make_join(self, right, on, opts, 2) end
function FromElement:outerjoin(right, on, opts)
  local o = { isouter = true, full = opts and opts.full }
  return make_join(self, right, on, o, 2)
end
M.table_methods.join, M.table_methods.outerjoin = FromElement.join, FromElement.outerjoin

------------------------------------------------------------------- Select

local Select = { __name = "athanor.Select", _selectable = true }
Select.__index = Select
M.Select = Select
el.register_node_class(Select)

local SELECT = K.SELECT
local function copy(sel)
  -- (the optional fields are set only when present: the hash part stays at
  -- one entry, k, for the usual select)
  local c = setmetatable({ sel[1], sel[2], sel[3], sel[4], sel[5], sel[6], sel[7], sel[8], sel[9], sel[10], sel[11],
                           k = SELECT }, Select)
  local f, entity = sel.f, sel._filter_entity
  if f ~= nil then c.f = f end
  if entity ~= nil then c._filter_entity = entity end
  local options = sel._with_options                 -- select():options(...)
  if options ~= nil then c._with_options = options end
  return c
end

-- Add columns of ... (tables and other FROM elements expand to their
-- columns; ColumnsClauseRole). Returns out and the first FROM element an
-- item names (filter_by's entity).
local add_columns_clause = coercions.add_columns_clause
local function column_items(out, level, ...)
  local entity
  for i = 1, select("#", ...) do
    local e = add_columns_clause(out, (select(i, ...)), "select()", level + 1)
    entity = entity or e
  end
  return out, entity
end

--- ath.select(cols...): a SELECT of columns, tables and expressions.
-- select(t) of a schema table is built once and kept on the table: a
-- statement is never modified once built (every method copies it), so one
-- object serves every caller, and it carries the memo of the fused
-- point selects made from it (Select:where below).
function M.select(...)
  local n = select("#", ...)
  local first = ...
  if n == 1 and class_of(first) == Table then
    local kept = first._select_all
    if kept then return kept end
  end
  -- (only k in the hash part: filter_by finds the entity of select(t) itself)
  local sel = setmetatable({ false, false, false, false, false, false, false, false, false, false,
                             k = SELECT }, Select)
  local from = n == 1 and (getmetatable(first) == Table or el.is_from(first)) and first   -- (a Table: no lookups)
  if n == 1 and not from and type(first) == "table" and not el.is_node(first) then   -- a protocol object?
    first = coercions.resolve(first, 2)
    from = el.is_from(first) and first
  end
  if from and from.columns then
    sel[COLS] = columns_list(first)                    -- select(t): the table's shared list
  else
    local cols, entity = column_items({ k = K.LIST }, 2, ...)
    sel[COLS] = cols
    sel._filter_entity = entity
  end
  sel[FROM] = EMPTY_LIST
  if n == 1 and getmetatable(first) == Table then
    sel._fused = setmetatable({}, WEAK_KEYS)           -- column -> operator -> dialect -> kept SQL
    first._select_all = sel
  end
  return sel
end

--- select:options(opt, ...): statement options for whoever executes the
-- statement (SQLAlchemy's Executable.options). Core keeps them, in order,
-- through every generative call, and renders nothing from them; the ORM's
-- session:execute() reads its relationship loader options from them. An
-- option says it is one through its class: `_ath_statement_option = true`;
-- a class may instead give `_ath_not_a_statement_option`, the message to
-- refuse its objects with.
function Select:options(...)
  local list = {}
  for i, o in ipairs(self._with_options or {}) do list[i] = o end
  for i = 1, select("#", ...) do
    local opt = select(i, ...)
    if type(opt) ~= "table" or opt._ath_statement_option ~= true then
      local why = type(opt) == "table" and opt._ath_not_a_statement_option
      errors.raise("ArgumentError", 2, "select():options(): argument %d %s", i,
        type(why) == "string" and why or ("is not a statement option, got " .. tostring(opt)))
    end
    list[#list + 1] = opt
  end
  local c = copy(self)
  c._with_options = list
  return c
end

function Select:add_columns(...)
  local c = copy(self)
  c[COLS] = column_items(append(self[COLS]), 2, ...)
  return c
end

function Select:with_only_columns(...)
  local c = copy(self)
  c[COLS] = column_items({ k = K.LIST }, 2, ...)
  return c
end

-- Combine criteria with what is already there (several = AND).
-- @param role the clause, for messages ("where()")
local function add_criteria(existing, role, level, ...)
  local parts = { existing or nil }
  local n = select("#", ...)
  local args = n > 2 and { ... } or nil                -- select(i, ...) in a loop is O(n^2)
  for i = 1, n do
    local crit
    if args then crit = args[i] else crit = (select(i, ...)) end
    if crit ~= nil then
      crit = el.criterion(crit, role, level + 1)
      if not (crit.k == K.AND and crit[1] == nil) then parts[#parts + 1] = crit end   -- where(and_()) adds nothing
    end
  end
  if #parts == 0 then return existing end
  return el.and_(unpack(parts))
end
M.add_criteria = add_criteria

-- The fused point select: select(t):where(col <op> value), the most
-- common statement there is, renders the same SQL for every value. The
-- select(t) kept on the table memoizes, per column and operator, an entry
-- where its execution keeps the SQL once compiled (sql/init.lua,
-- select_execute), so later executions bind the value and skip the
-- conversion to C nodes. Only a comparison of a column with a plain value
-- qualifies (a PlainCompare, sql/elements.lua: its every rendered field is
-- the column, the operator and an unnamed, uncast bind, so nothing else
-- changes the SQL). The node is built as always; the entry only saves
-- compiling it.
--
-- Such a statement is a Select in every way but one: its fields k and
-- _fused_where come from its class, one per entry (a subclass of Select),
-- so the statement itself is an array of its slots, the cheapest table to
-- make (on Lua 5.4 a hash part costs ~1.2k instructions), and of its first
-- three: the empty slots after WHERE read false through the class, and the
-- C converter reads an absent slot as an empty one (a 3-slot array instead
-- of 10: ~0.4k instructions less per statement on Lua 5.4). The C converter
-- reads k from the class (l_convert.c, class_kind).
-- (M.fused_execute: the class's execute, set by athanor.sql, sql/init.lua,
-- which executes statements)
local function fused_class(entry)
  local index = setmetatable({ k = SELECT, _fused_where = entry, _ath_execute = M.fused_execute }, Select)
  for slot = WHERE + 1, CORRELATE do index[slot] = false end
  local class = { __index = index, __node_fields = index }
  for name, fn in pairs(Select) do                   -- (its metamethods: __tostring, __name)
    if type(name) == "string" and name:sub(1, 2) == "__" and name ~= "__index" then class[name] = fn end
  end
  el.register_node_class(class, true)
  entry.class = class
  return class
end

function Select:where(crit, ...)
  local memo = self._fused
  local op = memo and PLAIN_COMPARE_OP[class_of(crit)]
  if op and ... == nil then
    local col = crit[1]
    local ops = memo[col]                             -- (only a schema Column has an entry)
    if ops == nil and class_of(col) == Column then ops = {}; memo[col] = ops end
    if ops then
      local entry = ops[op]
      if entry == nil then entry = {}; ops[op] = entry end
      -- (self is a fresh select(t): only the columns and FROM are set)
      return setmetatable({ self[1], self[2], crit }, entry.class or fused_class(entry))
    end
  end
  local c = copy(self)
  if ... == nil and self[WHERE] == false and (getmetatable(crit) == Expr or el.is_node(crit)) and crit.k ~= K.AND then
    c[WHERE] = crit                                  -- the common case: one criterion, nothing yet
    return c
  end
  c[WHERE] = add_criteria(self[WHERE] or nil, "where()", 2, crit, ...) or false
  return c
end
Select.filter = Select.where

--- filter_by{ name = "x" }: equality on columns of the last joined table
-- (or the first selected one); keys follow the table's column order.
function Select:filter_by(kw)
  local e = self._filter_entity
  if e == nil then                                   -- select(t): the table of the first column
    local first = self[COLS][1]
    e = first and first.k == K.COLUMN and first.t or nil
    if e and not e.c then e = nil end
  end
  if type(kw) ~= "table" then errors.raise("ArgumentError", 2, "filter_by() expects a table of column = value") end
  if not e then errors.raise("InvalidRequestError", 2, "filter_by(): this select has no table to filter") end
  for key in pairs(kw) do
    if type(key) ~= "string" or not e.c[key] then
      errors.raise("ArgumentError", 2, "Table '%s' has no column '%s'", tostring(e.name), tostring(key))
    end
  end
  local crit = {}
  for _, col in ipairs(e.columns) do
    local v = kw[col.name]
    if v ~= nil then crit[#crit + 1] = col:eq(v) end
  end
  return self:where(el.and_(unpack(crit)))
end

function Select:having(...)
  local c = copy(self)
  c[HAVING] = add_criteria(self[HAVING] or nil, "having()", 2, ...) or false
  return c
end

-- A LIST of what existing holds and the arguments, each coerced by `to`
-- (a coercions function taking x, what, level).
local function coerced_list(existing, to, what, level, ...)
  local out = existing and append(existing) or { k = K.LIST }
  for i = 1, select("#", ...) do
    local x = select(i, ...)
    if x ~= nil then out[#out + 1] = to(x, what, level + 1) end
  end
  return out
end

-- The terms of ORDER BY / GROUP BY: columns, expressions (a label of the
-- columns clause is rendered by its name) and ath.text() fragments, as in
-- SQLAlchemy. A Lua string is refused: it is never SQL.
-- @param role the method, for messages ("order_by()")
local function term_list(existing, role, level, ...)
  return coerced_list(existing, coercions.to_order_by, role, level + 1, ...)
end

function Select:order_by(...)
  local c = copy(self)
  c[ORDER] = term_list(self[ORDER] or nil, "order_by()", 2, ...)
  return c
end
function Select:group_by(...)
  local c = copy(self)
  c[GROUP] = term_list(self[GROUP] or nil, "group_by()", 2, ...)
  return c
end

local function count_arg(n, what, level)
  if el.is_node(n) then return n end
  if type(n) ~= "number" or n < 0 or n ~= math.floor(n) then
    errors.raise("ArgumentError", level + 1, "%s() expects a non-negative integer, got %s", what, tostring(n))
  end
  return el.bind(math.tointeger and math.tointeger(n) or n)
end
function Select:limit(n)
  local c = copy(self)
  c[LIMIT] = n == nil and false or count_arg(n, "limit", 2)
  return c
end
function Select:offset(n)
  local c = copy(self)
  c[OFFSET] = n == nil and false or count_arg(n, "offset", 2)
  return c
end

-- flag bits without bitwise operators (LuaJIT has none in its syntax)
local function has_flag(f, bit) return f ~= nil and f % (bit * 2) >= bit end

--- distinct(): SELECT DISTINCT; distinct(exprs...): DISTINCT ON (exprs) on
-- PostgreSQL (a CompileError on other dialects, which have no DISTINCT ON).
function Select:distinct(...)
  local c = copy(self)
  if not has_flag(c.f, K.F_DISTINCT) then c.f = (c.f or 0) + K.F_DISTINCT end
  if select("#", ...) > 0 then
    c[DISTINCT_ON] = coerced_list(self[DISTINCT_ON] or nil, coercions.to_column_expr, "distinct()", 2, ...)
  end
  return c
end

--- with_for_update{ nowait =, skip_locked =, read = } (SQLite: omitted).
function Select:with_for_update(opts)
  local c = copy(self)
  local f = has_flag(self.f, K.F_DISTINCT) and K.F_DISTINCT or 0
  if has_flag(self.f, K.F_CORRELATE_EXCEPT) then f = f + K.F_CORRELATE_EXCEPT end
  f = f + ((opts and opts.read) and K.F_FOR_SHARE or K.F_FOR_UPDATE)
  if opts and opts.nowait then f = f + K.F_NOWAIT end
  if opts and opts.skip_locked then f = f + K.F_SKIP_LOCKED end
  c.f = f
  return c
end

--- select_from(element): an explicit FROM item (a table, join, subquery).
function Select:select_from(...)
  local c = copy(self)
  c[FROM] = coerced_list(self[FROM], coercions.to_from, "select_from()", 2, ...)
  return c
end

-- Statements inside an expression (scalar subqueries, EXISTS) have FROMs of
-- their own: a join never starts from those.
local OWN_FROMS = { [K.SELECT] = true, [K.COMPOUND] = true, [K.ALIAS] = true, [K.CTE] = true }

-- The first FROM element, left to right and depth first, that a column
-- inside the expression x names other than `right` (or nil).
local function first_from(x, right, depth)
  if type(x) ~= "table" or depth > 64 or OWN_FROMS[x.k] then return nil end
  if x.k == K.COLUMN then return x.t ~= right and x.t or nil end
  for i = 1, #x do
    local t = first_from(x[i], right, depth + 1)
    if t then return t end
  end
  return nil
end

-- The element a new join starts from: the last explicit FROM item, else the
-- first FROM element the selected columns name, inside expressions too
-- (`select(e.name .. d.name):join(d, ...)` starts from e, as in SQLAlchemy).
local function join_left(sel, right)
  local froms = sel[FROM]
  if #froms > 0 then return froms[#froms], #froms end
  for _, col in ipairs(sel[COLS]) do
    if type(col) == "table" and col.k == K.COLUMN and col.t then return col.t, 1 end
  end
  for _, col in ipairs(sel[COLS]) do
    local t = first_from(col, right, 0)
    if t then return t, 1 end
  end
  errors.raise("InvalidRequestError", 3, "join(): this select has no table to join from; use select_from()")
end

local function select_join(self, right, on, opts, level)
  right = coercions.to_from(right, "join()", level + 1, "JoinTargetRole")
  local left, pos = join_left(self, right)
  local j = make_join(left, right, on, opts, level + 1)
  local c = copy(self)
  local froms = append(self[FROM])
  froms[pos] = j
  c[FROM] = froms
  c._filter_entity = right
  return c
end
function Select:join(right, on, opts) return select_join(self, right, on, opts, 2) end
function Select:outerjoin(right, on, opts)
  return select_join(self, right, on, { isouter = true, full = opts and opts.full }, 2)
end
function Select:join_from(left, right, on, opts)
  return self:select_from(make_join(left, right, on, opts, 2))
end

function Select:correlate(...)
  local c = copy(self)
  c[CORRELATE] = coerced_list(self[CORRELATE] or nil, coercions.to_from, "correlate()", 2, ...)
  return c
end

--- correlate_except(froms...): correlate every FROM element of the enclosing
-- query except these, which stay in this select's own FROM.
function Select:correlate_except(...)
  local c = copy(self)
  c[CORRELATE] = coerced_list(nil, coercions.to_from, "correlate_except()", 2, ...)
  if not has_flag(c.f, K.F_CORRELATE_EXCEPT) then c.f = (c.f or 0) + K.F_CORRELATE_EXCEPT end
  return c
end


-- The names and types of the result columns (for subqueries and results).
local function result_columns(sel)
  local out = {}
  for i, col in ipairs(sel[COLS]) do
    out[i] = { name = col.name or (col.k == K.COLUMN and col.s) or nil, type = col.type, orig = col.k == K.COLUMN and col or nil }
  end
  return out
end
M.result_columns = result_columns

-- A FROM element wrapping a select: its columns are proxies.
local function wrap_selectable(kind, mt, sel, name, fields)
  local w = setmetatable(fields or {}, mt)
  w.k, w.s, w[1], w.name, w._from, w.columns, w.c = kind, name, sel, name, true, {}, {}
  for _, rc in ipairs(result_columns(sel:_first_select())) do
    if rc.name then
      local p = proxy_column(w, rc.name, rc.type, rc.orig)
      w.columns[#w.columns + 1] = p
      if w.c[rc.name] == nil then w.c[rc.name] = p end
    end
  end
  return w
end

local Subquery = { __name = "athanor.Subquery" }
Subquery.__index = function(t, k) return Subquery[k] or FromElement[k] end
M.Subquery = Subquery
el.register_node_class(Subquery)

local anon = 0
--- sel:subquery(name) / sel:alias(name): the select as a FROM element.
function Select:subquery(name)
  if name == nil then anon = anon + 1; name = "anon_" .. anon end
  if type(name) ~= "string" then errors.raise("ArgumentError", 2, "subquery() expects a name, got %s", type(name)) end
  return wrap_selectable(K.ALIAS, Subquery, self, name)
end
Select.alias = Select.subquery

function Select:_first_select() return self end

--- sel:lateral(name): the select as a LATERAL subquery in FROM (PostgreSQL,
-- MySQL 8): it may refer to the FROM items before it.
function Select:lateral(name)
  if name == nil then anon = anon + 1; name = "anon_" .. anon end
  if type(name) ~= "string" then errors.raise("ArgumentError", 2, "lateral() expects a name, got %s", type(name)) end
  return wrap_selectable(K.ALIAS, Subquery, self, name, { f = K.F_LATERAL })
end

--- sel:scalar_subquery(): (SELECT ...) as a value.
function Select:scalar_subquery()
  local first = self[COLS][1]
  return setmetatable({ k = K.SCALAR, self, type = first and first.type }, Expr)
end
Select.as_scalar = Select.scalar_subquery

--- sel:exists(): EXISTS (SELECT ...).
function Select:exists() return el.exists(self) end

local CTE = { __name = "athanor.CTE" }
CTE.__index = function(t, k) return CTE[k] or FromElement[k] end
M.CTE = CTE
el.register_node_class(CTE)

--- sel:cte(name, { recursive = true }): a common table expression, used
-- like a table; WITH is rendered at the top of the statement using it.
function Select:cte(name, opts)
  if type(name) ~= "string" then errors.raise("ArgumentError", 2, "cte() expects a name, got %s", type(name)) end
  return wrap_selectable(K.CTE, CTE, self, name, { f = opts and opts.recursive and K.F_RECURSIVE or nil })
end

-- recursive CTEs: cte:union_all(select) builds the CTE's full body
local function cte_compound(op)
  return function(self, ...)
    local body = M.compound(op, 2, self[1], ...)
    local c = wrap_selectable(K.CTE, CTE, body, self.s, { f = self.f })
    return c
  end
end
CTE.union = cte_compound("UNION")
CTE.union_all = cte_compound("UNION ALL")


--- cte:alias(name): the same CTE referred to under another name
-- (WITH c AS (...) SELECT ... FROM c, c AS c2), e.g. to join it to itself.
function CTE:alias(name)
  if type(name) ~= "string" or name == "" then
    errors.raise("ArgumentError", 2, "alias() expects a name, got %s", tostring(name))
  end
  local a = wrap_selectable(K.CTE, CTE, self[1], self.s, { f = self.f })
  a.s2, a.name = name, name
  for _, col in ipairs(a.columns) do col.table = a end
  return a
end

------------------------------------------------------------------ Compound

local Compound = { __name = "athanor.CompoundSelect", _selectable = true }
Compound.__index = Compound
M.Compound = Compound
el.register_node_class(Compound)

function M.compound(op, level, ...)
  local sels = { k = K.LIST }
  for i = 1, select("#", ...) do
    sels[#sels + 1] = coercions.to_select((select(i, ...)), op, level + 1)
  end
  return setmetatable({ k = K.COMPOUND, s = op, sels, EMPTY_LIST, false, false }, Compound)
end

local function ccopy(c)
  return setmetatable({ k = K.COMPOUND, s = c.s, c[CMP.SELECTS], c[CMP.ORDER], c[CMP.LIMIT], c[CMP.OFFSET] }, Compound)
end
function Compound:order_by(...)
  local c = ccopy(self)
  c[CMP.ORDER] = term_list(self[CMP.ORDER], "order_by()", 2, ...)
  return c
end
function Compound:limit(n) local c = ccopy(self); c[CMP.LIMIT] = count_arg(n, "limit", 2); return c end
function Compound:offset(n) local c = ccopy(self); c[CMP.OFFSET] = count_arg(n, "offset", 2); return c end
function Compound:_first_select() return self[CMP.SELECTS][1]:_first_select() end
Compound.subquery = Select.subquery
Compound.alias = Select.subquery
Compound.cte = Select.cte
Compound.exists = Select.exists
function Compound:scalar_subquery()
  return setmetatable({ k = K.SCALAR, self }, Expr)
end

for _, op in ipairs({ { "union", "UNION" }, { "union_all", "UNION ALL" }, { "intersect", "INTERSECT" },
                      { "except_", "EXCEPT" }, { "intersect_all", "INTERSECT ALL" }, { "except_all", "EXCEPT ALL" } }) do
  Select[op[1]] = function(self, ...) return M.compound(op[2], 2, self, ...) end
  Compound[op[1]] = Select[op[1]]
  M[op[1]] = function(...) return M.compound(op[2], 2, ...) end
end

--- t:select(): select(t).
function M.table_methods.select(self) return M.select(self) end

return M
