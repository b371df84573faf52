--- The differential spec: every case of spec/diff/cases.lua is built in
-- athanor and in SQLAlchemy 1.4 (spec/diff/sqla_runner.py, run once per
-- backend through io.popen), executed on the same database, and the rows
-- must agree value by value and type by type (API.md §2's mapping of
-- Python's types to Lua's). docs/differential.md tells how it works.
local ath = require("athanor")
local h = require("spec.helpers")
local cjson = require("cjson")
local schema = require("spec.diff.schema")
local cases = require("spec.diff.cases")

local PYTHON = os.getenv("ATHANOR_PYTHON") or "/usr/bin/python3"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/core"
local RUNNER = here .. "/../diff/sqla_runner.py"

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local is_int = math.type and function(v) return math.type(v) == "integer" end
  or function(v) return v == math.floor(v) end   -- LuaJIT: numbers only
local is_float = math.type and function(v) return math.type(v) == "float" end
  or function() return true end

--- What a Lua value is, in the words of the runner's tags.
local function lua_tag(v)
  if v == nil or v == ath.null then return "nil" end
  local t = type(v)
  if t == "number" then return is_int(v) and "integer" or "number" end
  return t
end

local function show(v)
  if type(v) == "string" then
    if v:find("[^\32-\126]") then return "x'" .. hex(v) .. "'" end
    return ("%q"):format(v)
  end
  if type(v) == "table" then
    local ok, s = pcall(cjson.encode, v)
    return ok and s or tostring(v)
  end
  return tostring(v)
end

local function show_cell(c)
  if c.t == "nil" then return "nil (nil)" end
  if c.x then return ("x'%s' (%s)"):format(c.x, c.t) end
  return ("%s (%s%s)"):format(show(c.v), c.t, c.decimal and ", Decimal" or "")
end

local function deep_equal(a, b)
  if a == cjson.null then a = nil end
  if b == cjson.null then b = nil end
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function close_enough(x, y)
  if x == y then return true end
  return math.abs(x - y) <= 1e-12 * math.max(math.abs(x), math.abs(y))
end

--- nil when the athanor value v matches the runner's cell c, else why not.
local function mismatch(v, c)
  local tag = lua_tag(v)
  local want = c.t
  -- LuaJIT has one number type: an integral float passes for an integer.
  if not math.type and want == "integer" and tag == "number" then tag = "integer" end
  if not math.type and want == "number" and tag == "integer" then tag = "number" end
  if tag ~= want then return "type" end
  if want == "nil" then return nil end
  local same
  if want == "integer" then
    same = tonumber(c.v) == v
  elseif want == "number" then
    same = is_float(v) and close_enough(tonumber(c.v), v)
  elseif want == "string" and c.x then
    same = hex(v) == c.x
  elseif want == "table" then
    same = deep_equal(v, c.v)
  else
    same = v == c.v
  end
  if not same then return "value" end
  return nil
end

--- The rows athanor gives for a result: one array per row, or the rowcount
-- alone as SQLAlchemy's side does for a statement without rows.
local function athanor_rows(res, out)
  if not res.returns_rows then
    out[#out + 1] = { n = 1, res.rowcount }
    return out
  end
  local ncol = #res:keys()
  for _, row in ipairs(res:all()) do
    local r = { n = ncol }
    for i = 1, ncol do r[i] = row[i] end
    out[#out + 1] = r
  end
  return out
end

local function sort_key_lua(r)
  local parts = {}
  for i = 1, r.n do parts[i] = lua_tag(r[i]) .. ":" .. show(r[i]) end
  return table.concat(parts, "|")
end

local function sort_key_py(r)
  local parts = {}
  for i, c in ipairs(r) do
    local v = c.v
    if c.t == "integer" or c.t == "number" then v = tonumber(v) end
    if c.x then v = c.x end
    parts[i] = c.t .. ":" .. (c.t == "nil" and "nil" or show(v))
  end
  return table.concat(parts, "|")
end

local function sorted(rows, key)
  local copy = {}
  for i, r in ipairs(rows) do copy[i] = r end
  table.sort(copy, function(a, b) return key(a) < key(b) end)
  return copy
end

--- Compare, returning nil or a message naming the case, row, column, both
-- values and both types.
local function compare(c, mine, theirs)
  if c.unordered then
    mine, theirs = sorted(mine, sort_key_lua), sorted(theirs, sort_key_py)
  end
  local function dump()
    local lines = {}
    for i = 1, math.max(#mine, #theirs) do
      local a, b = {}, {}
      for j = 1, (mine[i] and mine[i].n or 0) do a[j] = show(mine[i][j]) .. "/" .. lua_tag(mine[i][j]) end
      for j, cell in ipairs(theirs[i] or {}) do b[j] = show_cell(cell) end
      lines[#lines + 1] = ("  row %d: athanor {%s}\n         SQLAlchemy {%s}"):format(i, table.concat(a, ", "), table.concat(b, ", "))
    end
    return table.concat(lines, "\n")
  end
  if #mine ~= #theirs then
    return ("case %q: athanor gave %d rows, SQLAlchemy %d\n%s"):format(c.name, #mine, #theirs, dump())
  end
  for i = 1, #mine do
    if mine[i].n ~= #theirs[i] then
      return ("case %q, row %d: athanor gave %d columns, SQLAlchemy %d\n%s"):format(c.name, i, mine[i].n, #theirs[i], dump())
    end
    for j = 1, mine[i].n do
      local why = mismatch(mine[i][j], theirs[i][j])
      if why then
        return ("case %q, row %d, column %d: athanor gave %s (%s), SQLAlchemy gave %s\n%s"):format(
          c.name, i, j, show(mine[i][j]), lua_tag(mine[i][j]), show_cell(theirs[i][j]), dump())
      end
    end
  end
  return nil
end

local backend = h.backend

describe("The differential spec against SQLAlchemy 1.4 (" .. backend .. ")", function()
  local engine, conn, url, reference, sqlite_path

  local function applies(c)
    return (c.only == nil or c.only == backend) and (not c.lua53 or math.type ~= nil)
  end

  --- Runs every case through SQLAlchemy once; `reference` maps case names
  -- to their rows, or holds __fatal__ when the runner could not run at all.
  local function run_reference()
    local f = io.open(PYTHON, "r")
    if not f then return { __fatal__ = PYTHON .. " is missing: install python3 and python3-sqlalchemy (tools/deps.sh)" } end
    f:close()
    local input = {}
    for _, c in ipairs(cases) do
      if applies(c) then input[#input + 1] = { name = c.name, py = c.py, dml = c.dml or false } end
    end
    local infile, errfile = h.tmpname(".json"), h.tmpname(".err")
    local fh = assert(io.open(infile, "wb"))
    fh:write(cjson.encode(input))
    fh:close()
    -- LD_PRELOAD (the ASan run) is for lua5.4, not for python.
    local cmd = ("env -u LD_PRELOAD %s %s %s < %s 2> %s"):format(shell_quote(PYTHON), shell_quote(RUNNER),
      shell_quote(url), shell_quote(infile), shell_quote(errfile))
    local p = assert(io.popen(cmd, "r"))
    local out = p:read("a")
    p:close()
    local err = read_file(errfile) or ""
    os.remove(infile); os.remove(errfile)
    local ok, decoded = pcall(cjson.decode, out)
    if not ok or type(decoded) ~= "table" then
      return { __fatal__ = "the SQLAlchemy runner failed (" .. cmd .. "):\n" .. err .. out }
    end
    return decoded
  end

  setup(function()
    if h.is_sqlite then
      -- A file both sides open: SQLAlchemy cannot see an in-memory database.
      sqlite_path = h.tmpname(".db")
      url = "sqlite:///" .. sqlite_path
      engine = ath.create_engine(url)
    else
      url = h.url
      engine = h.engine()
    end
    conn = engine:connect()
    local tx = conn:begin()
    schema.fill(conn)
    tx:commit()
    reference = run_reference()
  end)

  teardown(function()
    if conn then schema.drop(conn); conn:close() end
    if engine then engine:dispose() end
    if sqlite_path then
      for _, sfx in ipairs({ "", "-wal", "-shm", "-journal" }) do os.remove(sqlite_path .. sfx) end
    end
  end)

  it("has SQLAlchemy 1.4 and its drivers to compare with", function()
    assert(reference.__fatal__ == nil, reference.__fatal__)
  end)

  for _, c in ipairs(cases) do
    if applies(c) then
      it("agrees on: " .. c.name, function()
        assert(reference.__fatal__ == nil, reference.__fatal__)
        local ref = reference[c.name]
        assert(ref ~= nil, "the SQLAlchemy runner gave nothing for case " .. c.name)
        local pend = c.pending
        if type(pend) == "table" then pend = pend[backend] end

        local mine = {}
        local tx = c.dml and conn:begin() or nil
        local ok, err = pcall(function()
          athanor_rows(conn:execute(c.lua(schema.d, schema.e, schema.o), c.params), mine)
          if c.after then athanor_rows(conn:execute(c.after(schema.d, schema.e, schema.o)), mine) end
        end)
        if tx then tx:rollback() end
        local failure
        if ref.error then
          failure = ("case %q: SQLAlchemy failed: %s"):format(c.name, ref.error)
        elseif not ok then
          failure = ("case %q: athanor failed: %s"):format(c.name, tostring(err))
        else
          failure = compare(c, mine, ref.rows)
        end
        if pend then
          if failure then pending(pend .. " -- " .. failure) end
          error(("case %q is marked pending (%s) but agrees now: remove its pending mark in spec/diff/cases.lua")
            :format(c.name, pend))
        end
        assert(failure == nil, failure)
      end)
    end
  end
end)
