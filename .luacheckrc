-- luacheck configuration (run by `make test`): Lua 5.4 and LuaJIT code, so
-- the union of their standard libraries; unused arguments are method
-- signatures, not mistakes.
std = "max"
max_line_length = 170
unused_args = false
files["spec/"] = { std = "max+busted", max_line_length = false }   -- golden SQL lines
files["bench/"] = { globals = { "jit" } }
