-- Profile target: executemany of N rows in one transaction on an in-memory
-- database through ath.text; "build" stops after building the parameter
-- tables, so the two runs separate Lua's share from athanor's:
--   valgrind --tool=callgrind lua5.4 bench/profile/executemany.lua 50000 build
--   valgrind --tool=callgrind lua5.4 bench/profile/executemany.lua 50000 run
local ath = require("athanor")
local n, phase = tonumber(arg[1] or "50000"), arg[2] or "run"
local engine = ath.create_engine("sqlite://")
local conn = engine:connect()
conn:exec_driver_sql("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)")
local insert = ath.text("INSERT INTO bench_write (id, name, age, score) VALUES (:id, :name, :age, :score)")
local params = {}
for i = 1, n do params[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
if phase == "run" then engine:begin(function(c) c:execute(insert, params) end) end
io.write(phase, " ", n, " rows\n")
