-- athanor in LÖVE: a save-game example (docs/love.md).
--   love <game>            a window: arrow keys move, S saves (on the writer
--                          thread), L loads, Escape quits (and saves)
--   love <game> --test     headless round trip: save and load on the main
--                          thread, a save from the love.thread writer, the
--                          settings checked; prints "round trip ok", exit 0
--   love <game> --bench N  headless: N saves with SQLite's default settings
--                          and N with the recommended ones, timed
-- <game> is a directory or a .love archive holding these files, athanor's
-- Lua files under athanor/ and its LuaJIT C module as athanor/core.so.

-- One call before require("athanor"): the C module becomes loadable (copied
-- out of a .love archive when needed), the save directory exists.
local save_dir = require("athanor.love").setup()
local ath = require("athanor")
local savegame = require("savegame")

local engine, state, writer, status

local function start_writer()
  writer = love.thread.newThread("writer.lua")
  writer:start()
end

local function stop_writer()
  if writer then
    love.thread.getChannel("athanor_saves"):push("quit")
    writer:wait()
    writer = nil
  end
end

local function new_state()
  return { name = "Ada", x = 240, y = 120, level = 1, inventory = { sword = 1, potion = 3 } }
end

-- Deep equality of two states (floats saved as REAL come back exactly).
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

local function run_test(source_kind)
  print("save directory: " .. save_dir)
  print("C module: " .. tostring(package.searchpath("athanor.core", package.cpath)))
  engine = savegame.open(save_dir .. "/save.db")
  local previous = savegame.load(engine)
  if previous then print(("previous save found: %s, level %d"):format(previous.name, previous.level)) end

  local journal = engine:connect(function(c) return c:exec_driver_sql("PRAGMA journal_mode"):scalar() end)
  local sync = engine:connect(function(c) return c:exec_driver_sql("PRAGMA synchronous"):scalar() end)
  check(journal == "wal" and sync == 1, "journal_mode wal and synchronous NORMAL (1), got " .. tostring(journal) .. ", " .. tostring(sync))

  -- Main thread: save, load back.
  local s1 = new_state()
  s1.level, s1.x, s1.y = (previous and previous.level or 0) + 1, 12.5, -3.25
  savegame.save(engine, s1)
  check(same(savegame.load(engine), s1), "the main thread's save loads back")

  -- The writer thread, its own engine on the same file: the main thread sees its save.
  start_writer()
  local s2 = new_state()
  s2.level, s2.inventory = s1.level + 1, { sword = 1, shield = 1, potion = 0 }
  love.thread.getChannel("athanor_saves"):push(savegame.flatten(s2))
  local reply = love.thread.getChannel("athanor_saved"):demand(10)
  check(reply == "ok", "the writer thread saved (reply: " .. tostring(reply) .. ")")
  check(same(savegame.load(engine), s2), "the writer thread's save loads on the main thread")
  stop_writer()
  check(writer == nil, "the writer stopped")

  -- Refused input leaves the save as it was (one transaction).
  local bad = new_state(); bad.name = nil
  local ok, err = pcall(savegame.save, engine, bad)
  check(not ok and ath.errors.is(err, "IntegrityError"), "a state without a name is refused: " .. tostring(err))
  check(same(savegame.load(engine), s2), "a refused save leaves the previous one")
  engine:dispose()
  print(("athanor love round trip ok (%s, level %d, %s)"):format(source_kind, s2.level, jit and jit.version or _VERSION))
end

-- n saves (delete + insert in one transaction) with each setting; the
-- median and the worst, in milliseconds.
local function run_bench(n)
  local function time_saves(options, file)
    os.remove(save_dir .. "/" .. file); os.remove(save_dir .. "/" .. file .. "-wal"); os.remove(save_dir .. "/" .. file .. "-shm")
    local e = savegame.open(save_dir .. "/" .. file, options)
    local s, times = new_state(), {}
    for i = 1, n do
      s.level = i
      local t0 = love.timer.getTime()
      savegame.save(e, s)
      times[i] = (love.timer.getTime() - t0) * 1000
    end
    e:dispose()
    table.sort(times)
    return times[math.floor((n + 1) / 2)], times[n]
  end
  local med, max = time_saves({}, "bench-default.db")
  print(("default (rollback journal, synchronous FULL): median %.3f ms, max %.3f ms over %d saves"):format(med, max, n))
  med, max = time_saves(savegame.recommended, "bench-wal.db")
  print(("recommended (WAL, synchronous NORMAL):        median %.3f ms, max %.3f ms over %d saves"):format(med, max, n))
end

function love.load(args)
  for i, a in ipairs(args) do
    if a == "--test" or a == "--bench" then
      local source = love.filesystem.getSource()
      local source_kind = source:match("%.love$") and ".love archive" or "directory"
      local ok, err = pcall(a == "--test" and run_test or run_bench, a == "--test" and source_kind or tonumber(args[i + 1]) or 200)
      stop_writer()
      if not ok then print("athanor love FAILED: " .. tostring(err)) end
      love.event.quit(ok and 0 or 1)
      return
    end
  end
  engine = savegame.open(save_dir .. "/save.db")
  state = savegame.load(engine) or new_state()
  status = "save directory: " .. save_dir
  start_writer()
end

function love.keypressed(key)
  if key == "s" then
    love.thread.getChannel("athanor_saves"):push(savegame.flatten(state))
    status = "saving..."
  elseif key == "l" then
    state = savegame.load(engine) or state
    status = "loaded"
  elseif key == "escape" then
    love.event.quit()
  end
end

function love.update(dt)
  local speed = 120 * dt
  if love.keyboard.isDown("left") then state.x = state.x - speed end
  if love.keyboard.isDown("right") then state.x = state.x + speed end
  if love.keyboard.isDown("up") then state.y = state.y - speed end
  if love.keyboard.isDown("down") then state.y = state.y + speed end
  local reply = love.thread.getChannel("athanor_saved"):pop()
  if reply then status = reply == "ok" and "saved" or reply end
end

function love.draw()
  love.graphics.circle("fill", state.x, state.y, 10)
  love.graphics.print(("%s  level %d  (%.0f, %.0f)\narrows: move  S: save  L: load  Esc: quit\n%s")
    :format(state.name, state.level, state.x, state.y, status), 10, 10)
end

function love.quit()
  if engine and state then
    stop_writer()
    savegame.save(engine, state)        -- the last save, on the main thread
    engine:dispose()
  end
end
