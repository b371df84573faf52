-- athanor ORM relationships (docs/relationships.md): the overview's
-- User/Address pair, many-to-many tags, a tree, and the loader strategies
-- with the statements each one takes. `make test` runs it on Lua 5.4 and
-- LuaJIT; run it yourself with
--   eval "$(bash tools/env.sh build lua54)"; lua5.4 examples/relationships.lua
local ath = require("athanor")
local orm = require("athanor.orm")

local engine = ath.create_engine("sqlite://")
local Base = orm.declarative_base()

-- One-to-many / many-to-one, both sides named (back_populates)
local User = Base:model("User", {
  __tablename = "users",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String(50)),
})
local Address = Base:model("Address", {
  __tablename = "addresses",
  id = ath.Column(ath.Integer, { primary_key = true }),
  email = ath.Column(ath.String),
  user_id = ath.Column(ath.Integer, ath.ForeignKey("users.id")),
  user = orm.relationship("User", { back_populates = "addresses" }),
})
User.addresses = orm.relationship("Address", { back_populates = "user", cascade = "all, delete-orphan" })

-- Many-to-many through an association table
local post_tags = ath.Table("post_tags", Base.metadata,
  ath.Column("post_id", ath.Integer, ath.ForeignKey("posts.id"), { primary_key = true }),
  ath.Column("tag_id", ath.Integer, ath.ForeignKey("tags.id"), { primary_key = true }))
local Post = Base:model("Post", {
  __tablename = "posts",
  id = ath.Column(ath.Integer, { primary_key = true }),
  title = ath.Column(ath.String),
  tags = orm.relationship("Tag", { secondary = post_tags, backref = "posts", order_by = "name" }),
})
local Tag = Base:model("Tag", {
  __tablename = "tags",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String),
})

-- A tree: a self-referential adjacency list
local Node = Base:model("Node", {
  __tablename = "nodes",
  id = ath.Column(ath.Integer, { primary_key = true }),
  name = ath.Column(ath.String),
  parent_id = ath.Column(ath.Integer, ath.ForeignKey("nodes.id")),
})
Node.children = orm.relationship("Node", { backref = { "parent", { remote_side = Node.id } }, order_by = "name" })

Base.metadata:create_all(engine)
local statements = 0
ath.event.listen(engine, "before_cursor_execute", function() statements = statements + 1 end)
local Session = orm.sessionmaker({ bind = engine })
local session = Session()

-- Collections are plain arrays; the addresses come along with their user
for i = 1, 10 do
  local u = User{ name = "user" .. i }
  table.insert(u.addresses, Address{ email = "u" .. i .. "@home.example" })
  u.addresses[#u.addresses + 1] = Address{ email = "u" .. i .. "@work.example" }
  session:add(u)
end
local lua, sql = Tag{ name = "lua" }, Tag{ name = "sql" }
session:add(Post{ title = "ORMs in Lua", tags = { lua, sql } })
session:add(Node{ name = "root", children = { Node{ name = "a", children = { Node{ name = "a1" } } }, Node{ name = "b" } } })
session:commit()

-- How to choose a loader strategy: count the statements
local function count(fn)
  local s = Session()
  statements = 0
  fn(s)
  s:close()
  return statements
end
local lazy = count(function(s)
  for _, u in ipairs(s:query(User):all()) do assert(#u.addresses == 2) end
end)
local joined = count(function(s)
  for _, u in ipairs(s:query(User):options(orm.joinedload(User.addresses)):all()) do assert(#u.addresses == 2) end
end)
local selectin = count(function(s)
  for _, u in ipairs(s:query(User):options(orm.selectinload(User.addresses)):all()) do assert(#u.addresses == 2) end
end)
print(string.format("10 users with their addresses: lazy %d statements, joinedload %d, selectinload %d",
  lazy, joined, selectin))
assert(lazy == 11 and joined == 1 and selectin == 2)

-- Both sides agree; the tree reads back three levels deep
local s = Session()
local post = s:query(Post):one()
print(post.title .. ": " .. post.tags[1].name .. ", " .. post.tags[2].name)
assert(post.tags[1].posts[1] == post)
local root = s:query(Node):filter(Node.parent_id:is_(ath.null)):one()
print(root.name .. " > " .. root.children[1].name .. " > " .. root.children[1].children[1].name)
assert(root.children[1].children[1].parent.parent == root)

-- delete-orphan: removing an address from the collection deletes its row
local u1 = s:query(User):filter_by({ name = "user1" }):one()
table.remove(u1.addresses, 1)
s:commit()
assert(s:query(Address):count() == 19)
s:close()
print("ok")
