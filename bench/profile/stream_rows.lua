-- Profile target: N rows of a populated bench_read streamed through the
-- expression language ("expr", ath.select(t):limit(N)) or ath.text
-- ("text"), on the database at ATHANOR_PROFILE_URL (PostgreSQL: fill it with
-- `build/bench/raw_pg URL setup 100000`). Per row: N rows minus N = 1.
--   setarch -R valgrind --tool=callgrind lua5.4 bench/profile/stream_rows.lua expr 50000
local ath = require("athanor")
local mode, n = arg[1] or "expr", tonumber(arg[2] or "50000")
local url = assert(os.getenv("ATHANOR_PROFILE_URL"), "set ATHANOR_PROFILE_URL to a database with bench_read")
local conn = ath.create_engine(url):connect()
local t = ath.Table("bench_read", ath.MetaData(), ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local query = mode == "expr" and ath.select(t):limit(n)
  or ath.text(("SELECT id, name, age, score FROM bench_read LIMIT %d"):format(n))
local count = 0
for _ in conn:execute(query, nil, { stream = true }) do count = count + 1 end
assert(count == n, "bench_read has fewer rows than asked")
conn:close()
