-- athanor.love.setup() (API.md §11, docs/love.md) against a stand-in for
-- LÖVE's love.filesystem: the game's files (the "archive") are a table, the
-- save directory a real temporary directory. tools/love_check.sh runs the
-- same cases in LÖVE itself; here each error path is checked for its kind,
-- its message and that nothing was written.
local errors = require("athanor.errors")
local h = require("spec.helpers")

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a"); f:close(); return s
end

-- os.execute succeeded (true on Lua 5.4, 0 on LuaJIT).
local function sh(cmd) local r = os.execute(cmd) return r == true or r == 0 end

local function exists(path) local f = io.open(path, "rb") if f then f:close() return true end return false end

-- A love.filesystem for a game in the archive /nowhere/game.love holding
-- `files`, with its save directory at `save` (created on demand unless
-- `cannot_create`). Every write is logged in fs.writes.
local function fake_filesystem(save, files, cannot_create)
  local fs = { writes = {} }
  local function on_disk(p) return save .. (p == "" and "" or "/" .. p) end
  function fs.getSaveDirectory() return save end
  function fs.getSource() return "/nowhere/game.love" end
  function fs.createDirectory(p)
    if cannot_create then return false end
    return sh("mkdir -p '" .. on_disk(p) .. "'")
  end
  function fs.getInfo(p)
    local data = read_file(on_disk(p)) or files[p]
    return data and { type = "file", size = #data } or nil
  end
  function fs.getRealDirectory(p)
    if exists(on_disk(p)) then return save end
    return files[p] and "/nowhere/game.love" or nil
  end
  function fs.read(p) return read_file(on_disk(p)) or files[p] end
  function fs.write(p, data)
    fs.writes[#fs.writes + 1] = p
    local f = io.open(on_disk(p), "wb")
    if not f then return false, "cannot open " .. p end
    f:write(data); f:close()
    return true
  end
  return fs
end

describe("athanor.love.setup()", function()
  local love_helper = require("athanor.love")
  local save, saved_cpath, saved_core

  before_each(function()
    save = h.tmpname("-save")
    saved_cpath, saved_core = package.cpath, package.loaded["athanor.core"]
  end)
  after_each(function()
    rawset(_G, "love", nil)
    package.cpath, package.loaded["athanor.core"] = saved_cpath, saved_core
    sh("rm -rf '" .. save .. "'")
  end)

  local function setup_error()
    local ok, err = pcall(love_helper.setup)
    assert.is_false(ok)
    return err
  end

  it("raises InvalidRequestError outside LÖVE, saying where to call it", function()
    local err = setup_error()
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("needs LÖVE's love.filesystem", err.message, 1, true)
    assert.matches("require('love.filesystem') first", err.message, 1, true)
  end)

  it("raises OperationalError naming the save directory when it cannot be created, and writes nothing", function()
    local fs = fake_filesystem(save, { ["athanor/core.so"] = "module bytes" }, true)
    rawset(_G, "love", { filesystem = fs })
    local err = setup_error()
    assert.is_true(errors.is(err, "OperationalError"))
    assert.matches("could not create the save directory '" .. save .. "'", err.message, 1, true)
    assert.matches("make its parent writable", err.message, 1, true)
    assert.same({}, fs.writes)
    assert.is_false(exists(save))
  end)

  it("raises InvalidRequestError saying what to copy when the archive has no C module, and writes nothing", function()
    local fs = fake_filesystem(save, { ["main.lua"] = "-- game" })
    rawset(_G, "love", { filesystem = fs })
    package.loaded["athanor.core"] = nil
    package.cpath = save .. "/nothing/?.so"
    local err = setup_error()
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("the game has no C module athanor/core.so (looked in /nowhere/game.love)", err.message, 1, true)
    assert.matches("copy athanor's LuaJIT build (build/luajit/athanor/core.so) to athanor/core.so next to main.lua",
      err.message, 1, true)
    assert.same({}, fs.writes)
    assert.is_false(exists(save .. "/" .. love_helper.native_dir))
  end)

  it("copies an archive's module to the save directory and says so when it does not load", function()
    local fs = fake_filesystem(save, { ["athanor/core.so"] = "not a shared object" })
    rawset(_G, "love", { filesystem = fs })
    package.loaded["athanor.core"] = nil
    package.cpath = save .. "/nothing/?.so"
    local err = setup_error()
    assert.is_true(errors.is(err, "InvalidRequestError"))
    assert.matches("athanor/core.so was found but does not load", err.message, 1, true)
    assert.matches("must be the LuaJIT build", err.message, 1, true)
    local copy = save .. "/athanor-native/athanor/core.so"
    assert.equal("not a shared object", read_file(copy))
    assert.equal(save .. "/athanor-native/?.so;" .. save .. "/nothing/?.so", package.cpath)
  end)

  it("returns the save directory, created, and copies nothing once athanor.core is loaded", function()
    local fs = fake_filesystem(save, { ["athanor/core.so"] = "module bytes" })
    rawset(_G, "love", { filesystem = fs })
    assert.equal(save, love_helper.setup())
    assert.is_true(sh("test -d '" .. save .. "'"))
    assert.same({}, fs.writes)
    assert.equal(saved_cpath, package.cpath)
  end)
end)
