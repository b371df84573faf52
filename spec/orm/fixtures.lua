--- Fixtures of the ORM specs: fresh models, tables, an engine and a
-- session for each test, and the SQL statements the engine ran.
local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")

local M = {}

--- fx = fixtures.new(function(Base) return { User = ..., ... } end)
-- before_each(fx.open); after_each(fx.close). fx.Base, fx.models, fx.engine,
-- fx.Session (a sessionmaker), fx.session, fx.sql (statements run since
-- fx.reset_sql()).
--- Collect until weak tables let go: an object referenced only from a
-- weak-keyed table (the state table) or held by one that was itself just
-- freed takes more than one full cycle to go.
function M.full_gc()
  for _ = 1, 4 do collectgarbage("collect") end
end

function M.new(build, session_opts)
  local fx = { sql = {} }
  function fx.open()
    fx.Base = orm.declarative_base()
    fx.models = build(fx.Base)
    fx.engine = h.engine()
    fx.Base.metadata:drop_all(fx.engine)
    fx.Base.metadata:create_all(fx.engine)
    local opts = { bind = fx.engine }
    for k, v in pairs(session_opts or {}) do opts[k] = v end
    fx.Session = orm.sessionmaker(opts)
    fx.session = fx.Session()
    fx.sql = {}
    ath.event.listen(fx.engine, "before_cursor_execute", function(_, _, statement)
      fx.sql[#fx.sql + 1] = statement
    end)
  end
  function fx.close()
    if fx.session then fx.session:close() end
    fx.Base.metadata:drop_all(fx.engine)
    fx.engine:dispose()
    h.cleanup()
  end
  function fx.reset_sql() fx.sql = {} end
  --- The statements run since reset_sql() whose text starts with `verb`.
  function fx.statements(verb)
    local out = {}
    for _, s in ipairs(fx.sql) do
      if s:upper():match("^%s*" .. verb:upper()) then out[#out + 1] = s end
    end
    return out
  end
  --- Rows of a table through a fresh connection (what is committed).
  function fx.count(tname) return h.count(fx.engine, tname) end
  --- How many statements fn() runs.
  function fx.statements_run(fn)
    fx.sql = {}
    fn()
    return #fx.sql
  end
  --- fn(s) on a fresh session (what another request would see), closed after.
  function fx.with_session(fn)
    local s = fx.Session()
    local ok, err = pcall(fn, s)
    s:close()
    if not ok then error(err, 0) end
  end
  --- With blog_models: n users, each with `per` addresses and one post with
  -- two comments, committed.
  function fx.seed_blog(n, per)
    local m, s = fx.models, fx.session
    for i = 1, n do
      local u = m.User{ name = string.format("u%03d", i) }
      for j = 1, per do table.insert(u.addresses, m.Address{ email = "a" .. i .. "_" .. j }) end
      u.posts = { m.Post{ title = "p" .. i, comments = { m.Comment{ body = "c1" }, m.Comment{ body = "c2" } } } }
      s:add(u)
    end
    s:commit()
  end
  return fx
end

--- The loading specs' models: User -< Address, User -< Post -< Comment, in
-- tables named <prefix>_users ... Each relationship takes the options the
-- spec is about: rel.addresses, rel.posts, rel.comments, and rel.user (the
-- Address -> User side; without it Address has no such relationship).
function M.blog_models(Base, prefix, rel)
  local m = {}
  m.User = Base:model("User", {
    __tablename = prefix .. "_users",
    id = ath.Column(ath.Integer, { primary_key = true }),
    name = ath.Column(ath.String(50)),
    addresses = orm.relationship("Address", rel.addresses or {}),
    posts = orm.relationship("Post", rel.posts or {}),
  })
  m.Address = Base:model("Address", {
    __tablename = prefix .. "_addresses",
    id = ath.Column(ath.Integer, { primary_key = true }),
    email = ath.Column(ath.String(50)),
    user_id = ath.Column(ath.Integer, ath.ForeignKey(prefix .. "_users.id")),
    user = rel.user and orm.relationship("User", rel.user) or nil,
  })
  m.Post = Base:model("Post", {
    __tablename = prefix .. "_posts",
    id = ath.Column(ath.Integer, { primary_key = true }),
    title = ath.Column(ath.String(50)),
    user_id = ath.Column(ath.Integer, ath.ForeignKey(prefix .. "_users.id")),
    comments = orm.relationship("Comment", rel.comments or {}),
  })
  m.Comment = Base:model("Comment", {
    __tablename = prefix .. "_comments",
    id = ath.Column(ath.Integer, { primary_key = true }),
    body = ath.Column(ath.String(50)),
    post_id = ath.Column(ath.Integer, ath.ForeignKey(prefix .. "_posts.id")),
  })
  return m
end

return M
