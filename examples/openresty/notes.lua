--- A small JSON API over one table, served by nginx + lua-nginx-module
-- (examples/openresty/nginx.conf; docs/openresty.md walks through it).
--   GET /notes            the latest 100 notes
--   POST /notes           {"title": "...", "body": "..." or null} -> 201 and the new note
--   GET /notes/<id>       one note, or 404
--   DELETE /notes/<id>    204, or 404
-- SQL NULL reaches the JSON as null: the engine is made with nulls = ath.null.
local ath = require("athanor")
local cjson = require("cjson.safe")

local ngx = ngx   -- luacheck: read globals ngx
local M = {}

local metadata = ath.MetaData()
local notes = ath.Table("notes", metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("title", ath.String(200), { nullable = false }),
  ath.Column("body", ath.Text))

-- NOTES_URL, or a SQLite file next to nginx.conf.
local function database_url()
  return os.getenv("NOTES_URL") or ("sqlite:///" .. ngx.config.prefix() .. "notes.db")
end

local function engine_options(url)
  local opts = { nulls = ath.null }                 -- NULL stays a key in rows: JSON keeps the column
  if url:match("^sqlite:") then
    -- WAL: readers never wait for the writer; a writer waits for another
    -- (up to busy_timeout ms) blocking its worker meanwhile: keep it short.
    opts.connect_args = { journal_mode = "wal", busy_timeout = 1000 }
  else
    -- One pool per worker: pool_size is per worker, not per server.
    opts.pool_size, opts.max_overflow, opts.pool_timeout = 10, 10, 5
  end
  return opts
end

--- init_by_lua (the master, before the fork): create the table. Cosockets
-- do not exist in this phase, so a postgresql+cosocket URL is used through
-- libpq here; the engine is closed before nginx forks its workers.
function M.create_schema()
  local url = database_url():gsub("^postgresql%+cosocket:", "postgresql:")
  local engine = ath.create_engine(url, engine_options(url))
  metadata:create_all(engine)
  engine:dispose()
  engine:close()
end

local engine

--- init_worker_by_lua: one engine (and pool) per worker. create_engine opens
-- no connection: the first request does.
function M.init_worker()
  local url = database_url()
  engine = ath.create_engine(url, engine_options(url))
end

-- Not ngx.exit(): inside engine:connect(fn) it would end the request before
-- the connection is checked back in.
local function reply(status, value)
  ngx.status = status
  if value ~= nil then ngx.say(cjson.encode(value)) end
end

-- cjson encodes an empty Lua table as {}: write the array by hand.
local function reply_array(rows)
  local parts = {}
  for i, row in ipairs(rows) do parts[i] = cjson.encode(row) end
  ngx.say("[", table.concat(parts, ","), "]")
end

-- Run fn(conn) on a pooled connection; athanor errors become JSON answers.
local function with_connection(fn)
  local ok, err = pcall(engine.connect, engine, fn)
  if ok then return end
  if ath.errors.is(err, "IntegrityError") then return reply(409, { error = err.message }) end
  ngx.log(ngx.ERR, tostring(err))
  local status = ath.errors.is(err, "PoolTimeoutError") and 503 or 500
  return reply(status, { error = type(err) == "table" and err.kind or "error" })
end

local latest = ath.select(notes.c.id, notes.c.title, notes.c.body):order_by(notes.c.id:desc()):limit(100)
local by_id = ath.select(notes):where(notes.c.id:eq(ath.bindparam("id")))

--- /notes
function M.collection()
  local method = ngx.req.get_method()
  if method == "GET" then
    return with_connection(function(conn)
      reply_array(conn:execute(latest):mappings():all())
    end)
  elseif method == "POST" then
    ngx.req.read_body()
    local input = cjson.decode(ngx.req.get_body_data() or "")
    if type(input) ~= "table" or type(input.title) ~= "string" then
      return reply(400, { error = "expected a JSON object with a string 'title'" })
    end
    if input.body ~= nil and input.body ~= ath.null and type(input.body) ~= "string" then
      return reply(400, { error = "'body' must be a string or null" })
    end
    return with_connection(function(conn)
      -- input.body may be JSON null: cjson.null is ath.null, bound as SQL NULL
      local row = conn:execute(notes:insert():values({ title = input.title, body = input.body })
        :returning(notes.c.id, notes.c.title, notes.c.body)):mappings():one()
      reply(201, row)
    end)
  end
  return reply(405, { error = "GET or POST" })
end

--- /notes/<id>
function M.item(id)
  local method = ngx.req.get_method()
  if method == "GET" then
    return with_connection(function(conn)
      local row = conn:execute(by_id, { id = id }):mappings():one_or_none()
      if row == nil then return reply(404, { error = "no note " .. id }) end
      reply(200, row)
    end)
  elseif method == "DELETE" then
    return with_connection(function(conn)
      local n = conn:execute(ath.delete(notes):where(notes.c.id:eq(id))).rowcount
      reply(n == 0 and 404 or 204, n == 0 and { error = "no note " .. id } or nil)
    end)
  end
  return reply(405, { error = "GET or DELETE" })
end

return M
