--- athanor in LÖVE (API.md §11, docs/love.md): one call before
-- `require("athanor")` makes the C module loadable and the save directory
-- usable, whether the game runs from a directory, a `.love` archive or a
-- fused executable.
--
--     local save_dir = require("athanor.love").setup()
--     local ath = require("athanor")
--     local engine = ath.create_engine("sqlite:///" .. save_dir .. "/save.db",
--       { connect_args = { journal_mode = "wal", synchronous = "normal" } })
--
-- Why it is needed: LÖVE reads a game's Lua files from inside its archive,
-- but a C module must be a real file for the system's loader, and the save
-- directory only exists once something is written to it. This module is pure
-- Lua and requires nothing of athanor but its errors, so it loads before the
-- C module can.
local errors = require("athanor.errors")

local M = {}

local type, rawget, pcall, tostring = type, rawget, pcall, tostring
local io_open, os_rename, os_remove = io.open, os.rename, os.remove

-- Where, inside the save directory, an archive's C module is copied: a name
-- of its own, so the copy never hides the archive's `athanor/` files in
-- LÖVE's search path and the archive's copy stays readable for comparison.
M.native_dir = "athanor-native"

-- The C module's file, as LÖVE's and Lua's loaders name it.
local function module_file()
  local windows = package.config:sub(1, 1) == "\\"
  return "athanor/core" .. (windows and ".dll" or ".so"), windows and "?.dll" or "?.so"
end

-- Puts `dir/?.so` first on package.cpath, once.
local function prepend_cpath(dir, pattern)
  local entry = dir .. "/" .. pattern
  local cpath = package.cpath
  if cpath:sub(1, #entry + 1) ~= entry .. ";" and cpath ~= entry then
    package.cpath = entry .. ";" .. cpath
  end
end

local function file_exists(path)
  local f = io_open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Copies the archive's module to save_dir/native_dir unless the copy there
-- already has the same bytes. The new file is written beside the old one and
-- renamed over it, so another running instance of the game keeps the module
-- it has mapped.
local function copy_module(fs, rel, save_dir, level)
  local target = M.native_dir .. "/" .. rel
  local real_target = save_dir .. "/" .. target
  local source_info = fs.getInfo(rel, "file")
  local current = fs.getInfo(target, "file")
  if current and current.size == source_info.size and file_exists(real_target) then
    if fs.read(target) == fs.read(rel) then return end
  end
  local data, read_err = fs.read(rel)
  if not data then
    errors.raise("OperationalError", level + 1, "athanor.love.setup(): could not read %s from the game: %s",
      rel, tostring(read_err))
  end
  local dir = target:match("^(.*)/[^/]*$")
  local ok, err = fs.createDirectory(dir)
  if ok then ok, err = fs.write(target .. ".new", data) end
  if ok then
    ok, err = os_rename(real_target .. ".new", real_target)
    if not ok and file_exists(real_target) then       -- Windows: rename does not replace
      os_remove(real_target)
      ok, err = os_rename(real_target .. ".new", real_target)
    end
  end
  if not ok then
    errors.raise("OperationalError", level + 1,
      "athanor.love.setup(): could not copy the C module to %s (%s): C modules cannot load from inside a "
        .. ".love archive, so athanor copies it to the save directory, which must be writable", real_target, tostring(err))
  end
end

--- Makes athanor usable in a LÖVE game, in one call, before `require("athanor")`.
-- Creates the save directory if missing, and makes `athanor.core` loadable:
-- from the game's directory as it is, or, when the game runs from a `.love`
-- archive or a fused executable, from a copy in the save directory
-- (`<save>/athanor-native/athanor/core.so`, refreshed when the game's copy
-- changes); failing those, from `package.cpath` (an installed athanor).
-- Works in a `love.thread` too, after `require("love.filesystem")`.
-- @return the save directory's real path (for `sqlite:///<path>/save.db`)
-- @raise InvalidRequestError outside LÖVE, or when the game has no C module
-- @raise OperationalError when the save directory cannot be created or written
function M.setup()
  local love = rawget(_G, "love")
  local fs = type(love) == "table" and love.filesystem
  if type(fs) ~= "table" then
    errors.raise("InvalidRequestError", 2,
      "athanor.love.setup() needs LÖVE's love.filesystem: call it from a LÖVE game (in a love.thread, "
        .. "require('love.filesystem') first); outside LÖVE, require('athanor') directly")
  end

  local save_dir = fs.getSaveDirectory()
  if type(save_dir) ~= "string" or save_dir == "" or not fs.createDirectory("") then
    errors.raise("OperationalError", 2,
      "athanor.love.setup(): could not create the save directory '%s': LÖVE keeps a game's files there "
        .. "(love.filesystem.getSaveDirectory()); make its parent writable (on Linux $XDG_DATA_HOME/love, "
        .. "by default ~/.local/share/love) and give the game an identity (t.identity in conf.lua)", tostring(save_dir))
  end

  if package.loaded["athanor.core"] then return save_dir end
  local rel, pattern = module_file()
  local info = fs.getInfo(rel, "file")
  if info then
    local real_dir = fs.getRealDirectory(rel)
    if real_dir and file_exists(real_dir .. "/" .. rel) then
      prepend_cpath(real_dir, pattern)                   -- a game directory: load it where it is
    else
      copy_module(fs, rel, save_dir, 2)                  -- inside an archive: a real file is needed
      prepend_cpath(save_dir .. "/" .. M.native_dir, pattern)
    end
  elseif not package.searchpath("athanor.core", package.cpath) then
    errors.raise("InvalidRequestError", 2,
      "athanor.love.setup(): the game has no C module %s (looked in %s) and none is on package.cpath: "
        .. "copy athanor's LuaJIT build (build/luajit/athanor/core.so) to %s next to main.lua, beside the "
        .. "athanor/*.lua files, before making the .love archive (docs/love.md)", rel,
      tostring(fs.getSource and fs.getSource()), rel)
  end

  local ok, err = pcall(require, "athanor.core")
  if not ok then
    errors.raise("InvalidRequestError", 2,
      "athanor.love.setup(): %s was found but does not load (%s): it must be the LuaJIT build "
        .. "(build/luajit/athanor/core.so) for this system, with SQLite and libpq installed", rel,
      tostring(err):gsub("\n.*", ""))
  end
  return save_dir
end

return M
