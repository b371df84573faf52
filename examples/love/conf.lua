-- LÖVE configuration of the save-game example (docs/love.md).
-- With --test or --bench on the command line the game runs headless: no
-- window, graphics or audio, so `love <game> --test` needs no display.
local headless = false
for _, a in ipairs(arg or {}) do
  if a == "--test" or a == "--bench" then headless = true end
end

function love.conf(t)
  t.identity = "athanor-savegame"     -- the save directory's name
  t.version = "11.4"
  t.window.title = "athanor save-game example"
  t.window.width, t.window.height = 480, 240
  if headless then
    t.window = false
    t.modules.window = false
    t.modules.graphics = false
    t.modules.audio = false
    t.modules.sound = false
    t.modules.joystick = false
    t.modules.video = false
  end
end
