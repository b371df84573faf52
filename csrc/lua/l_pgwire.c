/* l_pgwire.c — core.pgwire: the Lua face of the PostgreSQL wire codec
 * (csrc/driver/pgw.c) for the cosocket driver (lua/athanor/drivers/pgwire.lua),
 * which does the I/O. Message builders return strings to send; readers take
 * a message's type and body and return its fields. Values go both ways
 * through the libpq driver's own conversions (drv_pg_types.c), so the two
 * drivers type parameters and decode results alike.
 *
 * pgwire.codec() -> a per-connection codec:
 *   codec:encode_params(params, names, nparams, sql) -> typekey
 *     converts the parameters as conn:exec does (ath_l_each_param) and keeps
 *     them; typekey packs each one's type OID (4 bytes big-endian; 0 = the
 *     server infers), the key of the statement variant to Parse.
 *   codec:bind(stmt, ptypes, sql, params) -> Bind + Execute of the kept
 *     parameters (text bound where the statement takes bytea goes binary; a
 *     zero byte in other text is a DataError)
 *   codec:row(buf, pos, len, oids, setkeys, rowmt, procs, json_decode, names) -> row
 *     (the DataRow body buf[pos .. pos+len-1], so a receive buffer holding many
 *     messages is decoded in place)
 * Readers raise OperationalError (connection_invalidated) on a malformed
 * message. */
#include "l_internal.h"
#include "l_handles.h"
#include "../driver/pgw.h"
#include "../driver/drv_pg.h"
#include "../base/ath_url.h"
#include <stdio.h>
#include <string.h>

#define PGW_CODEC_MT "athanor.PgwireCodec"
#define PGW_SCRAM_MT "athanor.PgwireScram"

typedef struct l_codec {
  ath_dstmt *s;                  /* scratch statement: parameter buffers and the value arena */
  pg_variant v;                  /* the server's parameter types for finish_params */
  int cap;                       /* parameter slots allocated */
} l_codec;

/* ------------------------------------------------------------ helpers */

/* Push b's bytes as a string and free b; raise on out of memory. */
static int push_buf(lua_State *L, ath_buf *b) {
  if (b->oom) { ath_buf_free(b); return ath_l_raisef(L, ATH_E_NOMEM, "out of memory"); }
  lua_pushlstring(L, b->data ? b->data : "", b->len);
  ath_buf_free(b);
  return 1;
}

static void pack_u32(char *p, uint32_t v) {
  p[0] = (char)(v >> 24); p[1] = (char)(v >> 16); p[2] = (char)(v >> 8); p[3] = (char)v;
}
static uint32_t unpack_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* The message at 1 (type) and 2 (body) as a pgw_msg. */
static pgw_msg check_msg(lua_State *L, int t, int b) {
  size_t tn;
  const char *type = luaL_checklstring(L, t, &tn);
  pgw_msg m;
  m.type = tn ? type[0] : '\0';
  m.body = luaL_checklstring(L, b, &m.len);
  return m;
}

/* ------------------------------------------------------------ builders */

/* pgwire.startup({ key, value, key, value, ... }) */
static int l_startup(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1) / 2;
  ath_buf b = ATH_BUF_INIT;
  const char *keys[32], *vals[32];
  if (n > 32) return ath_l_raisef(L, ATH_E_ARGUMENT, "too many startup parameters (%d)", n);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, 2 * i + 1); keys[i] = luaL_checkstring(L, -1);
    lua_rawgeti(L, 1, 2 * i + 2); vals[i] = luaL_checkstring(L, -1);
    lua_pop(L, 2);                                   /* the table holds the strings */
  }
  pgw_put_startup(&b, keys, vals, n);
  return push_buf(L, &b);
}

static int l_ssl_request(lua_State *L) { ath_buf b = ATH_BUF_INIT; pgw_put_ssl_request(&b); return push_buf(L, &b); }
static int l_sync(lua_State *L) { ath_buf b = ATH_BUF_INIT; pgw_put_sync(&b); return push_buf(L, &b); }
static int l_flush(lua_State *L) { ath_buf b = ATH_BUF_INIT; pgw_put_flush(&b); return push_buf(L, &b); }
static int l_terminate(lua_State *L) { ath_buf b = ATH_BUF_INIT; pgw_put_terminate(&b); return push_buf(L, &b); }

static int l_password(lua_State *L) {
  const char *pw = luaL_checkstring(L, 1);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_password(&b, pw);
  return push_buf(L, &b);
}

/* pgwire.md5_password(user, password, salt4) */
static int l_md5_password(lua_State *L) {
  const char *user = luaL_checkstring(L, 1), *pw = luaL_checkstring(L, 2);
  size_t n;
  const char *salt = luaL_checklstring(L, 3, &n);
  if (n != 4) return ath_l_raisef(L, ATH_E_ARGUMENT, "an MD5 salt has 4 bytes, got %d", (int)n);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_md5_password(&b, user, pw, (const unsigned char *)salt);
  return push_buf(L, &b);
}

static int l_sasl_initial(lua_State *L) {
  const char *mech = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_sasl_initial(&b, mech, data, n);
  return push_buf(L, &b);
}

static int l_sasl_response(lua_State *L) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_sasl_response(&b, data, n);
  return push_buf(L, &b);
}

/* pgwire.query(sql): the simple protocol (transaction control). */
static int l_query(lua_State *L) {
  size_t n;
  const char *sql = luaL_checklstring(L, 1, &n);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_query(&b, sql, n);
  return push_buf(L, &b);
}

/* pgwire.parse(name, sql, typekey) -> Parse + Describe(statement) */
static int l_parse(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  size_t n, kn;
  const char *sql = luaL_checklstring(L, 2, &n);
  const char *key = luaL_optlstring(L, 3, "", &kn);
  int np = (int)(kn / 4);
  uint32_t *oids = ath_malloc((size_t)(np ? np : 1) * sizeof *oids);
  if (oids == NULL) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  for (int i = 0; i < np; i++) oids[i] = unpack_u32(key + 4 * i);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_parse(&b, name, sql, n, np, oids);
  ath_free(oids);
  pgw_put_describe(&b, 'S', name);
  return push_buf(L, &b);
}

/* pgwire.copy_fail(reason) */
static int l_copy_fail(lua_State *L) {
  const char *reason = luaL_checkstring(L, 1);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_copy_fail(&b, reason);
  return push_buf(L, &b);
}

/* pgwire.close_statement(name) */
static int l_close_statement(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_close(&b, 'S', name);
  return push_buf(L, &b);
}

/* pgwire.cancel(pid, key) */
static int l_cancel(lua_State *L) {
  uint32_t pid = (uint32_t)luaL_checknumber(L, 1), key = (uint32_t)luaL_checknumber(L, 2);
  ath_buf b = ATH_BUF_INIT;
  pgw_put_cancel(&b, pid, key);
  return push_buf(L, &b);
}

/* ------------------------------------------------------------ readers */

static int raise_err(lua_State *L, ath_error *err) { return ath_l_raise(L, err, NULL, 0); }

/* pgwire.header(buf [, pos]) -> type, body length: the 5-byte header at
 * pos (1-based, default 1) of buf, which must hold it. */
static int l_header(lua_State *L) {
  size_t n;
  const char *buf = luaL_checklstring(L, 1, &n);
  lua_Integer pos = luaL_optinteger(L, 2, 1);
  if (pos < 1 || (size_t)pos + 4 > n) return ath_l_raisef(L, ATH_E_ARGUMENT, "no message header at %d", (int)pos);
  const char *h = buf + pos - 1;
  pgw_msg m;
  size_t used;
  ath_error err;
  ath_status st = pgw_frame(h, 5, &m, &used, &err);
  if (st != ATH_ROW && st != ATH_DONE) return raise_err(L, &err);
  lua_pushlstring(L, h, 1);
  lua_pushinteger(L, (lua_Integer)(used - 5));
  return 2;
}

/* pgwire.error(type, body) -> kind, message, sqlstate, constraint,
 * disconnect, severity, detail, hint (ErrorResponse or NoticeResponse) */
static int l_error(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  pgw_fields f;
  ath_error err;
  if (pgw_read_fields(&m, &f, &err) != ATH_OK) return raise_err(L, &err);
  ath_status kind = pgw_error_from_fields(&f, &err);
  lua_pushstring(L, ath_error_kind_name(kind));
  lua_pushstring(L, err.message);
  if (err.sqlstate[0]) lua_pushstring(L, err.sqlstate); else lua_pushnil(L);
  if (err.constraint[0]) lua_pushstring(L, err.constraint); else lua_pushnil(L);
  lua_pushboolean(L, err.disconnect);
  if (f.severity) lua_pushstring(L, f.severity); else lua_pushnil(L);
  if (f.detail) lua_pushstring(L, f.detail); else lua_pushnil(L);
  if (f.hint) lua_pushstring(L, f.hint); else lua_pushnil(L);
  return 8;
}

/* pgwire.auth(type, body) -> code, data */
static int l_auth(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  int32_t code;
  const char *data;
  size_t n;
  ath_error err;
  if (pgw_read_auth(&m, &code, &data, &n, &err) != ATH_OK) return raise_err(L, &err);
  lua_pushinteger(L, code);
  lua_pushlstring(L, data, n);
  return 2;
}

/* pgwire.sasl_offers(data, mechanism) -> boolean */
static int l_sasl_offers(lua_State *L) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, pgw_sasl_offers(data, n, luaL_checkstring(L, 2)));
  return 1;
}

static int l_parameter_status(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  const char *name, *value;
  ath_error err;
  if (pgw_read_parameter_status(&m, &name, &value, &err) != ATH_OK) return raise_err(L, &err);
  lua_pushstring(L, name);
  lua_pushstring(L, value);
  return 2;
}

static int l_backend_key(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  uint32_t pid, key;
  ath_error err;
  if (pgw_read_backend_key(&m, &pid, &key, &err) != ATH_OK) return raise_err(L, &err);
  lua_pushnumber(L, (lua_Number)pid);
  lua_pushnumber(L, (lua_Number)key);
  return 2;
}

static int l_ready(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  char status;
  ath_error err;
  if (pgw_read_ready(&m, &status, &err) != ATH_OK) return raise_err(L, &err);
  lua_pushlstring(L, &status, 1);
  return 1;
}

/* pgwire.command_complete(type, body) -> rows, tag */
static int l_command_complete(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  const char *tag;
  int64_t rows;
  ath_error err;
  if (pgw_read_command_complete(&m, &tag, &rows, &err) != ATH_OK) return raise_err(L, &err);
  ath_pushint64(L, (long long)rows);
  lua_pushstring(L, tag);
  return 2;
}

/* pgwire.row_description(type, body) -> names, oids (arrays) */
static int l_row_description(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  pgw_column *cols;
  int n;
  ath_error err;
  if (pgw_read_row_description(&m, &cols, &n, &err) != ATH_OK) return raise_err(L, &err);
  /* copy out before anything can raise: cols is ours to free */
  lua_createtable(L, n, 0);
  lua_createtable(L, n, 0);
  int bad = 0;
  for (int i = 0; i < n; i++) {
    if (cols[i].format != 0) bad = 1;
    lua_pushstring(L, cols[i].name); lua_rawseti(L, -3, i + 1);
    lua_pushnumber(L, (lua_Number)cols[i].type_oid); lua_rawseti(L, -2, i + 1);
  }
  ath_free(cols);
  if (bad) return ath_l_raisef(L, ATH_E_OPERATIONAL, "protocol violation: the server sent a binary column "
                                                     "although every result was asked for as text");
  return 2;
}

/* pgwire.parameter_description(type, body) -> ptypes (packed like a typekey) */
static int l_parameter_description(lua_State *L) {
  pgw_msg m = check_msg(L, 1, 2);
  uint32_t *oids;
  int n;
  ath_error err;
  if (pgw_read_parameter_description(&m, &oids, &n, &err) != ATH_OK) return raise_err(L, &err);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; i < n; i++) { char x[4]; pack_u32(x, oids[i]); luaL_addlstring(&b, x, 4); }
  ath_free(oids);
  luaL_pushresult(&b);
  return 1;
}

/* ------------------------------------------------------------ codec */

static l_codec *check_codec(lua_State *L, int idx) {
  l_codec *c = luaL_checkudata(L, idx, PGW_CODEC_MT);
  if (c->s == NULL) ath_l_raisef(L, ATH_E_INVALID_REQUEST, "the wire codec is closed");
  return c;
}

static void codec_free(l_codec *c) {
  if (c->s == NULL) return;
  ath_dstmt *s = c->s;
  ath_drv_pg_free_params(s);
  ath_drv_pg_arena_reset(s);
  ath_free(s);
  ath_free(c->v.ptypes);
  c->v.ptypes = NULL;
  c->s = NULL;
}

static int codec_gc(lua_State *L) {
  codec_free(luaL_checkudata(L, 1, PGW_CODEC_MT));
  return 0;
}

static int l_codec_new(lua_State *L) {
  l_codec *c = lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, PGW_CODEC_MT);
  c->s = ath_calloc(1, sizeof *c->s);
  if (c->s == NULL) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  return 1;
}

/* Room for n parameters (the slots of the previous call are cleared). */
static ath_status codec_reserve(l_codec *c, int n, ath_error *err) {
  ath_dstmt *s = c->s;
  ath_drv_pg_clear_params(s);
  if (n > c->cap) {
    ath_drv_pg_free_params(s);
    ath_free(c->v.ptypes);
    c->v.ptypes = NULL;
    c->cap = 0;
    s->nparams = n;
    if (ath_drv_pg_alloc_params(s, err) != ATH_OK) { s->nparams = 0; return ATH_E_NOMEM; }
    c->v.ptypes = ath_calloc((size_t)n, sizeof(Oid));
    if (c->v.ptypes == NULL) {
      ath_drv_pg_free_params(s);
      s->nparams = 0;
      return ath_error_nomem(err);
    }
    c->cap = n;
  }
  s->nparams = n;
  return ATH_OK;
}

static ath_status bind_to_codec(void *ctx, int i, ath_value *v, ath_error *err) {
  return ath_drv_pg_bind_value(ctx, i - 1, v, err);          /* copies */
}

/* Bind the parameters at pidx (names at nidx or 0) into c's slots, with
 * conn:exec's rules and messages (the same walk, l_bind.c). */
static ath_status encode(lua_State *L, l_codec *c, int pidx, int nidx, int want, ath_error *err) {
  if (codec_reserve(c, want, err) != ATH_OK) return ATH_E_NOMEM;
  return ath_l_each_param(L, pidx, nidx, want, bind_to_codec, c->s, err);
}

/* codec:encode_params(params, names, nparams, sql) -> typekey */
static int codec_encode_params(lua_State *L) {
  l_codec *c = check_codec(L, 1);
  int pidx = lua_istable(L, 2) ? 2 : 0;
  if (!pidx && !lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  int nidx = lua_istable(L, 3) ? 3 : 0;
  int want = (int)luaL_checkinteger(L, 4);
  const char *sql = luaL_optstring(L, 5, NULL);
  lua_settop(L, 5);
  ath_error err;
  if (encode(L, c, pidx, nidx, want, &err) != ATH_OK) {
    ath_drv_pg_clear_params(c->s);
    return ath_l_raise(L, &err, sql, pidx);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; i < want; i++) { char x[4]; pack_u32(x, c->s->want[i]); luaL_addlstring(&b, x, 4); }
  luaL_pushresult(&b);
  return 1;
}

/* codec:bind(stmt, ptypes, sql, params) -> Bind + Execute of the kept parameters */
static int codec_bind(lua_State *L) {
  l_codec *c = check_codec(L, 1);
  const char *stmt = luaL_checkstring(L, 2);
  size_t kn;
  const char *ptypes = luaL_checklstring(L, 3, &kn);
  const char *sql = luaL_optstring(L, 4, NULL);
  ath_dstmt *s = c->s;
  if ((int)(kn / 4) != s->nparams)
    return ath_l_raisef(L, ATH_E_PROGRAMMING, "statement takes %d parameters, but its text shows $%d as the "
                        "highest placeholder", (int)(kn / 4), s->nparams);
  for (int i = 0; i < s->nparams; i++) c->v.ptypes[i] = unpack_u32(ptypes + 4 * i);
  s->cur = &c->v;
  ath_error err;
  ath_status st = ath_drv_pg_finish_params(s, &err);
  s->cur = NULL;
  if (st != ATH_OK) { ath_drv_pg_clear_params(s); return ath_l_raise(L, &err, sql, lua_isnoneornil(L, 5) ? 0 : 5); }
  ath_buf b = ATH_BUF_INIT;
  pgw_put_bind(&b, "", stmt, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts);
  pgw_put_execute(&b, "", 0);
  ath_drv_pg_clear_params(s);
  return push_buf(L, &b);
}

/* 1 when a Lua number holds i exactly (always on 5.3+; ±2^53 on LuaJIT). */
static int int_fits_number(int64_t i) {
#if LUA_VERSION_NUM >= 503
  (void)i;
  return 1;
#else
  return i >= -((int64_t)1 << 53) && i <= ((int64_t)1 << 53);
#endif
}

/* Push v as conn:exec's rows do (l_conn.c push_value); JSON through the
 * decoder at json (0: none). 0, having pushed nothing, for an integer no Lua
 * number holds exactly. */
/* nulls: SQL NULL, also inside an array, is ath.null (the NULL light
 * userdata) as l_cursor.c gives it under the option `nulls`; else nil. */
static int push_value(lua_State *L, const ath_value *v, int json, int nulls) {
  switch (v->type) {
    case ATH_V_NULL:
      if (nulls) lua_pushlightuserdata(L, NULL);
      else lua_pushnil(L);
      return 1;
    case ATH_V_INT:
      if (!int_fits_number(v->u.i)) return 0;
      ath_pushint64(L, (long long)v->u.i);
      return 1;
    case ATH_V_FLOAT: lua_pushnumber(L, v->u.f); return 1;
    case ATH_V_BOOL: lua_pushboolean(L, (int)v->u.i); return 1;
    case ATH_V_JSON:
      if (json) {
        lua_pushvalue(L, json);
        lua_pushlstring(L, v->u.s.p, v->u.s.n);
        lua_call(L, 1, 1);
        return 1;
      }
      lua_pushlstring(L, v->u.s.p, v->u.s.n);
      return 1;
    case ATH_V_ARRAY:
      lua_createtable(L, (int)v->u.arr.n, 0);
      for (size_t i = 0; i < v->u.arr.n; i++) {
        if (!push_value(L, &v->u.arr.items[i], json, nulls)) { lua_pop(L, 1); return 0; }
        lua_rawseti(L, -2, (int)i + 1);
      }
      return 1;
    default:
      lua_pushlstring(L, v->u.s.p ? v->u.s.p : "", v->u.s.n);
      return 1;
  }
}

static int raise_inexact(lua_State *L, ath_dstmt *s, int names, int col, const ath_value *v) {
  ath_drv_pg_arena_reset(s);
  char digits[32] = "in an array";
  if (v->type == ATH_V_INT) snprintf(digits, sizeof digits, "%lld", (long long)v->u.i);
  lua_rawgeti(L, names, col + 1);
  const char *name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "?";
  return ath_l_raisef(L, ATH_E_DATA,
                      "column '%.60s': the integer %s is beyond 2^53, which a LuaJIT number cannot hold exactly; "
                      "declare the column BigInteger{ as_string = true } (for ath.text, with :columns()) "
                      "to read it as an exact decimal string", name, digits);
}

/* How codec_row stores each value: the statement (its arena holds
 * decoded values), the stack slots of the processors, JSON decoder and
 * column names (0 when absent), and the option `nulls`. */
typedef struct row_cols {
  ath_dstmt *s;
  int procs, json, names;
  int nulls;
} row_cols;

/* Store column i's value v in the row at row, under the setkey on top of
 * the stack (popped): a name, or false for a repeated name (by position).
 * The column's processor, if any, gets the value (an integer beyond 2^53
 * as its digits); NULL is absent, or ath.null with the option nulls, as
 * l_cursor.c's build_row does. */
static void set_column(lua_State *L, const row_cols *rc, int row, int i, const ath_value *v) {
  int named = lua_type(L, -1) == LUA_TSTRING;
  int have_value = 0;
  if (rc->procs) {
    lua_rawgeti(L, rc->procs, i + 1);
    if (lua_isfunction(L, -1)) {
      if (v->type == ATH_V_INT && !int_fits_number(v->u.i)) {
        char digits[32];
        lua_pushstring(L, (snprintf(digits, sizeof digits, "%lld", (long long)v->u.i), digits));
      } else if (!push_value(L, v, rc->json, rc->nulls)) {
        raise_inexact(L, rc->s, rc->names, i, v);
      }
      lua_call(L, 1, 1);                             /* stack: setkey, value */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        if (!rc->nulls) { lua_pop(L, 1); return; }
        lua_pushlightuserdata(L, NULL);              /* option nulls: keep the column */
      }
      have_value = 1;
    } else {
      lua_pop(L, 1);
    }
  }
  if (!have_value) {
    if (v->type == ATH_V_NULL && !rc->nulls) { lua_pop(L, 1); return; }
    if (!push_value(L, v, rc->json, rc->nulls)) raise_inexact(L, rc->s, rc->names, i, v);
  }
  if (named) lua_rawset(L, row);
  else { lua_rawseti(L, row, i + 1); lua_pop(L, 1); }
}

/* codec:row(buf, pos, len, oids, setkeys, rowmt, procs, json_decode, names, nulls) -> row,
 * built as l_cursor.c builds it: each value under its column's name
 * (a repeated name's by position), NULL absent (ath.null when nulls is
 * true: the option `nulls`), processors applied. */
static int codec_row(lua_State *L) {
  l_codec *c = check_codec(L, 1);
  pgw_msg m;
  m.type = 'D';
  size_t buflen;
  const char *buf = luaL_checklstring(L, 2, &buflen);
  lua_Integer pos = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  if (pos < 1 || len < 0 || (size_t)(pos - 1) > buflen || (size_t)len > buflen - (size_t)(pos - 1))
    return ath_l_raisef(L, ATH_E_ARGUMENT, "DataRow at %d (%d bytes) is outside its buffer", (int)pos, (int)len);
  m.body = buf + pos - 1;
  m.len = (size_t)len;
  lua_remove(L, 3); lua_remove(L, 3);                /* from here on as before: body at 2 */
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  int procs = lua_istable(L, 6) ? 6 : 0;
  int json = lua_isfunction(L, 7) ? 7 : 0;
  int names = 8;
  luaL_checktype(L, names, LUA_TTABLE);
  const int nulls = lua_toboolean(L, 9);
  lua_settop(L, 8);
  int ncols = (int)lua_rawlen(L, 3);
  ath_error err;
  int got;
  if (pgw_data_row_count(&m, &got, &err) != ATH_OK) return raise_err(L, &err);
  if (got != ncols)
    return ath_l_raisef(L, ATH_E_OPERATIONAL, "protocol violation: a DataRow of %d columns for a result of %d",
                        got, ncols);
  enum { STACK_COLS = 64 };
  const char *vals_s[STACK_COLS];
  int32_t lens_s[STACK_COLS];
  const char **vals = vals_s;
  int32_t *lens = lens_s;
  if (ncols > STACK_COLS) {
    vals = lua_newuserdata(L, (size_t)ncols * sizeof *vals);   /* 9 */
    lens = lua_newuserdata(L, (size_t)ncols * sizeof *lens);   /* 10 */
  }
  if (pgw_read_data_row(&m, ncols, vals, lens, &err) != ATH_OK) return raise_err(L, &err);
  luaL_checkstack(L, 8, "row");
  lua_createtable(L, 0, ncols);
  int row = lua_gettop(L);
  ath_dstmt *s = c->s;
  row_cols rc = { s, procs, json, names, nulls };
  for (int i = 0; i < ncols; i++) {
    ath_value v;
    char small[128];
    if (lens[i] < 0) {
      v.type = ATH_V_NULL;
    } else {
      lua_rawgeti(L, 3, i + 1);
      Oid oid = (Oid)lua_tonumber(L, -1);
      lua_pop(L, 1);
      /* the decoders read numbers with strtoll/strtod: give short values a
       * terminating NUL (a body's values are not NUL-separated) */
      const char *text = vals[i];
      if ((size_t)lens[i] < sizeof small) { memcpy(small, text, (size_t)lens[i]); small[lens[i]] = '\0'; text = small; }
      if (ath_drv_pg_convert(s, oid, text, (size_t)lens[i], &v, &err) != ATH_OK) {
        ath_drv_pg_arena_reset(s);
        return raise_err(L, &err);
      }
    }
    lua_rawgeti(L, 4, i + 1);                        /* setkey: name, or false for a repeated name */
    set_column(L, &rc, row, i, &v);
  }
  ath_drv_pg_arena_reset(s);
  lua_pushvalue(L, 5);
  lua_setmetatable(L, row);
  return 1;
}

/* ------------------------------------------------------------ SCRAM */

typedef struct l_scram { pgw_scram s; int live; } l_scram;

static int scram_gc(lua_State *L) {
  l_scram *sc = luaL_checkudata(L, 1, PGW_SCRAM_MT);
  if (sc->live) { pgw_scram_free(&sc->s); sc->live = 0; }
  return 0;
}

/* pgwire.scram(password [, user [, nonce]]) -> scram, client-first-message */
static int l_scram_new(lua_State *L) {
  const char *pw = luaL_checkstring(L, 1);
  const char *user = luaL_optstring(L, 2, "");
  const char *nonce = luaL_optstring(L, 3, NULL);
  l_scram *sc = lua_newuserdata(L, sizeof *sc);
  memset(sc, 0, sizeof *sc);
  luaL_setmetatable(L, PGW_SCRAM_MT);
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  if (pgw_scram_start(&sc->s, user, pw, nonce, &b, &err) != ATH_OK) { ath_buf_free(&b); return raise_err(L, &err); }
  sc->live = 1;
  return 1 + push_buf(L, &b);
}

/* scram:final(server_first) -> client-final-message */
static int scram_final(lua_State *L) {
  l_scram *sc = luaL_checkudata(L, 1, PGW_SCRAM_MT);
  size_t n;
  const char *sf = luaL_checklstring(L, 2, &n);
  if (!sc->live) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "SCRAM exchange is over");
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  if (pgw_scram_continue(&sc->s, sf, n, &b, &err) != ATH_OK) { ath_buf_free(&b); return raise_err(L, &err); }
  return push_buf(L, &b);
}

/* scram:verify(server_final) -> true */
static int scram_verify(lua_State *L) {
  l_scram *sc = luaL_checkudata(L, 1, PGW_SCRAM_MT);
  size_t n;
  const char *sf = luaL_checklstring(L, 2, &n);
  if (!sc->live) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "SCRAM exchange is over");
  ath_error err;
  if (pgw_scram_finish(&sc->s, sf, n, &err) != ATH_OK) return raise_err(L, &err);
  pgw_scram_free(&sc->s);
  sc->live = 0;
  lua_pushboolean(L, 1);
  return 1;
}

/* ------------------------------------------------------------ statements, URLs */

/* pgwire.check_statement(sql) -> nparams; raises as the libpq driver's
 * prepare refuses (NUL byte, empty statement, past $65535). */
static int l_check_statement(lua_State *L) {
  size_t n;
  const char *sql = luaL_checklstring(L, 1, &n);
  int np;
  ath_error err;
  if (ath_drv_pg_check_statement(sql, n, &np, &err) != ATH_OK) return ath_l_raise(L, &err, sql, 0);
  lua_pushinteger(L, np);
  return 1;
}

/* Builds parse_url's table from the ath_url and masked text at 1 and 2
 * (light userdata); run protected so a memory error cannot leak them. */
static int push_url(lua_State *L) {
  const ath_url *u = lua_touserdata(L, 1);
  const char *masked = lua_touserdata(L, 2);
  lua_createtable(L, 0, 10);
#define SETS(k, v) if (v) { lua_pushstring(L, v); lua_setfield(L, -2, k); }
  SETS("dialect", u->dialect) SETS("driver", u->driver) SETS("username", u->username)
  SETS("password", u->password) SETS("host", u->host) SETS("database", u->database) SETS("masked", masked)
#undef SETS
  if (u->port) { lua_pushinteger(L, u->port); lua_setfield(L, -2, "port"); }
  lua_createtable(L, u->nparams, 0);
  for (int i = 0; i < u->nparams; i++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, u->params[i].key); lua_rawseti(L, -2, 1);
    lua_pushstring(L, u->params[i].value); lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "params");
  return 1;
}

/* pgwire.parse_url(url) -> { dialect, driver, username, password, host,
 * port, database, masked, params = { {key, value}, ... } }: the URL parser
 * create_engine uses (ArgumentError naming the bad part). */
static int l_parse_url(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  ath_url *u;
  ath_error err;
  if (ath_url_parse(text, &u, &err) != ATH_OK) return ath_l_raise(L, &err, NULL, 0);
  char *masked = ath_url_render_masked(u);
  lua_pushcfunction(L, push_url);
  lua_pushlightuserdata(L, u);
  lua_pushlightuserdata(L, masked);
  int rc = lua_pcall(L, 2, 1, 0);
  ath_free(masked);
  ath_url_free(u);
  if (rc != LUA_OK) return lua_error(L);
  return 1;
}

/* ------------------------------------------------------------ register */

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc); lua_setfield(L, -2, "__gc");
  lua_pushstring(L, name); lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void ath_l_pgwire_register(lua_State *L) {
  static const luaL_Reg codec_methods[] = {
    { "encode_params", codec_encode_params }, { "bind", codec_bind }, { "row", codec_row },
    { "close", codec_gc }, { NULL, NULL } };
  static const luaL_Reg scram_methods[] = { { "final", scram_final }, { "verify", scram_verify }, { NULL, NULL } };
  static const luaL_Reg fns[] = {
    { "codec", l_codec_new }, { "scram", l_scram_new },
    { "startup", l_startup }, { "ssl_request", l_ssl_request }, { "password", l_password },
    { "md5_password", l_md5_password }, { "sasl_initial", l_sasl_initial }, { "sasl_response", l_sasl_response },
    { "query", l_query }, { "parse", l_parse }, { "close_statement", l_close_statement }, { "copy_fail", l_copy_fail },
    { "sync", l_sync }, { "flush", l_flush }, { "terminate", l_terminate }, { "cancel", l_cancel },
    { "header", l_header }, { "error", l_error }, { "auth", l_auth }, { "sasl_offers", l_sasl_offers },
    { "parameter_status", l_parameter_status }, { "backend_key", l_backend_key }, { "ready", l_ready },
    { "command_complete", l_command_complete }, { "row_description", l_row_description },
    { "parameter_description", l_parameter_description },
    { "check_statement", l_check_statement }, { "parse_url", l_parse_url },
    { NULL, NULL } };
  new_class(L, PGW_CODEC_MT, codec_methods, codec_gc);
  new_class(L, PGW_SCRAM_MT, scram_methods, scram_gc);
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setfield(L, -2, "pgwire");
}
