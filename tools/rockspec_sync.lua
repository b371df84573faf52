-- Writes (or, with --check, verifies) the two rockspecs from what the build
-- knows, so they cannot drift from it:
--   rockspec/athanor-scm-1.rockspec          the development rockspec (git HEAD)
--   rockspec/athanor-<VERSION>-1.rockspec    the release rockspec (git tag v<VERSION>)
-- The C sources and libraries of athanor.core come from the Makefile
-- (`make rock-sources`, `make rock-libs`), the Lua modules from lua/athanor/**,
-- VERSION from the Makefile; --check also requires the version in
-- csrc/lua/l_core.c and csrc/host/athanor.c to be the same, and no release
-- rockspec of another version to be left behind.
--   lua5.4 tools/rockspec_sync.lua            rewrite the rockspecs
--   lua5.4 tools/rockspec_sync.lua --check    exit 1 and say what differs (make test)
-- Run from anywhere; needs make and find.

-- The repository the rockspecs fetch from (LuaRocks' `git+https` source).
local REPO = "github.com/athanor-lua/athanor"

-- Each library athanor.core links: the LuaRocks external dependency that
-- provides it (checked before the build, overridable with <NAME>_DIR,
-- <NAME>_INCDIR, <NAME>_LIBDIR), or true for the system's own (unix only).
local EXTERNAL = {
  sqlite3 = { name = "SQLITE", header = { "sqlite3.h" } },
  -- Debian and Ubuntu put libpq-fe.h in include/postgresql/: PQ_INCDIR says so
  -- (LuaRocks looks for a header in <prefix>/include only).
  pq = { name = "PQ", header = { "libpq-fe.h" } },
  crypto = { name = "OPENSSL", header = { "openssl/evp.h" } },
  pthread = true, m = true, dl = true,
}

local root = (arg[0]:match("^(.*)/tools/[^/]*$") or ".")
local check = arg[1] == "--check"

local function lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do if l ~= "" then out[#out + 1] = l end end
  p:close()
  return out
end

local function read(path)
  local f = io.open(root .. "/" .. path, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

local q = function(s) return string.format("%q", s) end
local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

local make = "make -s -C '" .. root .. "' "
local sources = lines(make .. "rock-sources")
local libflags = lines(make .. "rock-libs")
local version = (read("Makefile") or ""):match("\nVERSION%s*:=%s*([%w.]+)")
if #sources == 0 or #libflags == 0 or not version then
  io.stderr:write("rockspec_sync: could not read the sources, libraries or VERSION from the Makefile\n")
  os.exit(2)
end

local lua_files = lines("cd '" .. root .. "/lua' && find athanor -name '*.lua' | LC_ALL=C sort")

-- The build table, shared by both rockspecs.
local function build_block()
  local libs, unix_libs, incdirs, libdirs, ext = {}, {}, { q("csrc"), q("csrc/include") }, {}, {}
  for _, flag in ipairs(libflags) do
    local lib = flag:match("^%-l(.+)$")
    local e = lib and EXTERNAL[lib]
    if not e then
      problem("the Makefile links %s: add it to EXTERNAL in tools/rockspec_sync.lua (its LuaRocks external dependency)", flag)
    elseif e == true then
      unix_libs[#unix_libs + 1] = q(lib)
    else
      libs[#libs + 1] = q(lib)
      incdirs[#incdirs + 1] = q("$(" .. e.name .. "_INCDIR)")
      for _, sub in ipairs(e.subdirs or {}) do incdirs[#incdirs + 1] = q("$(" .. e.name .. "_INCDIR)/" .. sub) end
      libdirs[#libdirs + 1] = q("$(" .. e.name .. "_LIBDIR)")
      local headers = {}
      for _, h in ipairs(e.header) do headers[#headers + 1] = q(h) end
      ext[#ext + 1] = ("  %s = { header = %s, library = %s },"):format(e.name,
        #headers == 1 and headers[1] or "{ " .. table.concat(headers, ", ") .. " }", q(lib))
    end
  end
  local all_libs = {}
  for _, l in ipairs(libs) do all_libs[#all_libs + 1] = l end
  for _, l in ipairs(unix_libs) do all_libs[#all_libs + 1] = l end
  local out = {}
  local function add(s) out[#out + 1] = s end
  add("-- Checked before anything is compiled; <NAME>_DIR, <NAME>_INCDIR and <NAME>_LIBDIR")
  add("-- override where they are. Debian/Ubuntu keep libpq-fe.h apart:")
  add("--   luarocks make PQ_INCDIR=/usr/include/postgresql      (docs/luarocks.md)")
  add("external_dependencies = {")
  for _, l in ipairs(ext) do add(l) end
  add("}")
  add("build = {")
  add("  type = \"builtin\",")
  add("  modules = {")
  add("    [\"athanor.core\"] = {")
  add("      sources = {")
  for _, s in ipairs(sources) do add("        " .. q(s) .. ",") end
  add("      },")
  add("      defines = { \"_GNU_SOURCE\" },   -- as the Makefile compiles")
  add("      libraries = { " .. table.concat(libs, ", ") .. " },")
  add("      incdirs = { " .. table.concat(incdirs, ", ") .. " },")
  add("      libdirs = { " .. table.concat(libdirs, ", ") .. " },")
  add("    },")
  for _, f in ipairs(lua_files) do
    local mod = f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    add(("    [%s] = %s,"):format(q(mod), q("lua/" .. f)))
  end
  add("  },")
  add("  platforms = {")
  add("    unix = { modules = { [\"athanor.core\"] = { libraries = { " .. table.concat(all_libs, ", ") .. " } } } },")
  add("  },")
  add("}")
  return table.concat(out, "\n") .. "\n"
end

local function rockspec(rock_version, source, comment)
  return ([[
-- GENERATED by tools/rockspec_sync.lua from the Makefile and lua/athanor/:
-- edit that script, not this file (make test checks they agree).
-- %s
rockspec_format = "3.0"
package = "athanor"
version = %s
source = %s
description = {
  summary = "SQLAlchemy for Lua: engine, pool, expression language compiled in C",
  detailed = [==[
athanor is a SQL toolkit for Lua 5.4 and LuaJIT with a C core: an engine with
a thread-safe connection pool, a schema and an SQL expression language
compiled to SQL in C (values always bound), SQLite and PostgreSQL drivers.]==],
  homepage = "https://%s",
  license = "MIT",
}
-- lua-cjson: for JSON columns. Where a system package provides it (Debian:
-- lua-cjson), tell LuaRocks (docs/luarocks.md) instead of fetching it.
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
]]):format(comment, q(rock_version), source, REPO) .. build_block()
end

local files = {
  ["rockspec/athanor-scm-1.rockspec"] = rockspec("scm-1", "{\n  url = " .. q("git+https://" .. REPO .. ".git") .. ",\n}",
    "Development: `luarocks make` at the root of a clone builds the working tree;\n"
      .. "-- `luarocks install` / `pack` of this file take the repository's default branch."),
  [("rockspec/athanor-%s-1.rockspec"):format(version)] = rockspec(version .. "-1",
    "{\n  url = " .. q("git+https://" .. REPO .. ".git") .. ",\n  tag = " .. q("v" .. version) .. ",\n}",
    ("Release %s: the sources of the git tag v%s (docs/luarocks.md: making a release)."):format(version, version)),
}

-- Every place that states the version agrees with the Makefile's.
local core_version = (read("csrc/lua/l_core.c") or ""):match('lua_pushliteral%(L, "([%d.]+)"%);%s*lua_setfield%(L, %-2, "version"%)')
local host_version = (read("csrc/host/athanor.c") or ""):match('#define ATH_HOST_VERSION "([^"]+)"')
if core_version ~= version then problem("csrc/lua/l_core.c says version %s, the Makefile's VERSION is %s", tostring(core_version), version) end
if host_version ~= version then problem("csrc/host/athanor.c says ATH_HOST_VERSION %s, the Makefile's VERSION is %s", tostring(host_version), version) end
for _, f in ipairs(lines("cd '" .. root .. "' && ls rockspec/*.rockspec 2>/dev/null")) do
  if not files[f] then problem("%s is not the release of VERSION %s nor the scm rockspec: remove it (git rm)", f, version) end
end

local names = {}
for f in pairs(files) do names[#names + 1] = f end
table.sort(names)
for _, f in ipairs(names) do
  if read(f) ~= files[f] then
    if check then
      problem("%s is not what tools/rockspec_sync.lua writes (a source, Lua module, library or the version changed): "
        .. "run `lua5.4 tools/rockspec_sync.lua` and commit the result", f)
    else
      local out = assert(io.open(root .. "/" .. f, "wb"))
      out:write(files[f]); out:close()
      print("wrote " .. f)
    end
  end
end

if #problems > 0 then
  for _, p in ipairs(problems) do io.stderr:write("rockspec_sync: " .. p .. "\n") end
  os.exit(1)
end
if check then print("rockspecs in step with the Makefile, lua/athanor/ and version " .. version) end
