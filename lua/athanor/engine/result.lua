--- Result, Row, and the mapping/scalar views (API.md §2).
-- A Result wraps the C cursor of one execution. Rows are plain tables built
-- in C: values by position (`row[1]`) and by name (`row.name`); NULL is nil.
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
Result.__index = Result
M.Result = Result

--- Wrap what the C layer returned for one execution.
-- @param cur cursor userdata or nil (statement returned no rows)
-- @param meta optional { processors =, inserted_primary_key =, pk_is_autoinc = }
function M.new(cur, rowcount, lastrowid, meta, conn)
  -- every field set in the constructor (no rehash); the Connection is kept
  -- so the cursor's connection outlives it
  if cur then
    if meta and meta.processors then cur:set_processors(meta.processors) end
    return setmetatable({ _cur = cur, lastrowid = lastrowid, _meta = meta, _conn = conn,
                          returns_rows = true, rowcount = -1 }, Result)
  end
  return setmetatable({ lastrowid = lastrowid, _meta = meta, _conn = conn,
                        returns_rows = false, rowcount = rowcount or -1 }, Result)
end

local function closed_error()
  errors.raise("ResourceClosedError", 3, "This result object does not return rows or has been closed.")
end

local next_row                              -- defined with the iterators below

local function cursor_of(self)
  local cur = self._cur
  if cur == nil or self._closed then closed_error() end
  return cur
end

-- The row transform of a view: nil (rows), or a function(row) -> value.
local function fetch_one(self)
  return cursor_of(self):fetchone()
end

-- Rows an iteration has buffered but not handed out yet, moved into out.
local function drain_buffer(self, out, max)
  local buf, i = self._buf, self._bufi
  if buf == nil then return out end
  while i <= #buf and (max == nil or #out < max) do out[#out + 1] = buf[i]; i = i + 1 end
  self._bufi = i
  if i > #buf then self._buf = nil end
  return out
end

local function transform_all(self, rows)
  local tf = self._transform
  if tf then for i = 1, #rows do rows[i] = tf(rows[i]) end end
  return rows
end

--- Every remaining row, as an array.
function Result:all()
  local cur = cursor_of(self)
  local rows
  if self._buf then
    rows = drain_buffer(self, {})
    for _, r in ipairs(cur:fetch()) do rows[#rows + 1] = r end
  else
    rows = cur:fetch()
  end
  self:_finish()
  return transform_all(self, rows)
end

--- Up to n rows (default 100) as an array; empty when exhausted.
function Result:fetchmany(n)
  n = n or 100
  local cur = cursor_of(self)
  local rows = drain_buffer(self, {}, n)
  if #rows < n then
    for _, r in ipairs(cur:fetch(n - #rows)) do rows[#rows + 1] = r end
  end
  return transform_all(self, rows)
end

--- The next row, or nil when there are no more.
function Result:fetchone()
  if self._buf then return next_row(self) end
  local row = fetch_one(self)
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

--- The first row (or nil) and closes the result.
function Result:first()
  local row = cursor_of(self):first2(1)
  self._closed = true
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

--- Exactly one row: raises NoResultFound or MultipleResultsFound otherwise.
function Result:one()
  local row, extra = cursor_of(self):first2()
  self._closed = true
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
  local row, extra = cursor_of(self):first2()
  self._closed = true
  if extra ~= nil then
    errors.raise("MultipleResultsFound", 2, "Multiple rows were found when one or none was required")
  end
  if row ~= nil and self._transform then return self._transform(row) end
  return row
end

--- The first column of the first row (nil when no rows), closing the result.
function Result:scalar()
  local row = cursor_of(self):first2(1)
  self._closed = true
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
  local cur = self._cur
  if cur == nil then return {} end
  local names = cur:names()
  local copy = {}
  for i = 1, #names do copy[i] = names[i] end
  return copy
end

-- Rows are read in batches so iteration costs one C call per BATCH rows.
local BATCH = 64

function next_row(self)
  local buf, i = self._buf, self._bufi
  if buf == nil or i > #buf then
    buf = cursor_of(self):fetch(BATCH)
    if buf[1] == nil then self._buf = nil return nil end
    self._buf, i = buf, 1
  end
  self._bufi = i + 1
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

--- Releases the cursor (idempotent). The connection stays open.
function Result:close()
  if self._cur and not self._closed then self._cur:close() end
  self._closed = true
end

function Result:_finish()
  -- a fully fetched cursor already gave its statement back; keep it readable
  -- for keys() but mark the result as consumed
  self._closed = true
end

--- The primary key of the row a single-row INSERT created, as an array.
function Result:inserted_primary_key()
  local meta = self._meta
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

-- A view (mappings / scalars) shares the cursor and transforms each row.
local function view(self, transform, scalar_index)
  local v = setmetatable({ _cur = self._cur, _closed = self._closed, rowcount = self.rowcount, _conn = self._conn,
                           lastrowid = self.lastrowid, _meta = self._meta,
                           returns_rows = self.returns_rows,
                           _transform = transform, _scalar_index = scalar_index }, Result)
  return v
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
