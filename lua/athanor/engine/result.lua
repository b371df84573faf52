--- Result, Row, and the mapping/scalar views (API.md §2).
-- A Result wraps the C cursor of one execution. Rows are plain tables built
-- in C: values by position (`row[1]`) and by name (`row.name`); NULL is nil.
-- A Result never ends early without an error: once closed (result:close(),
-- first(), one(), all()), or once its Connection was closed or invalidated
-- (or rolled back under a PostgreSQL stream) before every row was read, the
-- next read raises ResourceClosedError. Rows already returned stay valid.
local errors = require("athanor.errors")
local compat = require("athanor.compat")

local setmetatable, getmetatable, type, tostring, select = setmetatable, getmetatable, type, tostring, select
local concat, format = table.concat, string.format
local unpack = compat.unpack

local M = {}

-------------------------------------------------------------------- Row

local RowMethods = {}

--- The column names of this row, in order.
function RowMethods._fields(row) return getmetatable(row).__fields end

--- The row as a name -> value table (a new table each call).
function RowMethods._asdict(row)
  local d = {}
  for i, name in ipairs(getmetatable(row).__fields) do d[name] = row[i] end
  return d
end

--- The row's values, in order, as multiple returns.
function RowMethods._tuple(row)
  return unpack(row, 1, #getmetatable(row).__fields)
end

local function show(v)
  if type(v) == "string" then return format("%q", v):gsub("\\\n", "\\n") end
  if v == nil then return "nil" end
  if v == errors.null then return "NULL" end
  return tostring(v)
end

local function row_tostring(row)
  local fields = getmetatable(row).__fields
  local parts = {}
  for i = 1, #fields do parts[i] = show(row[i]) end
  return "(" .. concat(parts, ", ") .. ")"
end

--- The template every per-result row metatable is copied from (see l_conn.c).
M.row_class = { __index = RowMethods, __tostring = row_tostring, __name = "athanor.Row" }
M.RowMethods = RowMethods

----------------------------------------------------------------- Result

local Result = { __name = "athanor.Result" }
-- SLOTS: a Result keeps its four hot fields in its array part, the cursor
-- (or, once closed, its column names), the statement's meta, the
-- Connection and the closed flag: on Lua 5.4 a table whose fields are all
-- in its hash part costs ~0.75k instructions more to make than an array of
-- as many (callgrind). Every other field is named. Connection:_execute_sql
-- and the fused point select (sql/init.lua) build the array themselves.
local CUR, META, CONN, CLOSED = 1, 2, 3, 4
M.CUR, M.META, M.CONN, M.CLOSED = CUR, META, CONN, CLOSED
Result.__index = Result
M.Result = Result
-- A Result of rows: these two are the same for all of them (M.new), so they
-- are read from here; the others set their own.
Result.returns_rows = true
Result.rowcount = -1

--- Wrap what the C layer returned for one execution.
-- @param cur cursor userdata or nil (statement returned no rows)
-- @param meta optional { processors =, inserted_primary_key =, pk_is_autoinc = }
-- @param conn the Connection: kept so the cursor's connection outlives the
--   Result, and told when an iteration starts (see watch below)
function M.new(cur, rowcount, lastrowid, meta, conn)
  if cur then
    if meta and meta.processors then cur:set_processors(meta.processors) end
    -- Four slots, the fewest a point select allocates and fills (an array:
    -- see SLOTS above): the constants (returns_rows = true, rowcount = -1)
    -- come from the class, and [CLOSED] = false says "open, read straight
    -- from its cursor" (see the fast paths below). A statement with rows
    -- has no lastrowid. (Connection:_execute_sql and the fused point
    -- select, sql/init.lua, build this table themselves when meta is nil.)
    return setmetatable({ cur, meta, conn, false }, Result)
  end
  return setmetatable({ nil, meta, conn, lastrowid = lastrowid, returns_rows = false, rowcount = rowcount or -1 },
                      Result)
end

-- A cursor over rows already read (a multi-row INSERT ... RETURNING run as
-- several statements): the methods of the C cursor that Result calls.
local ListCursor = {}
ListCursor.__index = ListCursor

function ListCursor:fetch(n)
  local rows, i = self._rows, self._i
  local last = n and math.min(#rows, i + n - 1) or #rows
  local out = {}
  for j = i, last do out[#out + 1] = rows[j] end
  self._i = last + 1
  return out
end
function ListCursor:fetchone()
  local row = self._rows[self._i]
  if row ~= nil then self._i = self._i + 1 end
  return row
end
function ListCursor:take_and_close(want)
  local rows, i = self._rows, self._i
  self._i = #rows + 1
  return rows[i], want > 1 and rows[i + 1] or nil
end
function ListCursor:close() self._i = #self._rows + 1 end
function ListCursor:names() return self._names end
function ListCursor:detached() return nil end

--- A Result over rows already read (internal: rows built by the C cursor
-- of other Results, names their column names), or, with rows nil, a
-- Result of a statement that returned no rows and changed rowcount rows.
function M.from_rows(rows, names, rowcount, conn)
  if rows == nil then return M.new(nil, rowcount, nil, nil, conn) end
  local cur = setmetatable({ _rows = rows, _i = 1, _names = names or {} }, ListCursor)
  return setmetatable({ cur, nil, conn, returns_rows = true, rowcount = rowcount or #rows }, Result)
end

-- A Result and its views (mappings(), scalars()) read one cursor through one
-- state: the cursor, the closed flag and the batch of rows an iteration has
-- fetched live on the Result the views came from (its `_src`, or itself).
-- [CLOSED] is true once closed; false (only on a Result of M.new, until an
-- iteration batches rows) when its rows are all still in its cursor, so
-- first(), one(), one_or_none() and scalar() can take them in one C call;
-- nil otherwise (a view, a Result over rows already read, a batch taken).
-- Closing a C cursor hands back its column names, which the Result keeps as
-- [CUR] from then on (keys() reads them): the cursor may serve the next
-- execution of its statement, and this Result must not keep it alive.

local function closed_error()
  errors.raise("ResourceClosedError", 3, "This result object does not return rows or has been closed.")
end

-- The cursor said its connection cut off the rows it had not read yet.
local function lost_error(reason)
  errors.raise("ResourceClosedError", 3, "%s", reason)
end

local next_row                              -- defined with the iterators below

local function cursor_of(src)
  local cur = src[CUR]
  if cur == nil or src[CLOSED] then closed_error() end
  return cur
end

-- Rows an iteration has batched but not handed out yet, moved into out.
local function drain_buffer(src, out, max)
  local buf, i = src._buf, src._bufi
  if not buf then return out end
  while i <= #buf and (max == nil or #out < max) do out[#out + 1] = buf[i]; i = i + 1 end
  src._bufi = i
  if i > #buf then src._buf = nil end
  return out
end

-- cursor:fetch(n) appended to rows; raises when the cursor was cut off.
local function fetch_into(cur, rows, n)
  local more, lost = cur:fetch(n)
  if more == nil then lost_error(lost) end
  if rows == nil then return more end
  for i = 1, #more do rows[#rows + 1] = more[i] end
  return rows
end

local function transform_all(self, rows)
  local tf = self._transform
  if tf then for i = 1, #rows do rows[i] = tf(rows[i]) end end
  return rows
end

--- Every remaining row, as an array.
-- @raise ResourceClosedError when the result was closed, or its Connection
--   was closed (or rolled back under a stream) before every row was read
function Result:all()
  local src = self._src or self
  local cur = cursor_of(src)
  local rows
  if src._buf then
    rows = fetch_into(cur, drain_buffer(src, {}))
  else
    rows = fetch_into(cur, nil)
  end
  src[CLOSED] = true                        -- consumed; keys() still works
  return transform_all(self, rows)
end

--- Up to n rows (default 100) as an array; empty when exhausted.
function Result:fetchmany(n)
  n = n or 100
  local src = self._src or self
  local cur = cursor_of(src)
  local rows = drain_buffer(src, {}, n)
  if #rows < n then fetch_into(cur, rows, n - #rows) end
  return transform_all(self, rows)
end

--- The next row, or nil when there are no more.
function Result:fetchone()
  local src = self._src or self
  if src._buf then return next_row(self) end
  local row, lost = cursor_of(src):fetchone()
  if lost ~= nil then lost_error(lost) end
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

-- Up to two rows (want = 1 or 2) for first()/one()/scalar(), batched rows
-- first; the result is consumed (closed) afterwards.
local function first_rows(self, want)
  local src = self._src or self
  local cur = src[CUR]                     -- cursor_of(src), inlined: one() is the point select's path
  if cur == nil or src[CLOSED] then closed_error() end
  local a, b, lost, names
  if src._buf then
    local rows = drain_buffer(src, {}, want)
    if #rows < want then fetch_into(cur, rows, want - #rows) end
    a, b = rows[1], rows[2]
    names = cur:close()
    src._buf = nil
  else
    a, b, lost, names = cur:take_and_close(want)
    if lost ~= nil then lost_error(lost) end
  end
  if names then src[CUR] = names end
  src[CLOSED] = true
  return a, b
end

-- first(), one(), one_or_none() and scalar() on a Result whose rows are all
-- in its cursor ([CLOSED] == false: not a view, so no row transform) take
-- them in one C call. This is the point select's path, hence the repetition.

--- The first row (or nil) and closes the result.
function Result:first()
  if self[CLOSED] == false then
    local row, _, lost, names = self[CUR]:take_and_close(1)
    if lost then errors.raise("ResourceClosedError", 2, "%s", lost) end
    if names then self[CUR] = names end
    self[CLOSED] = true
    return row
  end
  local row = first_rows(self, 1)
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

--- Exactly one row: raises NoResultFound or MultipleResultsFound otherwise.
function Result:one()
  local row, extra
  if self[CLOSED] == false then
    local lost
    local names
    row, extra, lost, names = self[CUR]:take_and_close(2)
    if lost then errors.raise("ResourceClosedError", 2, "%s", lost) end
    if names then self[CUR] = names end
    self[CLOSED] = true
    if row and not extra then return row end
  else
    row, extra = first_rows(self, 2)
  end
  if row == nil then
    errors.raise("NoResultFound", 2, "No row was found when one was required")
  end
  if extra ~= nil then
    errors.raise("MultipleResultsFound", 2, "Multiple rows were found when exactly one was required")
  end
  if self._transform then return self._transform(row) end
  return row
end

--- One row or nil: raises MultipleResultsFound if there are more.
function Result:one_or_none()
  local row, extra
  if self[CLOSED] == false then
    local lost
    local names
    row, extra, lost, names = self[CUR]:take_and_close(2)
    if lost then errors.raise("ResourceClosedError", 2, "%s", lost) end
    if names then self[CUR] = names end
    self[CLOSED] = true
    if not extra then return row end
  else
    row, extra = first_rows(self, 2)
  end
  if extra ~= nil then
    errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required")
  end
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

--- The first column of the first row (nil when no rows), closing the result.
function Result:scalar()
  if self[CLOSED] == false then
    local row, _, lost, names = self[CUR]:take_and_close(1)
    if lost then errors.raise("ResourceClosedError", 2, "%s", lost) end
    if names then self[CUR] = names end
    self[CLOSED] = true
    if row == nil then return nil end
    return row[1]
  end
  local row = first_rows(self, 1)
  if row == nil then return nil end
  return row[self._scalar_index or 1]
end

--- The first column of exactly one row.
function Result:scalar_one()
  local saved = self._transform
  self._transform = nil
  local ok, row = pcall(Result.one, self)
  self._transform = saved
  if not ok then error(row, 0) end
  return row[self._scalar_index or 1]
end

--- The column names, in order (every column, even those that are NULL).
function Result:keys()
  local cur = (self._src or self)[CUR]
  if cur == nil then return {} end
  local names = getmetatable(cur) == nil and cur or cur:names()   -- closed: the names it kept
  local copy = {}
  for i = 1, #names do copy[i] = names[i] end
  return copy
end

-- Rows are read in batches so iteration costs one C call per BATCH rows.
local BATCH = 64
local WEAK_KEYS = { __mode = "k" }

-- An iteration holds a batch of rows its cursor may outlive: the Connection
-- keeps a weak set of such results, so closing it can drop the batch of every
-- cursor it cut off (M.drop_lost_batches) and the next step raises at once,
-- however many rows were batched.
local function watch(src)
  src._watched = true
  local conn = src[CONN]
  if conn == nil then return end
  local reading = conn._reading
  if reading == nil then reading = setmetatable({}, WEAK_KEYS); conn._reading = reading end
  reading[src] = true
end

function next_row(self)
  local src = self._src or self
  local buf, i = src._buf, src._bufi
  if not buf or i > #buf then
    local lost
    buf, lost = cursor_of(src):fetch(BATCH)
    if buf == nil then lost_error(lost) end
    if buf[1] == nil then src._buf = nil return nil end
    i = 1
    src._buf = buf
    src[CLOSED] = nil                       -- open, but not all its rows in the cursor any more
    if buf[BATCH] ~= nil and not src._watched then watch(src) end
  end
  src._bufi = i + 1
  local row = buf[i]
  if self._transform then return self._transform(row) end
  return row
end

--- Iterator over the remaining rows: `for row in result:iter() do`.
function Result:iter()
  return next_row, self
end

--- `for row in result do` works too.
function Result:__call()
  return next_row(self)
end

--- Releases the cursor (idempotent). The connection stays open. Reading a
-- closed result, or a view of it, raises ResourceClosedError.
function Result:close()
  local src = self._src or self
  if src[CUR] and not src[CLOSED] then src[CUR] = src[CUR]:close() or src[CUR] end
  src[CLOSED] = true
  src._buf = nil                            -- batched rows are not handed out after close
end

--- For the Connection (internal): after it closed or rolled back, forget the
-- batched rows of each result in `reading` whose cursor it cut off, so the
-- next read raises ResourceClosedError instead of handing out a few more.
function M.drop_lost_batches(reading)
  if reading == nil then return end
  for src in pairs(reading) do
    local cur = src[CUR]
    if src._buf and cur and not src[CLOSED] and cur:detached() then src._buf = nil end
  end
end

--- The primary key of the row a single-row INSERT created, as an array.
function Result:inserted_primary_key()
  local meta = self[META]
  local pk = meta and meta.inserted_primary_key
  if pk then
    if meta.autoinc_index and pk[meta.autoinc_index] == nil then
      local copy = {}
      for i = 1, meta.pk_count or #pk do copy[i] = pk[i] end
      copy[meta.autoinc_index] = self.lastrowid
      return copy
    end
    return pk
  end
  return { self.lastrowid }
end

-- A view (mappings / scalars) reads through its source's state and
-- transforms each row.
local function view(self, transform, scalar_index)
  local src = self._src or self
  return setmetatable({ nil, self[META], self[CONN], _src = src, rowcount = self.rowcount,
                        lastrowid = self.lastrowid, returns_rows = self.returns_rows,
                        _transform = transform, _scalar_index = scalar_index }, Result)
end

--- A result whose rows are fn(row): the row hook (docs/results.md). fn is
-- called once per row as the row is handed out, by every reading method
-- (iteration, fetchone, fetchmany, all, first, one, one_or_none); all()
-- and fetchmany() replace the rows in the array the cursor filled, so
-- there is no second array and no second pass over the result. On a
-- mappings() or another map() view, fn receives what that view returns.
-- scalar() and scalar_one() read the row's column before any map.
-- The result and its maps share one cursor: read only one of them.
-- @param fn function(row) -> the object to hand out instead (not nil: a nil
--   would end an iteration and leave a hole in all()'s array)
-- @return Result (a view)
-- @raise ArgumentError when fn is not a function
function Result:map(fn)
  if type(fn) ~= "function" then
    errors.raise("ArgumentError", 2, "map() expects a function(row), got %s", type(fn))
  end
  local prev = self._transform
  if prev then
    local inner = fn
    fn = function(row) return inner(prev(row)) end
  end
  return view(self, fn, self._scalar_index)
end

--- A result of plain name -> value tables.
function Result:mappings()
  return view(self, function(row) return row:_asdict() end)
end

--- A result of single values: column i (default 1) of each row.
function Result:scalars(i)
  i = i or 1
  if type(i) == "string" then
    local name = i
    return view(self, function(row) return row[name] end)
  end
  return view(self, function(row) return row[i] end, i)
end

Result.__close = function(self) self:close() end

function Result:__tostring()
  return format("Result(rows=%s, rowcount=%s)", tostring(self.returns_rows), tostring(self.rowcount))
end

-- `select` kept local for callers building results with varargs
M._select = select

return M
