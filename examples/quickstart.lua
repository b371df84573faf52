-- athanor quickstart: an embedded SQLite database, a schema, the expression
-- language (compiled to SQL in C, values always bound), results, a
-- transaction and an error object. Run it with `make demo`.
local ath = require("athanor")

-- Connecting to a database (sqlite:///example.db for a file)
local engine = ath.create_engine("sqlite://")
local conn = engine:connect()

-- Define tables
local metadata = ath.MetaData()
local teams = ath.Table("teams", metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(30), { nullable = false, unique = true }))
local users = ath.Table("users", metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String, { nullable = false }),
  ath.Column("age", ath.Integer),
  ath.Column("active", ath.Boolean, { default = true }),
  ath.Column("team_id", ath.Integer, ath.ForeignKey("teams.id", { ondelete = "CASCADE" })))
metadata:create_all(engine)            -- parents first, skips tables that exist

-- Insert: one row, then many (executemany)
local red = conn:execute(teams:insert():values({ name = "red" })):inserted_primary_key()[1]
conn:execute(users:insert():values({ name = "Alice", age = 30, team_id = red }))
conn:execute(ath.insert(users), {
  { name = "Bob", age = 25, team_id = red },
  { name = "Carol", age = 41, active = false },
  { name = "Dave", age = ath.null },                       -- SQL NULL
})

-- Query: select(users).where(users.c.age > 25)
local stmt = ath.select(users):where(users.c.age:gt(25)):order_by(users.c.name)
print(stmt)                                                -- the SQL, with placeholders
for row in conn:execute(stmt) do
  print(("  #%d %s (%d) active=%s"):format(row.id, row.name, row.age, tostring(row.active)))
end

-- Joins infer ON from the foreign key; functions, labels, grouping
local per_team = ath.select(teams.c.name, ath.func.count(users.c.id):label("members"))
  :join(users):group_by(teams.c.name)
for row in conn:execute(per_team) do print("team", row.name, "members", row.members) end

-- Update and delete
conn:execute(ath.update(users):where(users.c.name:eq("Bob")):values({ age = users.c.age + 1 }))
print("Bob is now", conn:execute(ath.select(users.c.age):where(users.c.name:eq("Bob"))):scalar())
conn:execute(ath.delete(users):where(users.c.age:eq(ath.null)))
print("how many:", conn:execute(ath.select(ath.func.count()):select_from(users)):scalar())

-- The same statement for another dialect
local pg_sql, params = stmt:compile({ dialect = "postgresql" })
print(pg_sql, "params:", params[1])

-- A transaction: rolled back on error, committed otherwise
local ok, err = pcall(engine.begin, engine, function(c)
  c:execute(ath.update(users):values({ age = users.c.age + 1 }))
  c:execute(teams:insert():values({ name = "red" }))       -- duplicate: IntegrityError
end)
print("transaction failed:", not ok, ath.errors.is(err, "IntegrityError"))
print("error:", tostring(err))
print("ages unchanged:", conn:execute(ath.select(users.c.age):where(users.c.name:eq("Alice"))):scalar())

-- Literal SQL is still there when you want it
print("text:", conn:execute(ath.text("SELECT count(*) FROM users WHERE age > :min"), { min = 20 }):scalar())

conn:close()
engine:dispose()
