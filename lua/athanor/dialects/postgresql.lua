--- PostgreSQL's differences from the base dialect.
local types = {
  Float = "DOUBLE PRECISION", LargeBinary = "BYTEA", JSON = "JSONB", Uuid = "UUID",
  -- a named type: CREATE TYPE ... AS ENUM, made by create_all
  Enum = function(t, d)
    if not t.enum_name then
      require("athanor.errors").raise("CompileError", 4,
        "an Enum on PostgreSQL is a named type: give it a name (ath.Enum{ %s, name = \"...\" })",
        "\"" .. table.concat(t.enums, "\", \"") .. "\"")
    end
    return d:quote(t.enum_name)
  end,
}
-- implicit_returning: no lastrowid, so an inserted integer key comes back
-- through RETURNING
return { name = "postgresql", type_names = types, supports_native_enum = true, implicit_returning = true,
         serial_types = { Integer = "SERIAL", SmallInteger = "SERIAL", BigInteger = "BIGSERIAL" } }
