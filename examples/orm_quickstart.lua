-- athanor ORM quickstart: SQLAlchemy's ORM tutorial in Lua (docs/orm.md).
-- Define a model, create its table, open a session, insert, query, filter,
-- update, delete, and watch an object's states. `make test` runs it on
-- Lua 5.4 and LuaJIT; run it yourself with
--   eval "$(bash tools/env.sh build lua54)"; lua5.4 examples/orm_quickstart.lua
local ath = require("athanor")
local orm = require("athanor.orm")

-- Connecting (sqlite:///example.db for a file; postgresql://... works the same)
local engine = ath.create_engine("sqlite://")

-- Defining a mapped class: a model builds its Table in Base.metadata
local Base = orm.declarative_base()
local User = Base:model("User", {
  __tablename = "users",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String(50), { nullable = false }),
  age = ath.Column(ath.Integer),
})
function User:greeting() return "Hello, " .. self.name end

-- Creating tables
Base.metadata:create_all(engine)

-- Creating a session
local Session = orm.sessionmaker({ bind = engine })
local session = Session()

-- Inserting data
local bob = User{ name = "Bob", age = 25 }
print("new object:", orm.inspect(bob).state)                  -- transient
session:add(bob)
print("after add:", orm.inspect(bob).state)                   -- pending
session:add_all({ User{ name = "Alice", age = 30 }, User{ name = "Carol", age = 19 } })
session:commit()
print("after commit:", orm.inspect(bob).state, "id =", bob.id) -- persistent, id = 1
print(bob:greeting())

-- Querying data
local users = session:query(User):order_by(User.name):all()
for _, u in ipairs(users) do print("user", u.id, u.name, u.age) end
local older_users = session:query(User):filter(User.age:gt(20)):order_by(User.age):all()
print("older than 20:", #older_users)
assert(session:get(User, bob.id) == bob)                      -- the identity map: the same object

-- The 2.0 style: Core statements through the session
local alice = session:scalars(ath.select(User):where(User.name:eq("Alice"))):one()
print("found", alice.name)

-- Updating data: plain assignment, found at flush
local user = session:query(User):filter_by({ name = "Bob" }):first()
user.age = 26
print("modified:", table.concat(orm.inspect(user).modified, ", "))   -- age
session:commit()

-- Deleting data
session:delete(user)
session:commit()
print("after delete + commit:", orm.inspect(user).state)     -- detached
print("users left:", session:query(User):count())
assert(session:query(User):count() == 2)

-- A failed flush rolls back and asks for rollback()
session:add(User{ name = ath.null })                          -- NOT NULL: the INSERT fails
local ok, err = pcall(session.commit, session)
print("commit failed:", not ok, err.kind)
session:rollback()
print("after rollback:", session:query(User):count(), "users")

session:close()
engine:dispose()
