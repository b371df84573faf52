-- The ORM examples of the SQLAlchemy overview the project was seeded with
-- (../shared/SEED-sqlalchemy-overview.md §3), in Lua, on every backend.
local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")

describe("The SQLAlchemy overview's ORM examples", function()
  local engine, Base, User, Session, session

  before_each(function()
    engine = h.engine()
    -- Defining a Mapped Class
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "ov_users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String),
      age = ath.Column(ath.Integer),
    })
    Base.metadata:drop_all(engine)
    -- Creating Tables
    Base.metadata:create_all(engine)
    -- Creating a Session
    Session = orm.sessionmaker({ bind = engine })
    session = Session()
  end)

  after_each(function()
    session:close()
    Base.metadata:drop_all(engine)
    engine:dispose()
    h.cleanup()
  end)

  it("maps a class to a table whose columns keep their written order", function()
    local names = {}
    for i, c in ipairs(User.__table__.columns) do names[i] = c.name end
    assert.same({ "id", "name", "age" }, names)
    assert.equal("ov_users", User.__table__.name)
  end)

  it("inserts data with add and commit, and sets the new id on the object", function()
    local new_user = User{ name = "Bob", age = 25 }
    session:add(new_user)
    session:commit()
    assert.is_not_nil(new_user.id)
    assert.equal(1, h.count(engine, "ov_users"))
  end)

  it("queries all users and filters them", function()
    session:add_all({ User{ name = "Bob", age = 25 }, User{ name = "Ann", age = 19 } })
    session:commit()
    local users = session:query(User):all()
    assert.equal(2, #users)
    local older_users = session:query(User):filter(User.age:gt(20)):all()
    assert.equal(1, #older_users)
    assert.equal("Bob", older_users[1].name)
  end)

  it("updates data: filter_by, first, assignment, commit", function()
    session:add(User{ name = "Bob", age = 25 })
    session:commit()
    local user = session:query(User):filter_by({ name = "Bob" }):first()
    user.age = 26
    session:commit()
    local age = engine:connect(function(c)
      return c:execute(ath.select(User.age):where(User.name:eq("Bob"))):scalar()
    end)
    assert.equal(26, age)
  end)

  it("deletes data: delete and commit", function()
    session:add(User{ name = "Bob", age = 25 })
    session:commit()
    local user = session:query(User):filter_by({ name = "Bob" }):first()
    session:delete(user)
    session:commit()
    assert.equal(0, h.count(engine, "ov_users"))
    assert.equal("detached", orm.inspect(user).state)
  end)

  it("runs the query methods the overview lists (order_by, limit, offset, distinct, group_by, having)", function()
    for i, n in ipairs({ "a", "b", "c", "d" }) do session:add(User{ name = n, age = 20 + (i % 2) }) end
    session:commit()
    local page = session:query(User):order_by(User.name:desc()):limit(2):offset(1):all()
    assert.same({ "c", "b" }, { page[1].name, page[2].name })
    local ages = session:query(User.age):distinct():order_by(User.age):all()
    assert.same({ 20, 21 }, { ages[1].age, ages[2].age })
    local groups = session:query(User.age, ath.func.count(User.id):label("n"))
      :group_by(User.age):having(ath.func.count(User.id):ge(2)):order_by(User.age):all()
    assert.equal(2, #groups)
    assert.equal(2, groups[1].n)
  end)
end)
