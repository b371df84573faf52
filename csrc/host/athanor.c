/* athanor.c — the standalone host: a Lua 5.4 interpreter with athanor
 * preloaded from the embedded sources.
 *   athanor script.lua [args]   run a script (arg table as lua5.4 builds it)
 *   athanor -e 'code'           run a chunk
 *   athanor migrate ...         the migrations command line
 *   athanor --version */
#include <stdio.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {                                /* an error object: use its __tostring */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Run the function on top with nargs arguments; report errors. */
static int docall(lua_State *L, int nargs) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, 0, base);
  lua_remove(L, base);
  if (rc != LUA_OK) {
    fprintf(stderr, "athanor: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return rc;
}

static void usage(FILE *to) {
  fputs("usage: athanor script.lua [args...]\n"
        "       athanor -e 'lua code'\n"
        "       athanor migrate <init|revision|upgrade|downgrade|current|history|heads|stamp> ...\n"
        "       athanor --version\n", to);
}

/* arg table: arg[0] = script, arg[1..] = its arguments */
static void set_args(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_migrate(lua_State *L, int argc, char **argv) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "athanor.migrate.cli");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg && strstr(msg, "athanor.migrate.cli") && strstr(msg, "not found")) {
      fputs("athanor migrate: migrations are not available in this build\n", stderr);
      return 2;
    }
    fprintf(stderr, "athanor migrate: %s\n", msg ? msg : "error loading the migrations module");
    return 1;
  }
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc - 2, 0);
  for (int i = 2; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - 1); }
  return docall(L, 1) == LUA_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) { usage(stderr); return 1; }
  if (strcmp(argv[1], "--version") == 0) { puts("athanor 0.1.0 (" LUA_RELEASE ")"); return 0; }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) { usage(stdout); return 0; }
  lua_State *L = luaL_newstate();
  if (L == NULL) { fputs("athanor: cannot create a Lua state (out of memory)\n", stderr); return 1; }
  luaL_openlibs(L);
  ath_openlib(L);
  int status;
  if (strcmp(argv[1], "-e") == 0) {
    if (argc < 3) { usage(stderr); lua_close(L); return 1; }
    set_args(L, argv, argc, 1);
    status = luaL_loadbuffer(L, argv[2], strlen(argv[2]), "=(command line)");
    status = status == LUA_OK ? docall(L, 0) : (fprintf(stderr, "athanor: %s\n", lua_tostring(L, -1)), 1);
  } else if (strcmp(argv[1], "migrate") == 0) {
    status = run_migrate(L, argc, argv);
  } else {
    set_args(L, argv, argc, 1);
    status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
      int n = argc - 2;
      for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
      status = docall(L, n);
    } else {
      fprintf(stderr, "athanor: %s\n", lua_tostring(L, -1));
    }
  }
  lua_close(L);
  return status == LUA_OK ? 0 : (status == 2 ? 2 : 1);
}
