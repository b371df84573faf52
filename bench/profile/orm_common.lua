-- Shared by the bench/profile/orm_*.lua profile targets: the Bench model
-- on a SQLite file database in WAL mode with synchronous NORMAL (issue 19's
-- pragmas), optionally filled with n rows, and the removal of the file.
local ath = require("athanor")
local orm = require("athanor.orm")

local M = {}

function M.setup(n_rows)
  local path = os.tmpname()
  os.remove(path)
  local engine = ath.create_engine("sqlite:///" .. path,
    { connect_args = { journal_mode = "wal", synchronous = "normal" } })
  local Base = orm.declarative_base()
  local Bench = Base:model("Bench", {
    __tablename = "bench_orm",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.Text),
    age = ath.Column(ath.Integer),
    score = ath.Column(ath.Float),
  })
  Base.metadata:create_all(engine)
  if n_rows and n_rows > 0 then
    local rows = {}
    for i = 1, n_rows do rows[i] = { id = i, name = "name" .. i, age = i % 100, score = i * 0.5 } end
    engine:begin(function(c) c:execute(ath.insert(Bench.__table__), rows) end)
  end
  local env = { engine = engine, Bench = Bench, t = Bench.__table__, Session = orm.sessionmaker({ bind = engine }) }
  -- The two sides orm_load_cpu.lua and orm_load_phases.lua time: every row
  -- fetched with the Core, and every row loaded as an object (then the
  -- session closed); each checks it got all n_rows.
  function env.fetch_core()
    local conn = engine:connect()
    local all = conn:execute(ath.select(env.t)):all()
    assert(#all == n_rows)
    conn:close()
  end
  function env.load_orm()
    local s = env.Session()
    local all = s:query(Bench):all()
    assert(#all == n_rows)
    s:close()
  end
  function env.close()
    engine:dispose()
    for _, suffix in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. suffix) end
  end
  return env
end

-- minstd: the key sequence of every contender
M.keys = require("bench.contenders.common").keys

return M
