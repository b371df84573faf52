--- SQLite's differences from the base dialect.
local types = {
  Boolean = "BOOLEAN",                  -- stored as 0/1 (the type converts)
  DateTime = "DATETIME", Float = "FLOAT", Uuid = "CHAR(32)", JSON = "JSON",
}
return { name = "sqlite", type_names = types, supports_native_enum = false }
