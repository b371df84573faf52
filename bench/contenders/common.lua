-- Shared by the Lua contenders: arguments, clock, peak RSS, the key sequence.
local M = {}

-- usage: <contender>.lua BACKEND URL WORKLOAD N ROWS
function M.args()
  local backend, url, workload, n, rows = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5] or "100000")
  assert(backend and url and workload and n, "usage: contender.lua BACKEND URL WORKLOAD N [ROWS]")
  return backend, url, workload, n, rows
end

-- A monotonic wall clock (athanor's C core exposes one; LuaSQL has none).
M.now = require("athanor.core").monotonic

function M.peak_rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then f:close() return tonumber(kb) end
  end
  f:close()
  return 0
end

-- minstd: the same keys as the C and Python contenders (exact in doubles).
function M.keys(rows)
  local seed = 42
  return function()
    seed = seed * 48271 % 2147483647
    return math.floor(seed % rows) + 1
  end
end

function M.report(seconds, check)
  io.write(("RESULT seconds=%.6f check=%.0f maxrss_kb=%d\n"):format(seconds, check, M.peak_rss_kb()))
end

function M.na(why)
  io.write("NA ", why, "\n")
  os.exit(3)
end

return M
