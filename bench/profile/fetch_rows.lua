-- Profile target: fetch a 100k-row result (the W3 shape: id, name, age,
-- score) from an in-memory SQLite database, or PostgreSQL with a URL, with
-- result:all() ("all") or by iteration ("iter"); reps times. The setup alone
-- is "none": subtract it when comparing instruction counts:
--   valgrind --tool=callgrind lua5.4 bench/profile/fetch_rows.lua all 1
--   lua5.4 bench/profile/fetch_rows.lua all 5 postgresql://...   (wall time)
local ath = require("athanor")
local mode, reps, url = arg[1] or "all", tonumber(arg[2] or "1"), arg[3] or "sqlite://"
local nrows = 100000
local md = ath.MetaData()
local t = ath.Table("bench_fetch", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local engine = ath.create_engine(url)
md:drop_all(engine)
md:create_all(engine)
local conn = engine:connect()
do
  local rows = {}
  for i = 1, nrows do rows[i] = { id = i, name = "name" .. i, age = i % 90, score = i / 7 } end
  conn:execute(ath.insert(t), rows)
end
collectgarbage()
local q = ath.text("SELECT id, name, age, score FROM bench_fetch")
local clock = os.clock
local best = math.huge
local sum = 0
for _ = 1, (mode == "none" and 0 or reps) do
  local t0 = clock()
  local res = conn:execute(q)
  if mode == "all" then
    for _, row in ipairs(res:all()) do sum = sum + row.age end
  else
    for row in res:iter() do sum = sum + row.age end
  end
  local dt = clock() - t0
  if dt < best then best = dt end
end
md:drop_all(engine)
io.write(string.format("%s %d rows x %d: best %.3f s (%.0f rows/s), checksum %d\n", mode, nrows, reps,
  best, nrows / best, sum))
