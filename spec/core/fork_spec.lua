-- Fork safety seen from Lua (issue 20 item 4): after fork() the child never
-- uses the parent's connections. Forking from Lua needs LuaJIT's FFI (Lua
-- 5.4 has no fork without a C helper; csrc/test/test_fork.c covers the C
-- side on both interpreters' core). The child reports through its exit
-- status only (it must not run busted) and leaves with _exit.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local has_ffi, ffi = pcall(require, "ffi")
if has_ffi then
  pcall(ffi.cdef, [[
    int fork(void);
    int waitpid(int pid, int *status, int options);
    void _exit(int status);
  ]])
end

-- Run child() in a forked process; its return value (0 = passed) is the
-- exit status. An error in the child is status 99.
local function in_child(child)
  io.stdout:flush(); io.stderr:flush()
  local pid = ffi.C.fork()
  assert(pid >= 0, "fork failed")
  if pid == 0 then
    local ok, code = pcall(child)
    ffi.C._exit(ok and code or 99)
  end
  local status = ffi.new("int[1]")
  assert.equal(pid, ffi.C.waitpid(pid, status, 0))
  return math.floor(status[0] / 256) % 256               -- WEXITSTATUS
end

describe("A forked child", function()
  if not has_ffi then
    it("is tested only where LuaJIT's FFI can fork", function()
      pending("Lua 5.4 cannot fork without a C helper: csrc/test/test_fork.c covers it")
    end)
    return
  end

  local engine, pooled, held
  local session = h.is_postgresql and "SELECT pg_backend_pid()" or "SELECT 1"
  local function count(c) return c:execute(ath.text("SELECT count(*) FROM fork_spec_t")):scalar() end

  before_each(function()
    engine = h.engine({ pool_size = 2 })
    pooled = engine:connect()
    held = engine:connect()
    h.drop(held, "fork_spec_t")
    held:exec_driver_sql("CREATE TABLE fork_spec_t (x INTEGER)")
    held:exec_driver_sql("INSERT INTO fork_spec_t VALUES (1)")
    pooled:close()                                       -- left idle in the pool
  end)
  after_each(function()
    h.drop(held, "fork_spec_t")
    held:close()
    engine:dispose()
    h.cleanup()
  end)

  it("gets a connection of its own and the parent's connections keep working", function()
    local parent_session = held:execute(ath.text(session)):scalar()
    local status = in_child(function()
      -- the Connection carried across the fork is refused, naming why
      local ok, err = pcall(held.execute, held, ath.text("SELECT 1"))
      if ok then return 1 end
      if not errors.is(err, "DisconnectionError") then return 2 end
      if not err.message:find("forked", 1, true) then return 3 end
      held:close()                                       -- frees the child's memory only
      -- a checkout is a new connection, not the parent's pooled one
      local c = engine:connect()
      if c:_stats().checkouts ~= 1 then return 4 end
      if h.is_postgresql and c:execute(ath.text(session)):scalar() == parent_session then return 5 end
      if count(c) ~= 1 then return 6 end
      c:exec_driver_sql("INSERT INTO fork_spec_t VALUES (2)")
      c:close()
      engine:dispose()
      return 0
    end)
    assert.equal(0, status)
    -- the parent's sessions survived: the held one and the pooled one
    assert.equal(parent_session, held:execute(ath.text(session)):scalar())
    assert.equal(2, count(held))
    local again = engine:connect()
    assert.equal(2, again:_stats().checkouts)
    assert.equal(2, count(again))
    again:close()
  end)
end)
