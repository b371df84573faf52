/* l_bind.c — Lua values to ath_value, and binding one parameter set.
 *
 * `names` nil → params is an array of positional values; `names` an array →
 * placeholder i takes params[names[i]]. ath.null (the NULL light userdata)
 * binds SQL NULL; booleans, integers, numbers and strings map directly.
 * Tables bind only when they say what they are, through the field
 * `_ath_type` (a string): "blob" (binary string in [1]), "json" (JSON text
 * in [1]), "datetime" (text in [1]), "numeric" (decimal text or a Lua number
 * in [1]), "array" (array part = items). Only strings the parameter table
 * holds are bound, never one converted on the stack: the driver may point at
 * the bytes until the statement steps. Nothing here raises: errors come back
 * as an ath_error for the caller to raise once it has released what it holds. */
#include "l_conn.h"
#include <stdio.h>
#include <string.h>

/* Which parameter a value is, for error messages: formatted only when one
 * is raised (formatting it for every bound value was a third of executemany). */
typedef struct param_label { const char *name; int index; } param_label;

static const char *label_text(const param_label *p, char *buf, size_t n) {
  if (p->name) snprintf(buf, n, "parameter '%.60s'", p->name);
  else snprintf(buf, n, "parameter %d", p->index);
  return buf;
}

/* Convert the Lua value at idx into v without raising. Array items are
 * allocated into *scratch (caller frees with ath_free). */
static ath_status to_value(lua_State *L, int idx, ath_value *v, ath_value **scratch,
                           const param_label *label, ath_error *err) {
  char what[96];
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        v->type = ATH_V_INT;
#if LUA_VERSION_NUM >= 503
        v->u.i = (int64_t)lua_tointeger(L, idx);
#else
        v->u.i = (int64_t)lua_tonumber(L, idx);            /* integral double (checked) */
#endif
      } else {
        v->type = ATH_V_FLOAT;
        v->u.f = (double)lua_tonumber(L, idx);
      }
      return ATH_OK;
    case LUA_TSTRING:
      v->type = ATH_V_TEXT;
      v->u.s.p = lua_tolstring(L, idx, &v->u.s.n);
      return ATH_OK;
    case LUA_TBOOLEAN:
      v->type = ATH_V_BOOL; v->u.i = lua_toboolean(L, idx);
      return ATH_OK;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { v->type = ATH_V_NULL; return ATH_OK; }
      break;
    case LUA_TTABLE: {
      idx = lua_absindex(L, idx);
      lua_pushliteral(L, "_ath_type");
      lua_rawget(L, idx);
      int tt = lua_type(L, -1);
      const char *t = tt == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      lua_pop(L, 1);                     /* t stays valid: the table holds the string */
      if (tt == LUA_TNIL) break;         /* a plain table: not bindable */
      if (t == NULL)
        return ath_error_set(err, ATH_E_ARGUMENT, "%s: _ath_type must be a string, got %s",
                             label_text(label, what, sizeof what), lua_typename(L, tt));
      if (strcmp(t, "array") == 0) {
        size_t n = lua_rawlen(L, idx);
        ath_value *items = ath_calloc(n ? n : 1, sizeof *items);
        if (items == NULL) return ath_error_nomem(err);
        for (size_t i = 0; i < n; i++) {
          lua_rawgeti(L, idx, (int)i + 1);
          ath_value *inner = NULL;
          ath_status st = lua_isnil(L, -1) ? (items[i].type = ATH_V_NULL, ATH_OK)
                                           : to_value(L, -1, &items[i], &inner, label, err);
          lua_pop(L, 1);                 /* strings stay anchored by the array table */
          if (inner) {
            ath_free(inner);
            st = ath_error_set(err, ATH_E_ARGUMENT, "%s: nested arrays are not supported", label_text(label, what, sizeof what));
          }
          if (st != ATH_OK) { ath_free(items); return st; }
        }
        *scratch = items;
        v->type = ATH_V_ARRAY; v->u.arr.items = items; v->u.arr.n = n;
        return ATH_OK;
      }
      ath_vtype vt;
      if (strcmp(t, "blob") == 0) vt = ATH_V_BLOB;
      else if (strcmp(t, "json") == 0) vt = ATH_V_JSON;
      else if (strcmp(t, "numeric") == 0) vt = ATH_V_NUMERIC;
      else if (strcmp(t, "datetime") == 0) vt = ATH_V_DATETIME;
      else return ath_error_set(err, ATH_E_ARGUMENT, "%s: unknown _ath_type '%.40s'", label_text(label, what, sizeof what), t);
      lua_rawgeti(L, idx, 1);
      int pt = lua_type(L, -1);
      if (pt == LUA_TNUMBER && vt == ATH_V_NUMERIC) {
        /* A number is its own exact value: bind it as one. Converting it to
         * text here would make a string nothing anchors. */
        to_value(L, -1, v, scratch, label, err);
        lua_pop(L, 1);
        return ATH_OK;
      }
      if (pt != LUA_TSTRING) {           /* never lua_tolstring a number: the copy is popped */
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "%s: a '%s' value needs a string%s in [1], got %s",
                             label_text(label, what, sizeof what), t,
                             vt == ATH_V_NUMERIC ? " or a number" : "", lua_typename(L, pt));
      }
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      lua_pop(L, 1);                     /* the typed table holds the string */
      v->type = vt;
      return ATH_OK;
    }
    default: break;
  }
  return ath_error_set(err, ATH_E_ARGUMENT, "%s: cannot bind a value of type %s", label_text(label, what, sizeof what),
                       luaL_typename(L, idx));
}

/* Walk the parameters of one execution (stack: params at pidx, names at
 * nidx or 0): check the count, find each value by name or position,
 * convert it as conn:exec does and hand it to sink(ctx, i, v). Never raises.
 * Both drivers bind through here (conn:exec and the cosocket codec), so
 * they refuse and convert alike. */
ath_status ath_l_each_param(lua_State *L, int pidx, int nidx, int want, ath_l_param_sink sink, void *ctx,
                            ath_error *err) {
  if (pidx == 0) {
    if (want == 0) return ATH_OK;
    return ath_error_set(err, ATH_E_ARGUMENT, "statement takes %d parameter%s, none given",
                         want, want == 1 ? "" : "s");
  }
  if (nidx == 0) {
    int given = (int)lua_rawlen(L, pidx);
    if (given > want)
      return ath_error_set(err, ATH_E_ARGUMENT, "statement takes %d parameter%s, %d given",
                           want, want == 1 ? "" : "s", given);
  }
  for (int i = 1; i <= want; i++) {
    const char *name = NULL;                                 /* stays valid: the names table holds it */
    if (nidx) {
      lua_rawgeti(L, nidx, i);                               /* name */
      if (lua_type(L, -1) != LUA_TSTRING) {                  /* no lua_tostring: a converted copy dangles */
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "placeholder %d has no name", i);
      }
      name = lua_tostring(L, -1);
      lua_rawget(L, pidx);                                   /* value */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "A value is required for bind parameter '%.60s'", name);
      }
    } else {
      lua_rawgeti(L, pidx, i);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "A value is required for parameter %d (use ath.null for SQL NULL)", i);
      }
    }
    ath_value v; ath_value *scratch = NULL;
    param_label label = { name, i };
    ath_status st = to_value(L, -1, &v, &scratch, &label, err);
    if (st == ATH_OK) st = sink(ctx, i, &v, err);
    ath_free(scratch);
    lua_pop(L, 1);
    if (st != ATH_OK) return st;
  }
  return ATH_OK;
}

typedef struct { ath_cstmt *s; int borrow; } cstmt_sink;

static ath_status bind_to_cstmt(void *ctx, int i, ath_value *v, ath_error *err) {
  cstmt_sink *k = ctx;
  /* A statement without result columns runs to completion inside this
   * call, while the parameter table keeps every string alive: the driver
   * may borrow the bytes. A cursor steps later, so then it must copy. */
  v->borrowed = k->borrow;
  return ath_cstmt_bind(k->s, i, v, err);
}

/* Bind the parameters of one execution (stack: params at pidx, names at
 * nidx or 0) into s without raising. */
ath_status ath_l_bind_params(lua_State *L, ath_cstmt *s, int pidx, int nidx, ath_error *err) {
  cstmt_sink k = { s, ath_cstmt_column_count(s) == 0 };
  return ath_l_each_param(L, pidx, nidx, ath_cstmt_param_count(s), bind_to_cstmt, &k, err);
}
