local ath = require("athanor")
local orm = require("athanor.orm")
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  local m = {}
  m.Team = Base:model("Team", {
    __tablename = "fl_teams",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
  })
  m.Player = Base:model("Player", {
    __tablename = "fl_players",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    score = ath.Column(ath.Integer),
    team_id = ath.Column(ath.Integer, ath.ForeignKey("fl_teams.id")),
  })
  return m
end)

describe("Session:flush()", function()
  before_each(fx.open)
  after_each(fx.close)

  it("issues no UPDATE for an unchanged loaded object", function()
    local Player, s = fx.models.Player, fx.session
    s:add(Player{ name = "p", score = 1 })
    s:commit()
    local p = s:query(Player):one()
    p.score = 1                                     -- assigned, but the same value
    fx.reset_sql()
    s:flush()
    s:commit()
    assert.equal(0, #fx.statements("UPDATE"))
    assert.is_false(s:is_modified(p))
  end)

  it("updates only the changed column of a changed object", function()
    local Player, s = fx.models.Player, fx.session
    s:add(Player{ name = "p", score = 1 })
    s:commit()
    local p = s:query(Player):one()
    p.score = 2
    assert.same({ p }, s.dirty)
    fx.reset_sql()
    s:commit()
    local updates = fx.statements("UPDATE")
    assert.equal(1, #updates)
    assert.matches("SET score", updates[1], 1, true)
    assert.not_matches("name", updates[1], 1, true)
  end)

  it("writes NULL for an attribute assigned nil", function()
    local Player, s = fx.models.Player, fx.session
    s:add(Player{ name = "p", score = 1 })
    s:commit()
    local p = s:query(Player):one()
    p.score = nil
    s:commit()
    local score = fx.engine:connect(function(c)
      return c:execute(ath.select(ath.func.count()):select_from(Player.__table__):where(Player.score:is_(ath.null))):scalar()
    end)
    assert.equal(1, score)
  end)

  it("inserts 1,000 new objects in batched statements and sets every id", function()
    local Player, s = fx.models.Player, fx.session
    local players = {}
    for i = 1, 1000 do players[i] = Player{ name = "p" .. i, score = i } end
    s:add_all(players)
    fx.reset_sql()
    s:flush()
    assert.is_true(#fx.statements("INSERT") <= 2, "expected batched INSERTs, got " .. #fx.statements("INSERT"))
    local seen = {}
    for i, p in ipairs(players) do
      assert.is_number(p.id)
      assert.is_nil(seen[p.id])
      seen[p.id] = true
      assert.equal(p, s:get(Player, p.id))
      assert.equal(i, p.score)
    end
    s:commit()
    assert.equal(1000, fx.count("fl_players"))
    -- each object got the id of its own row
    fx.engine:connect(function(c)
      for _, row in ipairs(c:execute(ath.select(Player.id, Player.name)):all()) do
        assert.equal(row.name, "p" .. players[tonumber(row.name:sub(2))].score)
        assert.equal(row.id, players[tonumber(row.name:sub(2))].id)
      end
    end)
  end)

  it("inserts parents before children and deletes children before parents, whatever the order of add", function()
    local m, s = fx.models, fx.session
    s:add(m.Player{ id = 10, name = "child", team_id = 1 })   -- the child first
    s:add(m.Team{ id = 1, name = "parent" })
    s:commit()
    assert.equal(1, fx.count("fl_teams"))
    assert.equal(1, fx.count("fl_players"))
    local team, player = s:get(m.Team, 1), s:get(m.Player, 10)
    s:delete(team)                                            -- the parent first
    s:delete(player)
    fx.reset_sql()
    s:commit()
    local deletes = fx.statements("DELETE")
    assert.equal(2, #deletes)
    assert.matches("fl_players", deletes[1], 1, true)
    assert.matches("fl_teams", deletes[2], 1, true)
    assert.equal(0, fx.count("fl_teams"))
  end)

  it("runs the whole flush in one transaction", function()
    local m, s = fx.models, fx.session
    local begins = 0
    ath.event.listen(fx.engine, "begin", function() begins = begins + 1 end)
    s:add_all({ m.Team{ name = "a" }, m.Team{ name = "b" }, m.Player{ name = "x" } })
    s:commit()
    assert.equal(1, begins)
  end)

  it("expires objects on commit and reads them again on access", function()
    local Player, s = fx.models.Player, fx.session
    local p = Player{ name = "p", score = 5 }
    s:add(p)
    s:commit()
    assert.is_nil(rawget(p, "score"))                -- expired: not in the table
    fx.reset_sql()
    assert.equal(5, p.score)                          -- loaded on access
    assert.equal(1, #fx.statements("SELECT"))
    assert.equal("p", rawget(p, "name"))
  end)

  it("keeps attributes after commit with expire_on_commit = false", function()
    local Player = fx.models.Player
    local s = fx.Session({ expire_on_commit = false })
    local p = Player{ name = "p", score = 5 }
    s:add(p)
    s:commit()
    assert.equal(5, rawget(p, "score"))
    s:close()
  end)

  it("flushes pending objects before a query (autoflush)", function()
    local Player, s = fx.models.Player, fx.session
    s:add(Player{ name = "auto" })
    assert.equal(1, s:query(Player):filter_by({ name = "auto" }):count())
    local s2 = fx.Session({ autoflush = false })
    s2:add(Player{ name = "manual" })
    assert.equal(0, s2:query(Player):filter_by({ name = "manual" }):count())
    s2:close()
  end)

  it("lists pending, dirty and deleted objects in session.new, .dirty and .deleted", function()
    local Player, s = fx.models.Player, fx.session
    local a, b = Player{ name = "a" }, Player{ name = "b" }
    s:add_all({ a, b })
    assert.same({ a, b }, s.new)
    s:commit()
    a.name = "a2"
    s:delete(b)
    assert.same({ a }, s.dirty)
    assert.same({ b }, s.deleted)
    assert.equal("persistent", orm.inspect(b).state)
  end)

  it("merges a detached copy into the session's object", function()
    local Player, s = fx.models.Player, fx.session
    local p = Player{ name = "p", score = 1 }
    s:add(p)
    s:commit()
    local copy = Player{ id = p.id, name = "p2", score = 2 }
    local merged = s:merge(copy)
    assert.equal(p, merged)
    assert.equal("p2", p.name)
    s:commit()
    assert.equal(2, s:query(Player.score):scalar())
  end)

  it("commits on return and rolls back on error with session:begin(fn)", function()
    local Player, s = fx.models.Player, fx.session
    s:begin(function(sess) sess:add(Player{ name = "kept" }) end)
    assert.equal(1, fx.count("fl_players"))
    local ok = pcall(s.begin, s, function(sess)
      sess:add(Player{ name = "lost" })
      sess:flush()
      error("boom")
    end)
    assert.is_false(ok)
    assert.equal(1, fx.count("fl_players"))
  end)

  it("rolls back to a SAVEPOINT with begin_nested()", function()
    local Player, s = fx.models.Player, fx.session
    s:add(Player{ name = "outer" })
    local sp = s:begin_nested()
    local inner = Player{ name = "inner" }
    s:add(inner)
    s:flush()
    sp:rollback()
    assert.equal("transient", orm.inspect(inner).state)
    s:commit()
    assert.equal(1, fx.count("fl_players"))
  end)
end)

describe("Session:flush() of objects with no column given", function()
  before_each(fx.open)
  after_each(fx.close)

  it("inserts each with its database key (DEFAULT VALUES)", function()
    local Team, s = fx.models.Team, fx.session
    local a, b, c = Team{}, Team{}, Team{}
    s:add_all({ a, b, c })
    s:commit()
    assert.equal(3, fx.count("fl_teams"))
    assert.is_true(a.id ~= b.id and b.id ~= c.id and a.id ~= c.id)
  end)
end)
