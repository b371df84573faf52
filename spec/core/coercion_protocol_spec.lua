-- The coercion protocol (docs/coercion.md): a plain Lua class, not Core,
-- whose instances implement __clause_element__ is accepted wherever Core
-- takes a column, a FROM element or a statement; anything else that is not
-- Core's own is refused with an ArgumentError naming the role and the value.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

-- A user's class: an "entity" standing for a table, an "attribute" standing
-- for a column, a "query" standing for a statement. Methods live on the
-- class (found through the metatable's __index), as ORM models will have them.
local Stand = {}
Stand.__index = Stand
function Stand.new(element) return setmetatable({ element = element }, Stand) end
function Stand:__clause_element__() return self.element end

-- The protocol also works as a plain field of the object.
local function field_stand(element)
  return { __clause_element__ = function() return element end }
end

local md = ath.MetaData()
local teams = ath.Table("cp_teams", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40)))
local people = ath.Table("cp_people", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40), { nullable = false }),
  ath.Column("age", ath.Integer),
  ath.Column("team_id", ath.Integer, ath.ForeignKey("cp_teams.id")))

local Team, Person = Stand.new(teams), Stand.new(people)
local P = { id = Stand.new(people.c.id), name = Stand.new(people.c.name), age = Stand.new(people.c.age),
            team_id = Stand.new(people.c.team_id) }
local T = { id = Stand.new(teams.c.id), name = Stand.new(teams.c.name) }

describe("The __clause_element__ protocol", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)
  before_each(function()
    conn:execute(ath.delete(people))
    conn:execute(ath.delete(teams))
    conn:execute(ath.insert(teams), { { id = 1, name = "red" }, { id = 2, name = "blue" } })
    conn:execute(ath.insert(people), {
      { id = 1, name = "ann", age = 30, team_id = 1 },
      { id = 2, name = "bob", age = 20, team_id = 2 },
      { id = 3, name = "cy", age = 40, team_id = 1 } })
  end)

  local function count(t) return conn:execute(ath.select(ath.func.count()):select_from(t)):scalar() end

  it("accepts an object standing for a table in the select list, expanded to its columns", function()
    local rows = conn:execute(ath.select(Person):order_by(people.c.id)):all()
    assert.equal(3, #rows)
    assert.same({ "id", "name", "age", "team_id" }, rows[1]:_fields())
    assert.equal("ann", rows[1].name)
  end)

  it("accepts objects standing for columns in the select list, where, order_by and group_by", function()
    local rows = conn:execute(ath.select(P.name, P.age):where(P.age:__clause_element__():gt(25))
      :where(Stand.new(people.c.name:ne("zed"))):order_by(P.age)):all()
    assert.same({ "ann", "cy" }, { rows[1].name, rows[2].name })
    local grouped = conn:execute(ath.select(P.team_id, ath.func.count()):group_by(P.team_id)
      :order_by(P.team_id)):all()
    assert.equal(2, grouped[1][2])
  end)

  it("accepts an object standing for a criterion in where(), and as an operand of an operator", function()
    local is_bob = Stand.new(people.c.name:eq("bob"))
    assert.equal(2, conn:execute(ath.select(people.c.id):where(is_bob)):scalar())
    assert.equal(3, conn:execute(ath.select(people.c.id):where(people.c.age:gt(P.id) ,
      people.c.age:ge(40))):scalar())
  end)

  it("accepts objects standing for tables as join targets, select_from and join_from, with an inferred ON", function()
    local rows = conn:execute(ath.select(P.name, T.name):select_from(Person):join(Team)
      :order_by(P.id)):all()
    assert.equal("red", rows[1][2])
    assert.equal("blue", rows[2][2])
    local explicit = conn:execute(ath.select(P.name):join_from(Person, Team, Stand.new(people.c.team_id:eq(teams.c.id)))
      :where(T.name:__clause_element__():eq("blue"))):all()
    assert.equal(1, #explicit)
    assert.equal("bob", explicit[1].name)
  end)

  it("accepts an object standing for a select in in_(), exists() and union", function()
    local reds = Stand.new(ath.select(teams.c.id):where(teams.c.name:eq("red")))
    local rows = conn:execute(ath.select(people.c.name):where(people.c.team_id:in_(reds)):order_by(people.c.id)):all()
    assert.equal(2, #rows)
    assert.is_true(conn:execute(ath.select(ath.exists(reds))):scalar() == true
      or conn:execute(ath.select(ath.exists(reds))):scalar() == 1)
    local u = ath.union(reds, Stand.new(ath.select(teams.c.id):where(teams.c.name:eq("blue"))))
    assert.equal(2, #conn:execute(u):all())
  end)

  it("accepts an object standing for a table as the target of insert, update and delete", function()
    conn:execute(ath.insert(Person):values({ id = 4, name = "dee", age = 50 }))
    conn:execute(ath.update(Person):where(P.id:__clause_element__():eq(4)):values({ age = 51 }))
    assert.equal(51, conn:execute(ath.select(P.age):where(people.c.id:eq(4))):scalar())
    conn:execute(ath.delete(Person):where(Stand.new(people.c.id:eq(4))))
    assert.equal(3, count(people))
  end)

  it("accepts objects standing for columns as keys of values{} and in returning()", function()
    conn:execute(ath.insert(people):values({ [P.id] = 5, [P.name] = "eve", age = 22 }))
    local res = conn:execute(ath.update(people):values({ [P.age] = 23 }):where(people.c.id:eq(5)):returning(P.age))
    assert.equal(23, res:scalar())
    assert.equal("eve", conn:execute(ath.select(people.c.name):where(people.c.id:eq(5))):scalar())
  end)

  it("accepts an object standing for a statement in Connection:execute()", function()
    local q = Stand.new(ath.select(people.c.name):where(people.c.id:eq(2)))
    assert.equal("bob", conn:execute(q):scalar())
    conn:execute(Stand.new(ath.insert(people)), { id = 6, name = "fay", age = 1 })
    assert.equal(4, count(people))
    assert.equal(1, conn:execute(field_stand(ath.text("SELECT count(*) AS n FROM cp_people WHERE age < 2"))):scalar())
  end)

  it("follows a chain of objects, and takes the method as a plain field too", function()
    local chained = Stand.new(Stand.new(field_stand(people)))
    assert.equal(3, #conn:execute(ath.select(chained)):all())
    assert.equal(3, count(field_stand(people)))
  end)

  it("takes an object whose __clause_element__ answers nil as a value, not an element", function()
    local Model = {}
    Model.__index = Model
    function Model:__clause_element__() if rawequal(self, Model) then return people end end
    local instance = setmetatable({ id = 1 }, Model)
    assert.equal(4, #conn:execute(ath.select(Model):where(people.c.id:eq(1))):first():_fields())
    local err = h.catch(function() return people.c.age:eq(instance) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("expects an integer", 1, true), tostring(err))   -- bound as a value
    err = h.catch(function() return ath.select(instance) end)
    assert.truthy(err.message:find("ColumnsClauseRole", 1, true), tostring(err))
  end)

  describe("refusal", function()
    local function refused(fn, role, phrase)
      local ok, err = pcall(fn)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(tostring(err.message):find(role, 1, true), tostring(err))
      if phrase then assert.truthy(tostring(err.message):find(phrase, 1, true), tostring(err)) end
      return err
    end

    it("names the role and the value for a table without __clause_element__, and writes nothing", function()
      local plain = { name = "not a column" }
      refused(function() return ath.select(plain) end, "ColumnsClauseRole", "without __clause_element__")
      refused(function() return ath.select(people.c.id):where(plain) end, "WhereHavingRole", "not a column")
      refused(function() return ath.select(people.c.id):join(plain) end, "JoinTargetRole")
      refused(function() return ath.select(people.c.id):select_from(plain) end, "FromClauseRole")
      refused(function() return ath.select(people.c.id):order_by(plain) end, "OrderByRole")
      refused(function() return ath.insert(plain) end, "DMLTableRole")
      refused(function() return ath.update(plain) end, "DMLTableRole")
      refused(function() return ath.delete(plain) end, "DMLTableRole")
      refused(function() return people.c.id:in_(Stand.new(people.c.id)) end, "in_()")
      refused(function() return ath.exists(plain) end, "SelectStatementRole")
      refused(function() return ath.insert(people):values({ [plain] = 1 }) end, "DMLColumnRole")
      refused(function() return conn:execute(plain) end, "StatementRole")
      assert.equal(3, count(people))
    end)

    it("refuses an object whose __clause_element__ answers the wrong role", function()
      refused(function() return ath.select(people.c.id):join(P.name) end, "JoinTargetRole", "athanor.Column")
      refused(function() return ath.insert(P.name) end, "DMLTableRole")
      refused(function() return conn:execute(Person) end, "StatementRole")
      refused(function() return ath.insert(people):values({ [T.name] = "x" }) end, "DMLColumnRole")
    end)

    it("refuses a __clause_element__ that returns something not Core, naming it", function()
      local bad = Stand.new(42)
      local ok, err = pcall(function() return ath.select(bad) end)
      assert.is_false(ok)
      assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
      assert.truthy(err.message:find("__clause_element__", 1, true))
      assert.truthy(err.message:find("42", 1, true))
      local loop = setmetatable({}, { __index = { __clause_element__ = function(self) return self end } })
      assert.is_true(errors.is(h.catch(function() return ath.select(loop) end), "ArgumentError"))
    end)
  end)
end)
