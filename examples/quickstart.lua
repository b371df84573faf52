-- athanor quickstart: an embedded SQLite database, SQL with bound parameters,
-- results, a transaction and an error object. Run it with `make demo`.
local ath = require("athanor")

local engine = ath.create_engine("sqlite://")          -- in-memory database
local conn = engine:connect()

conn:execute(ath.text([[
  CREATE TABLE users (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    age  INTEGER
  )]]))

-- Insert: values always travel as bound parameters.
conn:execute(ath.text("INSERT INTO users (name, age) VALUES (:name, :age)"), { name = "Alice", age = 30 })
-- executemany: an array of parameter tables.
conn:execute(ath.text("INSERT INTO users (name, age) VALUES (:name, :age)"), {
  { name = "Bob", age = 25 },
  { name = "Carol", age = 41 },
  { name = "Dave", age = ath.null },                     -- SQL NULL
})

-- Query: rows by name and by position.
print("users older than 25:")
for row in conn:execute(ath.text("SELECT id, name, age FROM users WHERE age > :min ORDER BY name"), { min = 25 }) do
  print(("  #%d %s (%d)"):format(row.id, row.name, row[3]))
end
print("how many:", conn:execute(ath.text("SELECT count(*) FROM users")):scalar())
print("first row:", tostring(conn:execute(ath.text("SELECT * FROM users ORDER BY id")):first()))

-- A transaction: rolled back on error, committed otherwise.
local ok, err = pcall(engine.begin, engine, function(c)
  c:execute(ath.text("UPDATE users SET age = age + 1"))
  c:execute(ath.text("INSERT INTO users (name) VALUES (:name)"), { name = "Alice" })  -- duplicate
end)
print("transaction failed:", not ok, ath.errors.is(err, "IntegrityError"))
print("error:", tostring(err))
print("ages unchanged:", conn:execute(ath.text("SELECT age FROM users WHERE name = 'Alice'")):scalar())

conn:close()
engine:dispose()
