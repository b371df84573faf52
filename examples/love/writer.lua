-- The save writer: runs in a love.thread (main.lua starts it) with an engine
-- of its own, so a save never holds up a frame. Each request on the
-- "athanor_saves" channel is a flattened state (savegame.flatten); the reply
-- on "athanor_saved" is "ok" or the error's text. "quit" stops it.
require("love.filesystem")                -- the thread's loaders for the game's files
local save_dir = require("athanor.love").setup()
local savegame = require("savegame")

local requests = love.thread.getChannel("athanor_saves")
local replies = love.thread.getChannel("athanor_saved")
local engine = savegame.open(save_dir .. "/save.db")
while true do
  local msg = requests:demand()
  if msg == "quit" then break end
  local ok, err = pcall(savegame.save, engine, savegame.unflatten(msg))
  replies:push(ok and "ok" or tostring(err))
end
engine:dispose()
