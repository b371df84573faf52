-- The cosocket driver (postgresql+cosocket://, docs/cosocket-driver.md)
-- against the test server, next to the libpq driver on the same database:
-- the whole suite also runs through it (tools/test_pg.sh); these are the
-- parts only it has.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

-- The test URL with the driver named: cosocket and libpq.
local function urls()
  local rest = h.url:match("^[%w]+%+?[%w]*(://.*)$")
  return "postgresql+cosocket" .. rest, "postgresql" .. rest
end

describe("The cosocket driver #postgresql", function()
  local cos_url, libpq_url = urls()

  it("is chosen by the +cosocket URL and reports its driver", function()
    local e = ath.create_engine(cos_url)
    local info = e:_core():info()
    assert.equal("cosocket", info.driver)
    assert.equal("postgresql", e.dialect.name)
    assert.equal("numeric_dollar", e.dialect.paramstyle)
    assert.falsy(tostring(e):find(":dev@", 1, true))             -- the password is masked
    assert.equal(1, e:connect(function(c) return c:execute(ath.text("SELECT 1")):scalar() end))
    e:dispose()
  end)

  it("returns the same values as the libpq driver for every type it decodes", function()
    local big = h.lua54 and "9007199254740993" or "9007199254740992"   -- LuaJIT: 2^53 at most
    local sql = [[SELECT 1::int2 AS a, 2::int4 AS b, ]] .. big .. [[::int8 AS c, 1.5::float4 AS d,
      'NaN'::float8 AS e, true AS f, 12.50::numeric AS g, 'x'::text AS h, '\x00ff'::bytea AS i,
      '{"k": [1, null]}'::jsonb AS j, '2024-01-02'::date AS k, '10:11:12+02'::timetz AS l,
      '2024-01-02 03:04:05+00'::timestamptz AS m, '{1,NULL,3}'::int[] AS n, '{"a b","c"}'::text[] AS o,
      NULL::int AS p, $1::int AS q, $2::text AS r, $3::bytea AS s]]
    local params = { 41, "text", { _ath_type = "blob", "\0\1" } }
    local function one(url)
      local e = ath.create_engine(url)
      local row = e:connect(function(c)
        return c:exec_driver_sql(sql, params):one()
      end)
      e:dispose()
      return row
    end
    local a, b = one(cos_url), one(libpq_url)
    local fields = getmetatable(a).__fields
    assert.same(getmetatable(b).__fields, fields)
    for i, name in ipairs(fields) do
      local x, y = a[name], b[name]
      if name == "e" then assert.is_true(x ~= x and y ~= y)       -- NaN
      else assert.same(y, x, "column " .. name) end
      assert.same(b[i] == b[i] and b[i] or "nan", a[i] == a[i] and a[i] or "nan")
    end
  end)

  it("authenticates with SCRAM-SHA-256 against the live server", function()
    local admin = ath.create_engine(libpq_url, { poolclass = "null" })
    local method = admin:connect(function(c)
      return c:execute(ath.text("SELECT current_setting('password_encryption')")):scalar()
    end)
    admin:dispose()
    if method ~= "scram-sha-256" or not h.url:find(":[^/@]*@") then
      return                    -- the test server asks this user for no SCRAM password
    end
    local e = ath.create_engine(cos_url, { poolclass = "null" })
    assert.equal(1, e:connect(function(c) return c:execute(ath.text("SELECT 1")):scalar() end))
    local wrong = cos_url:gsub("(://[^:/@]+):[^@]*@", "%1:wrong-password@")
    local bad = ath.create_engine(wrong, { poolclass = "null" })
    local err = h.catch(bad.connect, bad)
    assert.is_true(errors.is(err, "OperationalError"), tostring(err))
    assert.truthy(err.message:find("password authentication failed", 1, true), err.message)
    assert.falsy(err.message:find("wrong-password", 1, true))
    assert.is_nil(err.connection_invalidated)
    e:dispose()
  end)

  it("refuses an unknown URL option with ArgumentError naming it", function()
    local err = h.catch(ath.create_engine, cos_url .. (cos_url:find("?", 1, true) and "&" or "?") .. "bogus=1")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("bogus", 1, true))
    err = h.catch(ath.create_engine, cos_url .. (cos_url:find("?", 1, true) and "&" or "?") .. "sslmode=sometimes")
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("sslmode", 1, true))
  end)

  it("fails to connect with OperationalError naming the host when nothing listens", function()
    local e = ath.create_engine("postgresql+cosocket://u:p@127.0.0.1:1/db", { poolclass = "null" })
    local err = h.catch(e.connect, e)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.truthy(err.message:find("127.0.0.1", 1, true))
    assert.equal(0, e.pool:status().checked_out)
  end)

  it("pipelines an executemany past one batch and names the failing row", function()
    local e = ath.create_engine(cos_url)
    e:connect(function(c)
      c:exec_driver_sql("DROP TABLE IF EXISTS cos_many")
      c:exec_driver_sql("CREATE TABLE cos_many (id int PRIMARY KEY, v text)")
      local rows = {}
      for i = 1, 2500 do rows[i] = { i, "v" .. i } end
      assert.equal(2500, c:exec_driver_sql("INSERT INTO cos_many VALUES ($1, $2)", rows).rowcount)
      rows = {}
      for i = 1, 1500 do rows[i] = { 3000 + i, "w" } end
      rows[1200] = { 7, "dup" }                                 -- in the second batch
      local err = h.catch(c.exec_driver_sql, c, "INSERT INTO cos_many VALUES ($1, $2)", rows)
      assert.is_true(errors.is(err, "IntegrityError"))
      assert.equal("23505", err.code)
      assert.same({ 7, "dup" }, err.params)
      assert.equal(2500, c:execute(ath.text("SELECT count(*) FROM cos_many")):scalar())   -- nothing written
      c:exec_driver_sql("DROP TABLE cos_many")
    end)
    e:dispose()
  end)

  it("raises InvalidRequestError naming the nginx phase where cosockets are unavailable", function()
    local e = ath.create_engine(cos_url, { poolclass = "null" })
    for _, phase in ipairs({ "init", "init_worker", "header_filter", "body_filter", "log" }) do
      _G.ngx = { socket = {}, get_phase = function() return phase end }
      local err = h.catch(e.connect, e)
      _G.ngx = nil
      assert.is_true(errors.is(err, "InvalidRequestError"), tostring(err))
      assert.truthy(err.message:find(phase .. " phase", 1, true), err.message)
    end
    assert.equal(1, e:connect(function(c) return c:execute(ath.text("SELECT 1")):scalar() end))
    e:dispose()
  end)

  it("refuses sslmode=require outside nginx with a clear error", function()
    local e = ath.create_engine(cos_url .. (cos_url:find("?", 1, true) and "&" or "?") .. "sslmode=require",
      { poolclass = "null" })
    local err = h.catch(e.connect, e)
    assert.is_true(errors.is(err, "OperationalError"))
    assert.truthy(err.message:find("TLS", 1, true), err.message)
  end)
end)
