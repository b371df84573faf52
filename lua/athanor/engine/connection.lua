--- Connection and Transaction (API.md §1).
-- A Connection is one checked-out database connection. Outside an explicit
-- transaction every execute commits on its own (the database's native
-- autocommit); `begin()` starts a transaction, `begin_nested()` a SAVEPOINT.
-- Closing returns the connection to the pool, which rolls back whatever
-- transaction is still open.
local errors = require("athanor.errors")
local compat = require("athanor.compat")
local result = require("athanor.engine.result")
local event = require("athanor.event")
local NULL = require("athanor.core").null   -- ath.null

local setmetatable, getmetatable, type, pcall, error, tostring, ipairs, rawget =
  setmetatable, getmetatable, type, pcall, error, tostring, ipairs, rawget
local pack, unpack = compat.pack, compat.unpack
local new_result = result.new
local RESULT = result.Result
local drop_lost_batches = result.drop_lost_batches
local io_stderr = io.stderr
local dispatch = event.dispatch
local is_many = require("athanor.params").is_many

local M = {}

local Connection = { __name = "athanor.Connection" }
Connection.__index = Connection
M.Connection = Connection

local Transaction = { __name = "athanor.Transaction" }
Transaction.__index = Transaction
M.Transaction = Transaction

local EMPTY = setmetatable({}, { __newindex = function() error("read-only", 2) end })

--- Wrap a C connection checked out of engine's pool (internal).
-- serial names the database connection in pool events.
function M.new(engine, c, serial)
  return setmetatable({
    _c = c, engine = engine, dialect = engine.dialect,
    dialect_name = engine.dialect.name, _paramstyle = engine.dialect.paramstyle,
    _echo = engine._echo, _tx = nil, _savepoints = 0, _serial = serial, _nulls = engine._nulls,
    _exec = c.exec,                         -- c:exec without a metatable lookup per execution
  }, Connection)
end

------------------------------------------------------------------ events
-- Every path below is taken only when the engine has listeners
-- (engine._listeners, false while there are none): without any, execution
-- costs one field read.

--- Run the engine's handle_error listeners for err (docs/events.md) and
-- return the error to raise. As in SQLAlchemy: a listener that returns a
-- value chains it (the next sees it as ctx.chained_exception, and the last
-- one is raised); a listener that raises an error object stops the chain
-- and that error is raised, with the original as its `cause`. A listener
-- that fails with a plain value (a string: a bug in the listener) does not
-- hide the original: the original is raised, carrying `listener_error`.
-- @param conn the Connection, or nil when the engine could not connect
function M.handle_error(engine, conn, err, statement, parameters, context)
  local all = engine._listeners
  local list = all and all.handle_error
  if not list then return err end
  local is_error_object = type(err) == "table" and getmetatable(err) == errors.Error
  local ctx = {
    connection = conn, engine = engine, cursor = nil,
    statement = statement, parameters = parameters, execution_context = context,
    original_exception = err, sqlalchemy_exception = is_error_object and err or nil,
    chained_exception = nil,
    is_disconnect = (is_error_object and err.connection_invalidated) == true,
    invalidate_pool_on_disconnect = true,
  }
  local final = err
  for _, fn in ipairs(list) do
    local ok, ret = pcall(fn, ctx)
    if not ok then
      if type(ret) == "table" then
        if ret ~= err and rawget(ret, "cause") == nil then pcall(function() ret.cause = err end) end
        final = ret
      elseif type(final) == "table" then
        pcall(function() final.listener_error = ret end)
      end
      break
    end
    if ret ~= nil then ctx.chained_exception = ret; final = ret end
  end
  return final
end

-- Raise err after handle_error, once per error: an execute that wraps
-- another (execute -> _execute_sql) passes on what the inner one raised.
local function raise_handled(conn, err, statement, parameters, context)
  if conn._handled ~= nil and conn._handled == err then
    conn._handled = nil
    error(err, 0)
  end
  local final = M.handle_error(conn.engine, conn, err, statement, parameters, context)
  conn._handled = final
  error(final, 0)
end

-- The values as the driver receives them: positional, in placeholder order.
local function positional(values, names)
  if not names or values == nil then return values end
  local out = {}
  for i = 1, #names do out[i] = values[names[i]] end
  return out
end

-- The context argument of the cursor events and handle_error.
local function new_context(conn, sql, params, many, opts)
  return { connection = conn, engine = conn.engine, statement = sql, parameters = params,
           executemany = many, execution_options = opts or EMPTY, invoked_statement = conn._invoked }
end

-- conn:execute with listeners: before_execute, the execution, after_execute;
-- handle_error for what fails before the SQL was sent.
local function execute_with_events(conn, exec, stmt, params, opts)
  local engine = conn.engine
  local multiparams, single = EMPTY, params or EMPTY
  if type(params) == "table" and is_many(params) then multiparams, single = params, EMPTY end
  local options = opts or EMPTY
  dispatch(engine, "before_execute", conn, stmt, multiparams, single, options)
  local outer = conn._invoked
  conn._invoked = stmt
  conn._handled = nil
  local ok, res = pcall(exec, stmt, conn, params, opts)
  conn._invoked = outer
  if not ok then raise_handled(conn, res, nil, nil, nil) end
  conn._handled = nil
  dispatch(engine, "after_execute", conn, stmt, multiparams, single, options, res)
  return res
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
-- expression language (ath.select, ath.insert, ...), or an object standing
-- for one through __clause_element__ (docs/coercion.md, StatementRole).
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
  if not self._c then check_open(self) end   -- (no call on the hot path; `not`: an == is a VM call on 5.4)
  local exec = type(stmt) == "table" and stmt._ath_execute
  if not exec then                          -- an object standing for a statement, or a mistake
    stmt = require("athanor.sql.coercions").to_executable(stmt, "Connection:execute()", 2)
    exec = stmt._ath_execute
  end
  if self.engine._listeners then return execute_with_events(self, exec, stmt, params, opts) end
  return exec(stmt, self, params, opts)
end

--- Execute SQL in the driver's own placeholder style (`?` on SQLite, `$1` on
-- PostgreSQL) with an array of positional values, or an array of such arrays.
function Connection:exec_driver_sql(sql, params, opts)
  check_open(self)
  if type(sql) ~= "string" then
    errors.raise("ArgumentError", 2, "exec_driver_sql() expects a SQL string, got %s", type(sql))
  end
  if self.engine._listeners then self._invoked = nil end   -- no statement object here
  if params ~= nil then
    if type(params) ~= "table" then
      errors.raise("ArgumentError", 2, "exec_driver_sql() parameters must be an array, got %s", type(params))
    end
    if is_many(params) then return self:_executemany_sql(sql, params, opts) end
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
  local stream, nulls = nil, self._nulls
  if opts then
    stream = opts.stream
    local o = opts.nulls                    -- per execution: ath.null, or false to turn it off
    if o ~= nil then
      if o ~= NULL and o ~= false then
        errors.raise("ArgumentError", 3, "execution option 'nulls' must be ath.null (or false), got %s", type(o))
      end
      nulls = o == NULL
    end
  end
  local engine = self.engine
  if engine._listeners then
    local params = positional(values, names)
    local context = new_context(self, sql, params, false, opts)
    dispatch(engine, "before_cursor_execute", self, nil, sql, params, context, false)
    self._handled = nil
    local ok, cur, rowcount, lastrowid = pcall(c.exec, c, sql, values, names, stream, nulls)
    if not ok then raise_handled(self, cur, sql, params, context) end
    dispatch(engine, "after_cursor_execute", self, nil, sql, params, context, false)
    return new_result(cur, rowcount, lastrowid, meta, self)
  end
  local cur, rowcount, lastrowid = self._exec(c, sql, values, names, stream, nulls)
  -- result.new(cur, nil, nil, nil, self) inlined (its four slots): the
  -- call cost the text point select ~2% (callgrind, Lua 5.4)
  if cur and not meta then return setmetatable({ cur, nil, self, false }, RESULT) end
  return new_result(cur, rowcount, lastrowid, meta, self)
end

local executemany

--- Low-level executemany: one prepared statement, every parameter set.
function Connection:_executemany_sql(sql, list, opts, meta, names)
  local c = self._c or check_open(self, 2)
  if self._echo then log(self, sql, list) end
  local engine = self.engine
  if engine._listeners then
    local rows = list
    if names then
      rows = {}
      for i, row in ipairs(list) do rows[i] = positional(row, names) end
    end
    local context = new_context(self, sql, rows, true, opts)
    dispatch(engine, "before_cursor_execute", self, nil, sql, rows, context, true)
    self._handled = nil
    local ok, res = pcall(executemany, c, sql, list, meta, names)
    if not ok then raise_handled(self, res, sql, rows, context) end
    dispatch(engine, "after_cursor_execute", self, nil, sql, rows, context, true)
    return res
  end
  return executemany(c, sql, list, meta, names)
end

-- The executemany itself. The BEGIN/COMMIT it may issue are its own, not
-- the user's: no begin/commit events, no before_cursor_execute.
function executemany(c, sql, list, meta, names)
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
  local engine = self.engine
  if engine._listeners then
    dispatch(engine, "begin", self)
    local ok, err = pcall(c.begin, c, engine._isolation)
    if not ok then error(M.handle_error(engine, self, err), 0) end
  else
    c:begin(engine._isolation)
  end
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
  local engine = conn.engine
  local ok, err
  if self.nested then
    ok, err = pcall(c.release_savepoint, c, self._name)
  else
    if engine._listeners then dispatch(engine, "commit", conn) end
    ok, err = pcall(c.commit, c)
  end
  if not ok then
    local raised = engine._listeners and M.handle_error(engine, conn, err) or err
    -- Refused before reaching the database (a stream still open): nothing
    -- happened, the transaction stays as it was.
    if not errors.is(err, "DBAPIError") then error(raised, 0) end
    -- A COMMIT the database refused (SQLite's "database is locked") leaves
    -- its transaction open, and the next statement would silently join it.
    -- Roll it back so the Connection is clean and its writes are undone as
    -- a whole, then report why the commit failed.
    pcall(self.rollback, self)
    self.is_active = false
    error(raised, 0)
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
    local engine = conn.engine
    if engine._listeners then
      dispatch(engine, "rollback", conn)
      local ok, err = pcall(c.rollback, c)
      if not ok then error(M.handle_error(engine, conn, err), 0) end
    else
      c:rollback()
    end
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
    -- the transaction still open ends with the pool's rollback, which
    -- SQLAlchemy reports as the Connection's rollback
    if self._tx and self._tx.is_active and not c:is_invalid() then dispatch(engine, "rollback", self) end
    if c:is_invalid() then
      M.fire_pool_event(engine, "invalidate", self, self._serial, nil)
    else
      M.fire_pool_event(engine, "checkin", self, self._serial)
    end
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
  if engine._listeners or engine.pool._listeners then
    M.fire_pool_event(engine, "invalidate", self, self._serial, nil)
  end
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
-- return, roll back and re-raise on error.
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

--- Run fn(conn) on a connection this call owns, in a transaction when
-- `transaction` is true, and close the connection however fn ends.
-- Returns what fn returns (used by Engine:connect(fn) and with_connection).
function M.run_and_close(conn, transaction, fn)
  local res
  if transaction then res = pack(pcall(M.run_in_transaction, conn, fn))
  else res = pack(pcall(fn, conn)) end
  conn:close()
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

--- The one "Engine or Connection" runner: fn(conn) on bind's connection.
-- A Connection is used as it is; an Engine lends one of its own (closed
-- afterwards). With `transaction` true, fn runs in a transaction: an open
-- one on the Connection is joined, else one is begun, committed when fn
-- returns and rolled back (the error re-raised) when it raises.
-- Used by Engine:begin(fn), create_all/drop_all and the Inspector.
-- @param bind an Engine or a Connection (callers check which they accept)
function M.with_connection(bind, transaction, fn)
  if getmetatable(bind) == Connection then
    if not transaction or bind:in_transaction() then return fn(bind) end
    return M.run_in_transaction(bind, fn)
  end
  return M.run_and_close(bind:connect(), transaction, fn)
end

M.EMPTY = EMPTY
return M
