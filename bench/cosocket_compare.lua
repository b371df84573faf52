-- The cosocket driver against the libpq driver on the same server, same
-- work (docs/cosocket-driver.md):
--   luajit bench/cosocket_compare.lua postgresql://postgres:dev@localhost:5432/dev_d
-- 10,000 point selects by primary key, a 100,000-row fetch, and an
-- executemany of 10,000 rows; best of 3 runs each.
local ath = require("athanor")
local core = require("athanor.core")

local base = arg[1] or os.getenv("ATHANOR_TEST_URL") or "postgresql://postgres:dev@localhost:5432/postgres"
local rest = base:match("^[%w]+%+?[%w]*(://.*)$")
local urls = { { "libpq", "postgresql" .. rest }, { "cosocket", "postgresql+cosocket" .. rest } }

local function best(fn)
  local t = math.huge
  for _ = 1, 3 do
    local t0 = core.monotonic()
    fn()
    t = math.min(t, core.monotonic() - t0)
  end
  return t
end

local setup = ath.create_engine(urls[1][2])
setup:connect(function(c)
  c:exec_driver_sql("DROP TABLE IF EXISTS bench_cos")
  c:exec_driver_sql("CREATE TABLE bench_cos (id int PRIMARY KEY, name text, qty int, price numeric)")
  c:exec_driver_sql("INSERT INTO bench_cos SELECT g, 'name ' || g, g % 100, g * 1.5 FROM generate_series(1, 100000) g")
end)

print(string.format("%-9s %18s %18s %18s", "driver", "10k point selects", "100k-row fetch", "10k executemany"))
for _, u in ipairs(urls) do
  local e = ath.create_engine(u[2])
  local conn = e:connect()
  local q = ath.text("SELECT id, name, qty, price FROM bench_cos WHERE id = :id")
  local selects = best(function()
    for i = 1, 10000 do conn:execute(q, { id = i }):one() end
  end)
  local fetch = best(function()
    local rows = conn:execute(ath.text("SELECT id, name, qty, price FROM bench_cos")):all()
    assert(#rows == 100000)
  end)
  local many = best(function()
    conn:exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS bench_cos_ins (id int, name text)")
    conn:exec_driver_sql("TRUNCATE bench_cos_ins")
    local rows = {}
    for i = 1, 10000 do rows[i] = { i, "n" .. i } end
    conn:exec_driver_sql("INSERT INTO bench_cos_ins VALUES ($1, $2)", rows)
  end)
  print(string.format("%-9s %15.3f s %15.3f s %15.3f s", u[1], selects, fetch, many))
  conn:close()
  e:dispose()
end
setup:connect(function(c) c:exec_driver_sql("DROP TABLE bench_cos") end)
setup:dispose()
