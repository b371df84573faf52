--- MySQL/MariaDB (rendering only for now).
local types = {
  Text = "TEXT", LargeBinary = "LONGBLOB", Boolean = "BOOL", Uuid = "CHAR(32)", JSON = "JSON",
  DateTime = "DATETIME",
  Enum = function(t, d)
    local vals = {}
    for i, v in ipairs(t.enums) do vals[i] = "'" .. v:gsub("'", "''") .. "'" end
    return "ENUM(" .. table.concat(vals, ", ") .. ")"
  end,
}
return { name = "mysql", quote_char = "`", type_names = types, supports_transactional_ddl = false }
