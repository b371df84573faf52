--- The differential spec's schema and data, in athanor's words. The same
-- tables are declared in SQLAlchemy's words in spec/diff/sqla_runner.py:
-- change both together. athanor creates and fills them; both sides then
-- query the same database.
local ath = require("athanor")

local M = {}

M.metadata = ath.MetaData()

M.d = ath.Table("diff_departments", M.metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(30), { nullable = false }),
  ath.Column("budget", ath.Numeric(10, 2)),
  ath.Column("parent_id", ath.Integer, ath.ForeignKey("diff_departments.id")))

M.e = ath.Table("diff_employees", M.metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(50), { nullable = false }),
  ath.Column("dept_id", ath.Integer, ath.ForeignKey("diff_departments.id")),
  ath.Column("salary", ath.Float),
  ath.Column("bonus", ath.Numeric(10, 2)),
  ath.Column("active", ath.Boolean),
  ath.Column("hired", ath.Date),
  ath.Column("last_login", ath.DateTime),
  ath.Column("notes", ath.Text),
  ath.Column("photo", ath.LargeBinary),
  ath.Column("prefs", ath.JSON),
  ath.Column("mentor_id", ath.Integer))

M.o = ath.Table("diff_orders", M.metadata,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("employee_id", ath.Integer, ath.ForeignKey("diff_employees.id")),
  ath.Column("total_cents", ath.Integer),
  ath.Column("placed", ath.DateTime),
  ath.Column("status", ath.String(20)))

local null = ath.null

M.rows = {
  diff_departments = {
    { id = 1, name = "Engineering", budget = "125000.50", parent_id = null },
    { id = 2, name = "Sales", budget = "80000.00", parent_id = 1 },
    { id = 3, name = "Support", budget = null, parent_id = 2 },
    { id = 4, name = "R&D 100%_new", budget = "0.05", parent_id = 3 },
  },
  diff_employees = {
    { id = 1, name = "Alice", dept_id = 1, salary = 5200.5, bonus = "300.00", active = true,
      hired = "2020-01-15", last_login = "2026-11-24 13:05:09", notes = "team lead",
      photo = "\0\1\2\255binary", prefs = { theme = "dark", tags = { "a", "b" } }, mentor_id = null },
    { id = 2, name = "Bob", dept_id = 1, salary = 4100.25, bonus = "150.50", active = true,
      hired = "2021-06-01", last_login = "2026-11-20 08:00:00", notes = null,
      photo = null, prefs = { theme = "light" }, mentor_id = 1 },
    { id = 3, name = "carol", dept_id = 2, salary = 3900.0, bonus = null, active = false,
      hired = "2019-03-30", last_login = null, notes = "50% remote_ok",
      photo = "\255\254", prefs = null, mentor_id = 1 },
    { id = 4, name = "Dave", dept_id = 2, salary = null, bonus = "0.10", active = null,
      hired = null, last_login = "2026-01-01 00:00:00", notes = "Dave's notes",
      photo = null, prefs = { n = 3 }, mentor_id = 3 },
    { id = 5, name = "Eve", dept_id = null, salary = 7000.0, bonus = "1000.00", active = true,
      hired = "2022-12-31", last_login = "2026-11-25 23:59:59", notes = "",
      photo = "", prefs = { list = { 1, 2, 3 } }, mentor_id = 2 },
  },
  diff_orders = {
    { id = 1, employee_id = 1, total_cents = 1250, placed = "2026-11-01 10:00:00", status = "paid" },
    { id = 2, employee_id = 1, total_cents = 800, placed = "2026-11-02 11:30:00", status = "open" },
    { id = 3, employee_id = 2, total_cents = 4500, placed = "2026-10-15 09:15:00", status = "paid" },
    { id = 4, employee_id = 3, total_cents = null, placed = null, status = "void" },
    { id = 5, employee_id = 2, total_cents = 99, placed = "2026-11-03 12:00:00", status = "paid" },
    { id = 6, employee_id = 5, total_cents = 15000, placed = "2026-11-04 16:45:00", status = null },
  },
}

--- Create the tables (dropped first) and fill them, in one transaction.
function M.fill(conn)
  M.metadata:drop_all(conn)
  M.metadata:create_all(conn)
  for _, t in ipairs({ M.d, M.e, M.o }) do
    for _, row in ipairs(M.rows[t.name]) do
      conn:execute(ath.insert(t):values(row))
    end
  end
end

function M.drop(conn) M.metadata:drop_all(conn) end

return M
