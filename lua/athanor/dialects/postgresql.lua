--- PostgreSQL's differences from the base dialect.
local types = {
  Float = "DOUBLE PRECISION", LargeBinary = "BYTEA", JSON = "JSONB", Uuid = "UUID",
  Enum = function(t, d) return d:quote(t.enum_name) end,   -- CREATE TYPE ... AS ENUM by create_all
}
return { name = "postgresql", type_names = types, supports_native_enum = true }
