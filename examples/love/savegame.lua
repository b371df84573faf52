--- The save-game of the LÖVE example (docs/love.md): a schema, save and load.
-- A state is { name = ..., x = ..., y = ..., level = ..., inventory = { item = count } }.
local ath = require("athanor")

local M = {}

M.metadata = ath.MetaData()
M.player = ath.Table("player", M.metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40), { nullable = false }),
  ath.Column("x", ath.Float, { nullable = false }),
  ath.Column("y", ath.Float, { nullable = false }),
  ath.Column("level", ath.Integer, { nullable = false }))
M.inventory = ath.Table("inventory", M.metadata,
  ath.Column("item", ath.String(40), { primary_key = true }),
  ath.Column("count", ath.Integer, { nullable = false }))

-- What games want from SQLite (docs/love.md): WAL, so a save appends to the
-- log instead of rewriting pages through a rollback journal, and
-- synchronous = NORMAL, so a commit does not wait for the disk (a crash or
-- power cut may lose the last save, never corrupt the file).
M.recommended = { connect_args = { journal_mode = "wal", synchronous = "normal" } }

--- Opens (creating if needed) the save database at `path`.
-- @param path a real file path (from athanor.love.setup())
-- @param options create_engine options; M.recommended by default
function M.open(path, options)
  local engine = ath.create_engine("sqlite:///" .. path, options or M.recommended)
  M.metadata:create_all(engine)
  return engine
end

--- Replaces the saved state with `state`, in one transaction.
function M.save(engine, state)
  engine:begin(function(conn)
    conn:execute(M.player:delete())
    conn:execute(M.inventory:delete())
    conn:execute(M.player:insert():values({
      id = 1, name = state.name, x = state.x, y = state.y, level = state.level }))
    local items = {}
    for item, count in pairs(state.inventory or {}) do items[#items + 1] = { item = item, count = count } end
    if #items > 0 then conn:execute(M.inventory:insert(), items) end
  end)
end

--- The saved state, or nil when nothing was saved yet.
function M.load(engine)
  return engine:connect(function(conn)
    local p = conn:execute(ath.select(M.player)):first()
    if not p then return nil end
    local state = { name = p.name, x = p.x, y = p.y, level = p.level, inventory = {} }
    for row in conn:execute(ath.select(M.inventory)) do state.inventory[row.item] = row.count end
    return state
  end)
end

-- A love.thread Channel carries flat tables only: inventory entries travel
-- as "item:<name>" keys.
function M.flatten(state)
  local flat = { name = state.name, x = state.x, y = state.y, level = state.level }
  for item, count in pairs(state.inventory or {}) do flat["item:" .. item] = count end
  return flat
end

function M.unflatten(flat)
  local state = { name = flat.name, x = flat.x, y = flat.y, level = flat.level, inventory = {} }
  for k, v in pairs(flat) do
    local item = type(k) == "string" and k:match("^item:(.*)$")
    if item then state.inventory[item] = v end
  end
  return state
end

return M
