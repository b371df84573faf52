--- Connection and Transaction (API.md §1).
-- A Connection is one checked-out database connection. Outside an explicit
-- transaction every execute commits on its own (the database's native
-- autocommit); `begin()` starts a transaction, `begin_nested()` a SAVEPOINT.
-- Closing returns the connection to the pool, which rolls back whatever
-- transaction is still open.
local errors = require("athanor.errors")
local compat = require("athanor.compat")
local result = require("athanor.engine.result")
local text = require("athanor.text")

local setmetatable, type, pcall, error, tostring = setmetatable, type, pcall, error, tostring
local pack, unpack = compat.pack, compat.unpack
local new_result = result.new
local drop_lost_batches = result.drop_lost_batches
local io_stderr = io.stderr

local M = {}

local Connection = { __name = "athanor.Connection" }
Connection.__index = Connection
M.Connection = Connection

local Transaction = { __name = "athanor.Transaction" }
Transaction.__index = Transaction
M.Transaction = Transaction

local EMPTY = setmetatable({}, { __newindex = function() error("read-only", 2) end })

--- Wrap a C connection checked out of engine's pool (internal).
function M.new(engine, c)
  return setmetatable({
    _c = c, engine = engine, dialect = engine.dialect,
    dialect_name = engine.dialect.name, _paramstyle = engine.dialect.paramstyle,
    _echo = engine._echo, _tx = nil, _savepoints = 0,
  }, Connection)
end

local function check_open(self, level)
  local c = self._c
  if c == nil then
    errors.raise("ResourceClosedError", (level or 2) + 1, "This Connection is closed")
  end
  return c
end

local function log(self, sql, params)
  local echo = self._echo
  if type(echo) == "function" then
    echo(sql, params)
  else
    io_stderr:write("[athanor] ", sql, "\n")
    if params ~= nil then io_stderr:write("[athanor] ", errors.show_value(params), "\n") end
  end
end

--- Execute a statement: ath.text(...), or a statement built with the
-- expression language (ath.select, ath.insert, ...).
-- @param stmt the statement
-- @param params a table of parameter values, or an array of them (executemany)
-- @param opts { stream = true } to stream a large result. On PostgreSQL a
--   stream keeps the connection busy until it is read to the end or closed:
--   anything else run on the connection meanwhile raises InvalidRequestError
--   (a rollback ends the stream instead). SQLite streams interleave freely.
-- @return Result
-- @raise ArgumentError, DBAPIError kinds, ResourceClosedError,
--   InvalidRequestError (a PostgreSQL stream is open on this connection)
function Connection:execute(stmt, params, opts)
  check_open(self)
  local exec = type(stmt) == "table" and stmt._ath_execute
  if not exec then
    if type(stmt) == "string" then
      errors.raise("ArgumentError", 2,
        "Connection:execute() takes a statement object; wrap SQL text in ath.text(...) or use conn:exec_driver_sql()")
    end
    errors.raise("ArgumentError", 2, "Connection:execute() expects a statement, got %s", type(stmt))
  end
  return exec(stmt, self, params, opts)
end

--- Execute SQL in the driver's own placeholder style (`?` on SQLite, `$1` on
-- PostgreSQL) with an array of positional values, or an array of such arrays.
function Connection:exec_driver_sql(sql, params, opts)
  check_open(self)
  if type(sql) ~= "string" then
    errors.raise("ArgumentError", 2, "exec_driver_sql() expects a SQL string, got %s", type(sql))
  end
  if params ~= nil then
    if type(params) ~= "table" then
      errors.raise("ArgumentError", 2, "exec_driver_sql() parameters must be an array, got %s", type(params))
    end
    if text.is_many(params) then return self:_executemany_sql(sql, params, opts) end
  end
  return self:_execute_sql(sql, params, opts)
end

--- Low-level execution used by every statement kind.
-- @param sql final SQL text in this connection's placeholder style
-- @param values positional array (ath.null for NULL), or a name -> value
--   table when `names` gives the placeholder order
-- @param opts execution options ({ stream = true })
-- @param meta optional { processors =, inserted_primary_key =, autoinc_index = }
-- @param names optional array: placeholder i takes values[names[i]]
function Connection:_execute_sql(sql, values, opts, meta, names)
  local c = self._c or check_open(self, 2)
  if self._echo then log(self, sql, values) end
  local cur, rowcount, lastrowid = c:exec(sql, values, names, opts and opts.stream)
  return new_result(cur, rowcount, lastrowid, meta, self)
end

--- Low-level executemany: one prepared statement, every parameter set.
function Connection:_executemany_sql(sql, list, opts, meta, names)
  local c = self._c or check_open(self, 2)
  if self._echo then log(self, sql, list) end
  local _ = opts
  if c:in_transaction() then return new_result(nil, c:exec_many(sql, list, names), nil, meta) end
  -- outside a transaction the parameter sets succeed or fail together
  c:begin()
  local ok, rowcount = pcall(c.exec_many, c, sql, list, names)
  if not ok then
    pcall(c.rollback, c)
    error(rowcount, 0)
  end
  c:commit()
  return new_result(nil, rowcount, nil, meta)
end

--- Begin a transaction.
-- @return Transaction
-- @raise InvalidRequestError when one is already in progress
function Connection:begin()
  local c = check_open(self)
  if self._tx then
    errors.raise("InvalidRequestError", 2,
      "a transaction is already begun on this Connection; use begin_nested() for a SAVEPOINT")
  end
  c:begin(self.engine._isolation)
  local tx = setmetatable({ conn = self, is_active = true, nested = false }, Transaction)
  self._tx = tx
  self._stack = { tx }
  return tx
end

--- Begin a SAVEPOINT (starting the outer transaction first when none is open).
function Connection:begin_nested()
  local c = check_open(self)
  if not self._tx then self:begin() end
  self._savepoints = self._savepoints + 1
  local name = "sa_savepoint_" .. self._savepoints
  c:savepoint(name)
  local tx = setmetatable({ conn = self, is_active = true, nested = true, _name = name }, Transaction)
  local stack = self._stack
  stack[#stack + 1] = tx
  return tx
end

--- True while a transaction begun with begin() is open.
function Connection:in_transaction()
  local c = check_open(self)
  return self._tx ~= nil or c:in_transaction()
end

--- Commit the open transaction (if any).
function Connection:commit()
  check_open(self)
  if self._tx then self._tx:commit() end
end

--- Roll back the open transaction (if any).
function Connection:rollback()
  check_open(self)
  if self._tx then self._tx:rollback() end
end

-- Mark tx and every transaction above it in the stack inactive.
local function pop_to(conn, tx)
  local stack = conn._stack
  for i = #stack, 1, -1 do
    local t = stack[i]
    stack[i] = nil
    t.is_active = false
    if t == tx then break end
  end
  if #stack == 0 then conn._tx = nil; conn._stack = nil end
end

-- A rollback ends an open stream (PostgreSQL): its batched rows go too, so
-- reading it raises ResourceClosedError at once.
local function after_rollback(conn)
  drop_lost_batches(conn._reading)
end

--- Commit: COMMIT for the outer transaction, RELEASE SAVEPOINT for a nested one.
-- When the database refuses the commit, the transaction is rolled back and
-- becomes inactive before the error is raised; a commit refused before it
-- reached the database (InvalidRequestError) leaves the transaction open.
-- @raise OperationalError and the other DBAPIError kinds from the database
function Transaction:commit()
  if not self.is_active then
    errors.raise("InvalidRequestError", 2, "This transaction is inactive")
  end
  local conn = self.conn
  local c = check_open(conn)
  local ok, err
  if self.nested then
    ok, err = pcall(c.release_savepoint, c, self._name)
  else
    ok, err = pcall(c.commit, c)
  end
  if not ok then
    -- Refused before reaching the database (a stream still open): nothing
    -- happened, the transaction stays as it was.
    if not errors.is(err, "DBAPIError") then error(err, 0) end
    -- A COMMIT the database refused (SQLite's "database is locked") leaves
    -- its transaction open, and the next statement would silently join it.
    -- Roll it back so the Connection is clean and its writes are undone as
    -- a whole, then report why the commit failed.
    pcall(self.rollback, self)
    self.is_active = false
    error(err, 0)
  end
  pop_to(conn, self)
end

--- Roll back: ROLLBACK, or ROLLBACK TO SAVEPOINT for a nested one. A second
-- rollback is a no-op.
function Transaction:rollback()
  if not self.is_active then return end
  local conn = self.conn
  local c = conn._c
  if c == nil then self.is_active = false return end
  pop_to(conn, self)
  if self.nested then
    c:rollback_to_savepoint(self._name)
    after_rollback(conn)
    c:release_savepoint(self._name)
  else
    c:rollback()
    after_rollback(conn)
  end
end

--- `local tx <close> = conn:begin()`: commits when the block ends normally,
-- rolls back when it ends with an error (Lua 5.4).
function Transaction:__close(err)
  if not self.is_active then return end
  if err ~= nil then self:rollback() else self:commit() end
end

function Transaction:__tostring()
  return "Transaction(" .. (self.nested and "nested, " or "") .. (self.is_active and "active" or "inactive") .. ")"
end

-- After the C connection closed: results still being iterated whose rows it
-- cut off forget their batch, so their next read raises ResourceClosedError.
local function forget_results(self)
  local reading = self._reading
  if reading then
    self._reading = nil
    drop_lost_batches(reading)
  end
end

--- Return the connection to the pool (rolling back an open transaction).
-- Closing twice is a no-op. A Result of this connection with rows still
-- unread raises ResourceClosedError when read afterwards (rows it already
-- returned, and results read to the end, stay valid).
function Connection:close()
  local c = self._c
  if c == nil then return end
  local engine = self.engine
  if engine._listeners or engine.pool._listeners then
    M.fire_pool_event(engine, c:is_invalid() and "invalidate" or "checkin", self)
  end
  if self._stack then
    for i = #self._stack, 1, -1 do self._stack[i].is_active = false end
    self._tx, self._stack = nil, nil
  end
  self._c = nil
  c:close()
  forget_results(self)
end
Connection.__close = Connection.close

--- Close the underlying connection for good instead of pooling it.
function Connection:invalidate()
  local c = self._c
  if c == nil then return end
  local engine = self.engine
  if engine._listeners or engine.pool._listeners then M.fire_pool_event(engine, "invalidate", self) end
  self._tx, self._stack = nil, nil
  self._c = nil
  c:invalidate()
  forget_results(self)
end

--- Ask the server to stop the statement running on this connection
-- (PostgreSQL: PQcancel; SQLite: sqlite3_interrupt). Meant for another
-- thread or coroutine scheduler; the running statement raises
-- OperationalError (SQLSTATE 57014 on PostgreSQL).
function Connection:cancel()
  check_open(self):cancel()
end

--- True once closed.
function Connection:closed() return self._c == nil end

--- True when the driver reported the connection dead.
function Connection:invalidated()
  local c = self._c
  return c ~= nil and c:is_invalid()
end

--- Statistics of the underlying connection ({ prepares = n }).
function Connection:_stats() return check_open(self):stats() end

function Connection:__tostring()
  return "Connection(" .. (self._c and tostring(self.engine.url) or "closed") .. ")"
end

--- Run fn(conn, ...) inside a transaction on this connection: commit on
-- return, roll back and re-raise on error (used by Engine:begin).
function M.run_in_transaction(conn, fn, ...)
  local tx = conn:begin()
  local res = pack(pcall(fn, conn, ...))
  if res[1] then
    if tx.is_active then tx:commit() end
    return unpack(res, 2, res.n)
  end
  if tx.is_active then pcall(tx.rollback, tx) end
  error(res[2], 0)
end

M.EMPTY = EMPTY
return M
