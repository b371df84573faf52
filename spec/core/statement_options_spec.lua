-- select():options() is Core's (SQLAlchemy's Executable.options): it keeps
-- statement options for whoever executes the statement, through every
-- generative call, renders nothing from them, and refuses what is not one.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local Option = { _ath_statement_option = true }
Option.__index = Option
local NotOption = { _ath_not_a_statement_option = "is a test refusal naming what to use instead" }
NotOption.__index = NotOption

describe("select():options()", function()
  local md, t
  before_each(function()
    md = ath.MetaData()
    t = ath.Table("opts_t", md, ath.Column("id", ath.Integer, { primary_key = true }), ath.Column("n", ath.Integer))
  end)

  it("keeps options in order through where, order_by and limit, without changing the SQL", function()
    local a, b = setmetatable({ name = "a" }, Option), setmetatable({ name = "b" }, Option)
    local plain = ath.select(t):where(t.c.n:gt(1)):order_by(t.c.id):limit(5)
    local s = ath.select(t):options(a):where(t.c.n:gt(1)):options(b):order_by(t.c.id):limit(5)
    assert.same({ a, b }, s._with_options)
    assert.equal(tostring(plain), tostring(s))
    assert.is_nil(ath.select(t)._with_options)                -- the original is not changed
  end)

  it("runs like the same select without options", function()
    local e = h.engine()
    local c = e:connect()
    md:create_all(c)
    c:execute(ath.insert(t), { { id = 1, n = 1 }, { id = 2, n = 2 } })
    local rows = c:execute(ath.select(t):options(setmetatable({}, Option)):order_by(t.c.id)):all()
    assert.equal(2, #rows)
    assert.equal(2, rows[2].n)
    md:drop_all(c)
    c:close()
    e:dispose()
  end)

  it("refuses a value that is not a statement option, naming the argument", function()
    local err = h.catch(function() return ath.select(t):options(setmetatable({}, Option), { k = 1 }) end)
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.truthy(err.message:find("argument 2 is not a statement option", 1, true), err.message)
    err = h.catch(function() return ath.select(t):options("joinedload") end)
    assert.is_true(errors.is(err, "ArgumentError"))
    err = h.catch(function() return ath.select(t):options(setmetatable({}, NotOption)) end)
    assert.truthy(err.message:find("argument 1 is a test refusal", 1, true), err.message)
  end)
end)
