-- The relationship example of the SQLAlchemy overview the project was
-- seeded with (../shared/SEED-sqlalchemy-overview.md §4): Address.user and
-- User.addresses with back_populates, the latter added after the model
-- exists, and `session.query(User).options(joinedload(User.addresses)).all()`,
-- in Lua, on every backend.
local ath = require("athanor")
local orm = require("athanor.orm")
local h = require("spec.helpers")

describe("The SQLAlchemy overview's relationship example", function()
  local engine, Base, User, Address, Session, session, statements

  before_each(function()
    engine = h.engine()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "users",
      id = ath.Column(ath.Integer, { primary_key = true }),
      name = ath.Column(ath.String),
      age = ath.Column(ath.Integer),
    })

    -- class Address(Base): ... user = relationship("User", back_populates="addresses")
    Address = Base:model("Address", {
      __tablename = "addresses",
      id = ath.Column(ath.Integer, { primary_key = true }),
      email = ath.Column(ath.String),
      user_id = ath.Column(ath.Integer, ath.ForeignKey("users.id")),
      user = orm.relationship("User", { back_populates = "addresses" }),
    })

    -- User.addresses = relationship("Address", back_populates="user")
    User.addresses = orm.relationship("Address", { back_populates = "user" })

    Base.metadata:drop_all(engine)
    Base.metadata:create_all(engine)
    Session = orm.sessionmaker({ bind = engine })
    session = Session()
    statements = 0
    ath.event.listen(engine, "before_cursor_execute", function() statements = statements + 1 end)
  end)

  after_each(function()
    session:close()
    Base.metadata:drop_all(engine)
    engine:dispose()
    h.cleanup()
  end)

  it("loads users with their addresses in one statement with joinedload(User.addresses)", function()
    local bob = User{ name = "Bob", age = 25 }
    bob.addresses = { Address{ email = "bob@example.com" }, Address{ email = "bob@work.example" } }
    local ann = User{ name = "Ann", age = 31 }
    session:add_all({ bob, ann })
    session:commit()

    local s = Session()
    statements = 0
    -- session.query(User).options(joinedload(User.addresses)).all()
    local users = s:query(User):options(orm.joinedload(User.addresses)):order_by(User.name):all()
    assert.equal(2, #users)
    local emails = {}
    for _, u in ipairs(users) do
      for _, a in ipairs(u.addresses) do
        emails[#emails + 1] = u.name .. ":" .. a.email
        assert.equal(u, a.user)                        -- back_populates: the same object, no SQL
      end
    end
    table.sort(emails)
    assert.same({ "Bob:bob@example.com", "Bob:bob@work.example" }, emails)
    assert.same({}, users[1].addresses)               -- Ann has none (ordered by name)
    assert.equal(1, statements)
    s:close()
  end)

  it("keeps both sides in agreement: setting address.user puts the address in user.addresses", function()
    local bob = User{ name = "Bob" }
    local a = Address{ email = "bob@example.com" }
    a.user = bob
    assert.equal(a, bob.addresses[1])
    session:add(bob)                                  -- the address comes along (save-update)
    session:commit()
    local s = Session()
    local got = s:query(Address):one()
    assert.equal("Bob", got.user.name)
    assert.equal(got.user.id, got.user_id)
    s:close()
  end)

  it("loads addresses lazily on first access without joinedload", function()
    session:add(User{ name = "Bob", addresses = { Address{ email = "b@x" } } })
    session:commit()
    local s = Session()
    statements = 0
    local u = s:query(User):one()
    assert.equal(1, statements)
    assert.equal("b@x", u.addresses[1].email)
    assert.equal(2, statements)
    s:close()
  end)
end)
