--- MySQL/MariaDB (rendering only for now: no driver, no reflection).
local types = {
  Text = "TEXT", LargeBinary = "LONGBLOB", Boolean = "BOOL", Uuid = "CHAR(32)", JSON = "JSON",
  DateTime = "DATETIME",
  -- MySQL has no VARCHAR without a length
  String = function(t)
    if not t.length then
      require("athanor.errors").raise("CompileError", 4, "VARCHAR requires a length on the mysql dialect: use ath.String(n) or ath.Text")
    end
    return ("VARCHAR(%d)"):format(t.length)
  end,
  Enum = function(t)
    local vals = {}
    for i, v in ipairs(t.enums) do vals[i] = "'" .. v:gsub("'", "''") .. "'" end
    return "ENUM(" .. table.concat(vals, ", ") .. ")"
  end,
}
return { name = "mysql", type_names = types, autoincrement_suffix = "AUTO_INCREMENT" }
