--- The PostgreSQL driver on cosockets (docs/cosocket-driver.md).
-- The wire protocol is the C codec core.pgwire (csrc/driver/pgw.c): it builds
-- and reads the messages, binds parameters and decodes values exactly as the
-- libpq driver does. This file does the I/O over a socket: nginx's
-- `ngx.socket.tcp` inside OpenResty (never blocking the worker), LuaSocket's
-- blocking `socket.tcp` elsewhere. A connection object here has the method set
-- of the C Connection userdata (csrc/lua/l_conn.c) and its cursors that of the
-- C Cursor, so lua/athanor/engine/connection.lua and result.lua run on it
-- unchanged.
--
-- Statements are named server-side prepared statements ("ath_w<N>"), one per
-- SQL text and set of parameter types (the types come from the Lua values, as
-- in the libpq driver), kept in a per-connection LRU of statement_cache_size
-- texts. A cached statement runs in one round trip: Bind, Execute, Sync.
-- executemany pipelines Bind/Execute pairs and sends one Sync per 1000 rows.
local core = require("athanor.core")
local errors = require("athanor.errors")
local compat = require("athanor.compat")

local pw = core.pgwire
local process_id = core.process_id
local setmetatable, type, tostring, pairs, ipairs, error, pcall, rawget, tonumber =
  setmetatable, type, tostring, pairs, ipairs, error, pcall, rawget, tonumber
local concat = table.concat
local format, sub, floor = string.format, string.sub, math.floor
local header = pw.header
local collectgarbage = collectgarbage

local M = {}

local SYNC, TERMINATE = pw.sync(), pw.terminate()
local BATCH = 1000                      -- executemany: rows per Sync

-- The JSON decoder rows use (the one athanor registers with the C core).
local json_decode = compat.cjson and compat.cjson.decode or nil

------------------------------------------------------------------ phases

-- nginx phases where cosockets work (lua-nginx-module's documentation of
-- ngx.socket.tcp's context).
local COSOCKET_PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}

local function in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.socket) == "table" and type(ngx.get_phase) == "function"
end
M.in_nginx = in_nginx

--- Raise InvalidRequestError when the current nginx phase has no cosockets.
function M.check_phase()
  local phase = ngx.get_phase()           -- luacheck: ignore 113 (ngx is nginx's global)
  if not COSOCKET_PHASES[phase] then
    errors.raise("InvalidRequestError", 3,
      "the cosocket driver (postgresql+cosocket://) cannot run in nginx's %s phase: cosockets are "
        .. "unavailable there (use it from rewrite/access/content handlers or ngx.timer.at, or a "
        .. "postgresql:// (libpq) engine in this phase); see docs/cosocket-driver.md", phase)
  end
end

------------------------------------------------------------------ sockets

-- A socket with send(data), receive(n), close(), and for nginx keepalive.
-- Errors come back as nil, message (the callers raise).
local function open_socket(p, pool_name)
  local host, port = p.host or "localhost", p.port or 5432
  if in_nginx() then
    M.check_phase()
    local sock = ngx.socket.tcp()           -- luacheck: ignore 113
    -- timeout = 0: no limit of ours on a query (nginx wants one: a day)
    local io_ms = p.timeout > 0 and p.timeout * 1000 or 86400000
    sock:settimeouts(p.connect_timeout * 1000, io_ms, io_ms)
    local ok, err
    if host:sub(1, 1) == "/" then
      ok, err = sock:connect("unix:" .. host .. "/.s.PGSQL." .. port, { pool = pool_name })
    else
      ok, err = sock:connect(host, port, { pool = pool_name })
    end
    if not ok then return nil, err end
    return sock, nil, sock:getreusedtimes() > 0
  end
  local socket = require("socket")
  local sock, err
  if host:sub(1, 1) == "/" then
    local unix = require("socket.unix")
    sock = (type(unix) == "table" and unix.stream or unix)()
    sock:settimeout(p.connect_timeout)
    local ok
    ok, err = sock:connect(host .. "/.s.PGSQL." .. port)
    if not ok then sock:close() return nil, err end
  else
    sock, err = socket.tcp()
    if not sock then return nil, err end
    sock:settimeout(p.connect_timeout)
    local ok
    ok, err = sock:connect(host, port)
    if not ok then sock:close() return nil, err end
    sock:setoption("tcp-nodelay", true)
  end
  sock:settimeout(p.timeout > 0 and p.timeout or nil)
  return sock, nil, false
end

------------------------------------------------------------------ options

local KNOWN_OPTIONS = {
  sslmode = true, connect_timeout = true, application_name = true, options = true, timeout = true,
  keepalive_timeout = true, keepalive_pool = true,
}
local SSLMODES = { disable = true, allow = true, prefer = true, require = true, ["verify-ca"] = true,
                   ["verify-full"] = true }

--- Connection parameters from a parsed URL (core.pgwire.parse_url) and the
-- engine's connect_args. Raises ArgumentError for an unknown option.
function M.params(u, connect_args)
  local p = {
    host = u.host, port = u.port, user = u.username, password = u.password,
    database = u.database, sslmode = "disable", connect_timeout = 30, timeout = 0,
    keepalive_timeout = 60, application_name = nil, options = nil,
  }
  local function set(k, v, where)
    if not KNOWN_OPTIONS[k] then
      errors.raise("ArgumentError", 4, "Unknown PostgreSQL connection option '%s' %s", k, where)
    end
    if k == "sslmode" and not SSLMODES[v] then
      errors.raise("ArgumentError", 4, "Invalid sslmode '%s' %s (disable, allow, prefer, require, verify-ca, "
        .. "verify-full)", tostring(v), where)
    end
    if k == "connect_timeout" or k == "timeout" or k == "keepalive_timeout" or k == "keepalive_pool" then
      local n = tonumber(v)
      if n == nil or n < 0 then
        errors.raise("ArgumentError", 4, "PostgreSQL connection option '%s' %s must be a number of seconds, got '%s'",
          k, where, tostring(v))
      end
      v = n
    end
    p[k] = v
  end
  for _, kv in ipairs(u.params or {}) do set(kv[1], kv[2], "in the URL") end
  for k, v in pairs(connect_args or {}) do set(k, tostring(v), "in connect_args") end
  if p.connect_timeout == 0 then p.connect_timeout = 3600 end
  p.user = p.user or os.getenv("PGUSER") or os.getenv("USER") or "postgres"
  p.database = p.database or p.user
  return p
end

------------------------------------------------------------------ errors

local Conn = { __name = "athanor.PgwireConnection" }
Conn.__index = Conn
M.Conn = Conn

local function db_error(kind, message, fields)
  fields = fields or {}
  fields.orig = fields.orig or message
  return errors.new(kind, message, fields)
end

-- The connection is gone: close the socket, mark it invalid, raise.
function Conn:_lost(why, sql, params)
  self._invalid = true
  self._dead = true
  if self._sock then pcall(self._sock.close, self._sock) self._sock = nil end
  if self._on_disconnect then self._on_disconnect(self) end
  local msg = "server closed the connection unexpectedly (" .. tostring(why) .. ")"
  error(db_error("OperationalError", msg, { sql = sql, params = params, connection_invalidated = true }), 0)
end

-- An ErrorResponse body as an error object (returned, to raise once the
-- server is ready again). One that ends the session (FATAL, 08xxx, 57P0x)
-- is raised at once: the server closes the socket after it.
local function server_error(self, body, sql, params)
  local kind, message, code, constraint, disconnect = pw.error("E", body)
  local err = db_error(kind, message, { sql = sql, params = params, code = code, constraint = constraint,
                                        connection_invalidated = disconnect or nil })
  if disconnect then
    self._invalid = true
    self._dead = true
    self._streaming = false
    if self._sock then pcall(self._sock.close, self._sock) self._sock = nil end
    if self._on_disconnect then self._on_disconnect(self) end
    error(err, 0)
  end
  return err
end

------------------------------------------------------------------ I/O

function Conn:_send(data, sql, params)
  local sock = self._sock or self:_socket(sql, params)
  local ok, err = sock:send(data)
  if not ok then self:_lost(err, sql, params) end
end

local CHUNK = 65536                       -- bytes asked of the socket at once
local luasocket                           -- require("socket"), outside nginx

-- Some bytes from the socket (at least one): whatever it has, up to CHUNK,
-- so one receive serves many messages.
function Conn:_recv(sql, params)
  local sock = self._sock
  if sock == nil then self:_lost("not connected", sql, params) end
  if self._ngx then
    local data, err = sock:receiveany(CHUNK)
    if not data then self:_lost(err, sql, params) end
    return data
  end
  local wait = self._p.timeout > 0 and self._p.timeout or nil
  while true do
    sock:settimeout(0)
    local data, err, partial = sock:receive(CHUNK)
    sock:settimeout(wait)
    data = data or partial
    if data and #data > 0 then return data end
    if err ~= "timeout" then self:_lost(err, sql, params) end
    luasocket = luasocket or require("socket")
    local ready = luasocket.select({ sock }, nil, wait)
    if #ready == 0 then self:_lost("timeout", sql, params) end
  end
end

-- Make at least need unread bytes buffered: the buffer and where they start.
function Conn:_fill(need, sql, params)
  local buf, pos = self._rbuf, self._rpos
  local have = #buf - pos + 1
  local parts, total = {}, have
  if have > 0 then parts[1] = buf:sub(pos) end
  while total < need do
    local data = self:_recv(sql, params)
    parts[#parts + 1] = data
    total = total + #data
  end
  buf = concat(parts)
  self._rbuf, self._rpos = buf, 1
  -- Every byte received becomes a Lua string, garbage once its rows are
  -- read, and the rows decoded from it cost a few times its size: a
  -- collector step as if four times the bytes had been allocated keeps a
  -- long stream's heap flat (without it a 1M-row stream grew the heap more
  -- than libpq's). Small reads (one short result) are left to the pacing.
  if total >= 8192 then collectgarbage("step", floor(total / 256)) end
  return buf, 1
end

-- The next message: type, body; for a DataRow type, nil, and the buffer,
-- position and length of its body (decoded in place by codec:row).
-- NoticeResponse, ParameterStatus and NotificationResponse are taken care of
-- here.
function Conn:_read(sql, params)
  while true do
    local buf, pos = self._rbuf, self._rpos
    if #buf - pos < 4 then buf, pos = self:_fill(5, sql, params) end
    local ok, t, n = pcall(header, buf, pos)
    if not ok then self:_lost(type(t) == "table" and t.message or t, sql, params) end
    if #buf - pos - 4 < n then buf, pos = self:_fill(5 + n, sql, params) end
    local start = pos + 5
    self._rpos = start + n
    if t == "D" then return t, nil, buf, start, n end
    local body = n > 0 and sub(buf, start, start + n - 1) or ""
    if t == "S" then
      local name, value = pw.parameter_status(t, body)
      self._server[name] = value
    elseif t ~= "N" and t ~= "A" then
      return t, body
    end
  end
end

local COPY_IN = "COPY FROM STDIN is not supported: athanor sends no COPY data "
  .. "(use INSERT ... VALUES / executemany, or SELECT)"
local COPY_OUT = "COPY TO STDOUT is not supported: athanor reads no COPY data "
  .. "(use INSERT ... VALUES / executemany, or SELECT)"

-- The server started a COPY (message t, 'G' in or 'H' out): end it as the
-- libpq driver does (CopyFail; data received is dropped) and return the
-- ProgrammingError to raise once the server is ready again.
function Conn:_refuse_copy(t, sql, params)
  if t == "G" then
    -- the server ignores Sync during COPY IN: the CopyFail needs its own
    self:_send(pw.copy_fail("athanor sends no COPY data") .. SYNC, sql, params)
  end
  return db_error("ProgrammingError", t == "G" and COPY_IN or COPY_OUT, { sql = sql, params = params })
end

-- Read to ReadyForQuery; the first error met (as an object) or nil.
function Conn:_until_ready(sql, params, first_err)
  while true do
    local t, body = self:_read(sql, params)
    if t == "Z" then
      self._status = pw.ready(t, body)
      return first_err
    elseif t == "E" then
      first_err = first_err or server_error(self, body, sql, params)
    elseif t == "G" or t == "H" then
      local refused = self:_refuse_copy(t, sql, params)
      first_err = first_err or refused
    end
  end
end

------------------------------------------------------------------ connecting

local function auth_error(msg)
  return db_error("OperationalError", msg)
end

-- Startup and authentication over a new socket.
function Conn:_startup()
  local p = self._p
  if p.sslmode ~= "disable" and p.sslmode ~= "allow" then
    local ok, err = self._sock:send(pw.ssl_request())
    if not ok then return nil, err end
    local answer
    answer, err = self._sock:receive(1)
    if not answer then return nil, err end
    if answer == "S" then
      if not in_nginx() then
        return nil, "TLS (sslmode=" .. p.sslmode .. ") needs nginx's cosockets: LuaSocket has no TLS here"
      end
      local verify = p.sslmode == "verify-ca" or p.sslmode == "verify-full"
      local sess
      sess, err = self._sock:sslhandshake(nil, p.host, verify)
      if not sess then return nil, "TLS handshake failed: " .. tostring(err) end
    elseif p.sslmode ~= "prefer" then
      return nil, "the server does not accept TLS, and sslmode=" .. p.sslmode .. " requires it"
    end
  end
  local kv = { "user", p.user, "database", p.database, "client_encoding", "UTF8", "DateStyle", "ISO" }
  if p.application_name then kv[#kv + 1] = "application_name"; kv[#kv + 1] = p.application_name end
  if p.options then kv[#kv + 1] = "options"; kv[#kv + 1] = p.options end
  self:_send(pw.startup(kv))
  local scram
  while true do
    local t, body = self:_read()
    if t == "R" then
      local code, data = pw.auth(t, body)
      if code == 0 then                                        -- AuthenticationOk
        if scram then return nil, "the server skipped the SCRAM verification" end
      elseif code == 3 or code == 5 or code == 10 then
        if p.password == nil then
          error(auth_error("fe_sendauth: no password supplied (the server asks for one: put it in the URL)"), 0)
        end
        if code == 3 then
          self:_send(pw.password(p.password))
        elseif code == 5 then
          self:_send(pw.md5_password(p.user, p.password, data))
        else
          if not pw.sasl_offers(data, "SCRAM-SHA-256") then
            error(auth_error("the server offers no SASL mechanism athanor knows (SCRAM-SHA-256)"), 0)
          end
          local first
          scram, first = pw.scram(p.password)
          self:_send(pw.sasl_initial("SCRAM-SHA-256", first))
        end
      elseif code == 11 and scram then
        self:_send(pw.sasl_response(scram:final(data)))
      elseif code == 12 and scram then
        scram:verify(data)
        scram = nil
      else
        error(auth_error(format("authentication method %d requested by the server is not supported "
          .. "(cleartext, MD5 and SCRAM-SHA-256 are)", code)), 0)
      end
    elseif t == "K" then
      self._pid, self._key = pw.backend_key(t, body)
    elseif t == "Z" then
      self._status = pw.ready(t, body)
      return true
    elseif t == "E" then
      local err = server_error(self, body)
      err.connection_invalidated = nil
      error(err, 0)
    end
  end
end

local serial = 0

--- Open a connection (raises OperationalError when it cannot).
function M.connect(p, cache_size)
  serial = serial + 1
  local self = setmetatable({
    _p = p, _codec = pw.codec(), _server = {}, _status = "I",
    _cache = {}, _ncache = 0, _cache_size = cache_size or 128, _tick = 0, _counter = 0,
    _closing = {}, _cursors = setmetatable({}, { __mode = "k" }), _stream_ref = setmetatable({}, { __mode = "v" }),
    _prepares = 0, _checkouts = 0, _id = serial, _rbuf = "", _rpos = 1, _ngx = in_nginx(),
    _owner = process_id(),                     -- fork safety: see Conn:foreign()
    _pool_name = format("athanor:%s:%s:%s:%s:%d", tostring(p.host), tostring(p.port), p.user, p.database, serial),
  }, Conn)
  self:_connect_socket()
  return self
end

-- A fresh server connection: socket, startup, authentication.
function Conn:_connect_socket()
  local p = self._p
  local sock, err = open_socket(p, self._pool_name)
  if not sock then
    error(db_error("OperationalError", format("connection to server at \"%s\", port %d failed: %s",
      tostring(p.host or "localhost"), p.port or 5432, tostring(err))), 0)
  end
  self._sock = sock
  self._rbuf, self._rpos = "", 1
  local ok, res, why = pcall(self._startup, self)
  if not ok or not res then
    pcall(sock.close, sock)
    self._sock = nil
    if not ok then
      if type(res) == "table" then res.connection_invalidated = nil end
      error(res, 0)
    end
    error(db_error("OperationalError", format("connection to server at \"%s\", port %d failed: %s",
      tostring(p.host or "localhost"), p.port or 5432, tostring(why))), 0)
  end
end

-- The socket, in nginx taken back from the keepalive pool it was parked in
-- at checkin (a cosocket belongs to the request that made it). When nginx
-- closed it meanwhile, a new server connection starts afresh.
function Conn:_socket(sql, params)
  if self._dead or not self._parked then self:_lost("not connected", sql, params) end
  self._parked = false
  local sock, err, reused = open_socket(self._p, self._pool_name)
  if not sock then self:_lost(err, sql, params) end
  if reused then self._sock = sock self._rbuf, self._rpos = "", 1 return sock end
  pcall(sock.close, sock)
  -- the parked connection is gone: its statements went with it
  self._cache, self._ncache, self._closing = {}, 0, {}
  self:_connect_socket()
  return self._sock
end

--- nginx: park the idle socket in the cosocket keepalive pool (per worker)
-- so the next request can take it back (Conn:_socket). Outside nginx, a no-op.
function Conn:park()
  if not in_nginx() or self._sock == nil or self._dead or self._status ~= "I" or self._streaming then return end
  local ok = self._sock:setkeepalive(self._p.keepalive_timeout * 1000, 1)
  self._sock = nil
  if ok then self._parked = true else self._dead = true self._invalid = true end
end

--- True when this connection was opened by another process that this one
-- was forked from: its socket is that process's session, never to be used
-- here (not even to say goodbye).
function Conn:foreign() return self._owner ~= process_id() end

--- Fork safety: forget the socket without a word. Closing our copy of the
-- descriptor (LuaSocket's close is close(2), never shutdown(2)) leaves the
-- other process's session as it is; no Terminate is sent.
function Conn:disown()
  local sock = self._sock
  self._sock, self._dead, self._invalid, self._parked = nil, true, true, false
  self._cache, self._ncache, self._closing = {}, 0, {}
  if sock and not self._ngx then pcall(sock.close, sock) end
  if self._codec then self._codec:close() self._codec = nil end
end

--- Close the server connection (Terminate), whatever state it is in; one
-- inherited through fork() is only disowned.
function Conn:close()
  if self:foreign() then return self:disown() end
  self:_detach_all(1)
  if self._parked and not self._dead and in_nginx() then
    pcall(self._socket, self)              -- take it back to say goodbye
  end
  local sock = self._sock
  self._sock = nil
  self._dead = true
  if sock then
    pcall(sock.send, sock, TERMINATE)
    pcall(sock.close, sock)
  end
  if self._codec then self._codec:close() end
end

------------------------------------------------------------------ statements

-- The row metatable of a result with these column names, as l_conn.c's
-- push_meta makes it: the row class's fields, __fields = names, and an
-- __index giving methods by name and values by position.
local row_class
local function row_meta(names)
  row_class = row_class or require("athanor.engine.result").row_class
  local setkeys, seen = {}, {}
  for i, name in ipairs(names) do
    if seen[name] then setkeys[i] = false else setkeys[i] = name; seen[name] = true end
  end
  local mt = {}
  for k, v in pairs(row_class) do mt[k] = v end
  local methods = row_class.__index or {}
  local ncols = #names
  mt.__index = function(row, k)
    if type(k) == "number" then
      if k >= 1 and k <= ncols and k == math.floor(k) then
        local key = setkeys[k]
        if type(key) == "string" then return rawget(row, key) end
      end
      return nil
    end
    return methods[k]
  end
  mt.__fields = names
  return setkeys, mt
end

-- The cache entry of sql: { nparams, variants = { [typekey] = v }, names,
-- setkeys, rowmt, procs }. New texts count as prepares (conn:stats()).
function Conn:_entry(sql)
  local e = self._cache[sql]
  self._tick = self._tick + 1
  if e then e.tick = self._tick return e end
  local nparams = pw.check_statement(sql)
  e = { nparams = nparams, variants = {}, tick = self._tick, sql = sql }
  self._prepares = self._prepares + 1
  self._cache[sql] = e
  self._ncache = self._ncache + 1
  if self._ncache > self._cache_size then self:_evict(e) end
  return e
end

-- Forget the least recently used text (not keep); its server statements are
-- closed with the next message sent.
function Conn:_evict(keep)
  local lru
  for _, e in pairs(self._cache) do
    if e ~= keep and (lru == nil or e.tick < lru.tick) then lru = e end
  end
  if lru == nil then return end
  self._cache[lru.sql] = nil
  self._ncache = self._ncache - 1
  for _, v in pairs(lru.variants) do self._closing[#self._closing + 1] = pw.close_statement(v.name) end
end

-- Close messages waiting to go with the next Sync.
function Conn:_take_closing()
  local c = self._closing
  if #c == 0 then return "" end
  self._closing = {}
  return concat(c)
end

-- Parse and describe the variant of entry e for typekey; one round trip.
function Conn:_prepare(e, typekey, sql, params)
  self._counter = self._counter + 1
  local name = "ath_w" .. self._counter
  self:_send(self:_take_closing() .. pw.parse(name, sql, typekey) .. SYNC, sql, params)
  local v = { name = name, ptypes = "", ncols = 0 }
  local err
  while true do
    local t, body = self:_read(sql, params)
    if t == "t" then
      v.ptypes = pw.parameter_description(t, body)
    elseif t == "T" then
      v.names, v.oids = pw.row_description(t, body)
      v.ncols = #v.names
    elseif t == "E" then
      err = err or server_error(self, body, sql, params)
    elseif t == "Z" then
      self._status = pw.ready(t, body)
      break
    end
  end
  if err then error(err, 0) end
  if #v.ptypes / 4 ~= e.nparams then
    self._closing[#self._closing + 1] = pw.close_statement(name)
    error(db_error("ProgrammingError", format("statement takes %d parameters, but its text shows $%d as the "
      .. "highest placeholder", #v.ptypes / 4, e.nparams), { sql = sql, params = params }), 0)
  end
  if v.ncols > 0 and e.names == nil then
    e.names = v.names
    e.setkeys, e.rowmt = row_meta(v.names)
  end
  e.variants[typekey] = v
  return v
end

------------------------------------------------------------------ cursors

local Cursor = { __name = "athanor.PgwireCursor" }
Cursor.__index = Cursor
M.Cursor = Cursor

local DETACH_REASON = {
  "This result object is closed: its Connection was closed before every row was read "
    .. "(read the rows, e.g. result:all(), before closing the Connection)",
  "This result object is closed: its Connection rolled back while the stream was open "
    .. "(read a stream to the end before ending its transaction)",
}

local function check_closed(cu)
  if cu._closed then errors.raise("InvalidRequestError", 3, "This result object is closed.") end
end

-- Read the stream's next row (its place in the receive buffer); at the end record the
-- rowcount and free the connection.
local function stream_next(cu)
  local conn = cu._conn
  while true do
    local t, body, rb, rp, rl = conn:_read(cu._sql)
    if t == "D" then
      cu._rb[1], cu._rp[1], cu._rl[1] = rb, rp, rl
      cu._n = 1; cu._i = 1
      return
    elseif t == "C" then
      cu._rowcount_pending = pw.command_complete(t, body)
    elseif t == "E" or t == "Z" then
      local err
      if t == "Z" then conn._status = pw.ready(t, body)
      else err = conn:_until_ready(cu._sql, nil, server_error(conn, body, cu._sql)) end
      cu._n = 0; cu._i = 1
      cu._done = true
      conn._streaming = false
      conn._stream_ref[1] = nil
      if err then
        cu._conn = nil
        error(err, 0)
      end
      cu._rowcount = cu._rowcount_pending or cu._seen
      cu._conn = nil
      return
    end
  end
end

-- Has a row to read (fetching the next of a stream).
local function has_row(cu)
  if cu._i <= cu._n then return true end
  if cu._done or cu._conn == nil then return false end
  stream_next(cu)
  return cu._i <= cu._n
end

-- After the last row: the rowcount, and the cursor is done.
local function finish(cu)
  if cu._done and cu._rowcount == -1 then cu._rowcount = cu._rowcount_pending or cu._seen end
end

local function take_row(cu)
  local i = cu._i
  local rb = cu._rb
  local buf = rb[i]
  rb[i] = nil
  cu._i = i + 1
  cu._seen = cu._seen + 1
  local e = cu._entry
  local row = cu._codec:row(buf, cu._rp[i], cu._rl[i], cu._oids, e.setkeys, e.rowmt, e.procs, json_decode, e.names, cu._nulls)
  if cu._i > cu._n and cu._done then finish(cu) end
  return row
end

function Cursor:fetch(max)
  check_closed(self)
  if self._detached then return nil, DETACH_REASON[self._detached] end
  local rows, got = {}, 0
  max = max or 0
  while (max <= 0 or got < max) and has_row(self) do
    got = got + 1
    rows[got] = take_row(self)
  end
  if not has_row(self) then finish(self) end
  return rows
end

function Cursor:fetchone()
  check_closed(self)
  if self._detached then return nil, DETACH_REASON[self._detached] end
  if not has_row(self) then finish(self) return nil end
  local row = take_row(self)
  if not has_row(self) then finish(self) end
  return row
end

function Cursor:take_and_close(want)
  check_closed(self)
  want = want or 2
  if want ~= 1 and want ~= 2 then
    errors.raise("ArgumentError", 2, "take_and_close takes 1 or 2 rows, not %s", tostring(want))
  end
  if self._detached then return nil, nil, DETACH_REASON[self._detached] end
  local a, b
  if has_row(self) then a = take_row(self) end
  if want >= 2 and has_row(self) then b = take_row(self) end
  self:close()
  return a, b
end

function Cursor:names() return self._entry.names end
function Cursor:rowcount() return self._rowcount end
function Cursor:exhausted()
  if self._detached then return false end
  return not (self._i <= self._n or (not self._done and self._conn ~= nil))
end
function Cursor:detached() return self._detached and DETACH_REASON[self._detached] or nil end
function Cursor:set_processors(t)
  self._entry.procs = type(t) == "table" and t or nil
end

-- Drop the rows not read; a stream still running is read to its end.
local function release(cu)
  local conn = cu._conn
  cu._rb, cu._rp, cu._rl = {}, {}, {}; cu._n = 0; cu._i = 1
  if conn == nil then return end
  conn._cursors[cu] = nil
  if conn._stream_ref[1] == cu and not cu._done then
    conn._stream_ref[1] = nil
    conn:_drain_stream()
  end
  cu._conn = nil
end

function Cursor:close()
  if self._closed then return end
  release(self)
  self._closed = true
end

-- Cut a cursor off its connection (reason 1: closed, 2: rolled back).
local function detach(cu, why)
  local had = cu._i <= cu._n or (not cu._done and cu._conn ~= nil)
  release(cu)
  if had then cu._detached = why end
end

function Conn:_detach_all(why)
  for cu in pairs(self._cursors) do detach(cu, why) end
end

-- Read what is left of an abandoned stream so the connection is idle again.
function Conn:_drain_stream()
  self._streaming = false
  local err = self:_until_ready()
  if err and err.connection_invalidated then error(err, 0) end
end

------------------------------------------------------------------ executing

function Conn:_check_idle()
  if self._dead then self:_lost("the connection was lost earlier") end
  if not self._streaming then return end
  if self._stream_ref[1] then collectgarbage() end
  local cu = self._stream_ref[1]
  if cu then
    errors.raise("InvalidRequestError", 3,
      "This Connection has an open streaming result (%s) and can run nothing else until it is "
        .. "read to the end or closed (result:close()); use another Connection for other statements",
      cu._label)
  end
  self:_drain_stream()                       -- abandoned: its rows are not wanted
end

--- conn:exec(sql, params, names, stream, nulls) -> cursor | nil, rowcount, lastrowid
function Conn:exec(sql, params, names, stream, nulls)
  if type(sql) ~= "string" then errors.raise("ArgumentError", 2, "exec() expects SQL text, got %s", type(sql)) end
  if params ~= nil and type(params) ~= "table" then
    errors.raise("ArgumentError", 2, "parameters must be a table, got %s", type(params))
  end
  self:_check_idle()
  local e = self:_entry(sql)
  local codec = self._codec
  local typekey = codec:encode_params(params, type(names) == "table" and names or nil, e.nparams, sql)
  local v = e.variants[typekey] or self:_prepare(e, typekey, sql, params)
  self:_send(self:_take_closing() .. codec:bind(v.name, v.ptypes, sql, params) .. SYNC, sql, params)
  if v.ncols == 0 then
    local rowcount = 0
    local err
    while true do
      local t, body = self:_read(sql, params)
      if t == "C" then rowcount = pw.command_complete(t, body)
      elseif t == "E" then err = err or server_error(self, body, sql, params)
      elseif t == "Z" then self._status = pw.ready(t, body) break
      elseif t == "G" or t == "H" then
        local refused = self:_refuse_copy(t, sql, params)
        err = self:_until_ready(sql, params, err or refused)
        break
      end
    end
    if err then error(err, 0) end
    return nil, rowcount, 0
  end
  local cu = setmetatable({
    _conn = self, _codec = codec, _entry = e, _oids = v.oids, _sql = sql,
    _rb = {}, _rp = {}, _rl = {}, _n = 0, _i = 1, _seen = 0, _rowcount = -1, _done = false,
    _nulls = nulls and true or false,
  }, Cursor)
  if stream then
    self._streaming = true
    self._stream_ref[1] = cu
    cu._label = #sql > 60 and (sql:sub(1, 60) .. "...") or sql
    self._cursors[cu] = true
    local t, body = self:_read(sql, params)     -- BindComplete, or the error
    if t == "E" then
      local err = self:_until_ready(sql, params, server_error(self, body, sql, params))
      self._streaming = false
      self._stream_ref[1] = nil
      error(err, 0)
    end
    stream_next(cu)                              -- the first row now, as libpq's first step
    if cu._done then self._cursors[cu] = nil end
    return cu
  end
  local rbs, rps, rls, n, err, rowcount = cu._rb, cu._rp, cu._rl, 0, nil, nil
  while true do
    local t, body, rb, rp, rl = self:_read(sql, params)
    if t == "D" then n = n + 1; rbs[n], rps[n], rls[n] = rb, rp, rl
    elseif t == "C" then rowcount = pw.command_complete(t, body)
    elseif t == "E" then err = err or server_error(self, body, sql, params)
    elseif t == "Z" then self._status = pw.ready(t, body) break
    elseif t == "G" or t == "H" then
      local refused = self:_refuse_copy(t, sql, params)
      err = self:_until_ready(sql, params, err or refused)
      break
    end
  end
  if err then error(err, 0) end
  cu._n = n
  cu._done = true
  cu._rowcount_pending = rowcount
  cu._conn = n > 0 and self or nil
  if n > 0 then self._cursors[cu] = true else cu._rowcount = rowcount or 0 end
  return cu
end

-- Read the results of the executions sent since the last Sync: adds each
-- one's rows to total; the first error (and its row index) wins.
local function collect(self, sql, state)
  while true do
    local t, body = self:_read(sql)
    if t == "C" then
      state.total = state.total + pw.command_complete(t, body)
      state.index = state.index + 1
    elseif t == "I" then
      state.index = state.index + 1
    elseif t == "E" then
      if not state.err then
        state.err = server_error(self, body, sql)
        state.failed = state.index
      end
    elseif t == "G" or t == "H" then
      local refused = self:_refuse_copy(t, sql)
      state.err = self:_until_ready(sql, nil, state.err or refused)
      return
    elseif t == "Z" then
      self._status = pw.ready(t, body)
      return
    end
  end
end

--- conn:exec_many(sql, list, names) -> total rowcount
function Conn:exec_many(sql, list, names)
  if type(list) ~= "table" then errors.raise("ArgumentError", 2, "exec_many() expects a list of rows") end
  self:_check_idle()
  local e = self:_entry(sql)
  local codec = self._codec
  names = type(names) == "table" and names or nil
  local state = { total = 0, index = 1, err = nil, failed = nil }
  local out, nout, inflight = {}, 0, 0
  local function flush()
    if inflight == 0 then return end
    out[nout + 1] = SYNC
    self:_send(self:_take_closing() .. concat(out, "", 1, nout + 1), sql)
    out, nout, inflight = {}, 0, 0
    collect(self, sql, state)
  end
  for r = 1, #list do
    local row = list[r]
    if type(row) ~= "table" then
      flush()
      if state.err then break end
      state.err = errors.new("ArgumentError", format("executemany: row %d is a %s, expected a table", r, type(row)),
        { sql = sql })
      state.failed = r
      break
    end
    local ok, typekey = pcall(codec.encode_params, codec, row, names, e.nparams, sql)
    if not ok then
      flush()
      if not state.err then state.err = typekey; state.failed = r end
      break
    end
    local v = e.variants[typekey]
    if v == nil then
      flush()                                  -- what is in flight first, then parse outside the batch
      if state.err then break end
      ok, v = pcall(self._prepare, self, e, typekey, sql, row)
      if not ok then state.err = v; state.failed = r; break end
    end
    local msg
    ok, msg = pcall(codec.bind, codec, v.name, v.ptypes, sql, row)
    if not ok then
      flush()
      if not state.err then state.err = msg; state.failed = r end
      break
    end
    nout = nout + 1; out[nout] = msg
    inflight = inflight + 1
    if inflight == BATCH then
      flush()
      if state.err then break end
    end
  end
  if not state.err then flush() end
  if state.err then
    local err = state.err
    if type(err) == "table" and state.failed and list[state.failed] ~= nil then
      pcall(function() err.params = list[state.failed] end)
    end
    error(err, 0)
  end
  return state.total
end

------------------------------------------------------------------ transactions

-- A command of the simple protocol that returns no rows.
function Conn:_command(sql)
  self:_send(self:_take_closing() .. pw.query(sql), sql)
  local err = self:_until_ready(sql)
  if err then error(err, 0) end
end

local ISO_SQL = { [0] = "BEGIN", "BEGIN ISOLATION LEVEL READ UNCOMMITTED", "BEGIN ISOLATION LEVEL READ COMMITTED",
                  "BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN ISOLATION LEVEL SERIALIZABLE" }

function Conn:begin(iso)
  iso = iso or 0
  if iso == 5 then return end                       -- AUTOCOMMIT: nothing to begin
  self:_check_idle()
  self:_command(ISO_SQL[iso] or "BEGIN")
end

function Conn:commit()
  self:_check_idle()
  self:_command("COMMIT")
end

-- A rollback ends an open stream first (its unread rows are gone).
local function end_stream_for_rollback(self)
  local cu = self._stream_ref[1]
  if cu then detach(cu, 2) elseif self._streaming then self:_drain_stream() end
end

function Conn:rollback()
  if self._dead then self:_lost("the connection was lost earlier") end
  end_stream_for_rollback(self)
  if self._status == "I" then return end
  self:_command("ROLLBACK")
end

local function quote_ident(name)
  return '"' .. name:gsub('"', '""') .. '"'
end

function Conn:savepoint(name)
  self:_check_idle()
  self:_command("SAVEPOINT " .. quote_ident(name))
end
function Conn:release_savepoint(name)
  self:_check_idle()
  self:_command("RELEASE SAVEPOINT " .. quote_ident(name))
end
function Conn:rollback_to_savepoint(name)
  if self._dead then self:_lost("the connection was lost earlier") end
  end_stream_for_rollback(self)
  self:_command("ROLLBACK TO SAVEPOINT " .. quote_ident(name))
end

function Conn:in_transaction()
  return self._status == "T" or self._status == "E" or self._streaming == true
end

-- An empty query: nil when the server answers, else the error.
function Conn:_ping_error()
  local ok, err = pcall(function()
    self:_check_idle()
    self:_command("")
  end)
  if ok and not self._dead then return nil end
  if type(err) ~= "table" then err = db_error("OperationalError", tostring(err or "connection lost")) end
  return err
end

--- An empty query: true when the server answers.
function Conn:ping()
  if self._dead then return false end
  return self:_ping_error() == nil
end

--- conn:exec_script(sql): the simple protocol, no parameters, no rows kept.
function Conn:exec_script(sql)
  self:_check_idle()
  local nul = sql:find("\0", 1, true)
  if nul then
    errors.raise("ArgumentError", 2, "SQL text contains a NUL byte at offset %d: SQL cannot hold one "
      .. "(send binary data as a bound parameter; an identifier cannot contain NUL)", nul - 1)
  end
  self:_command(sql)
end

--- Ask the server to cancel what runs on this connection (a CancelRequest
-- on a second connection).
function Conn:cancel()
  if self._pid == nil then
    errors.raise("OperationalError", 2, "cannot cancel: the connection is not open")
  end
  local sock, err = open_socket(self._p, nil)
  if not sock then errors.raise("OperationalError", 2, "cancel failed: %s", tostring(err)) end
  sock:send(pw.cancel(self._pid, self._key))
  sock:receive(1)                                -- the server closes it when done
  sock:close()
end

function Conn:clear_cache()
  self:_check_idle()
  for _, e in pairs(self._cache) do
    for _, v in pairs(e.variants) do self._closing[#self._closing + 1] = pw.close_statement(v.name) end
  end
  self._cache, self._ncache = {}, 0
end

function Conn:is_dead() return self._dead == true end

return M
