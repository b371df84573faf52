/* athanor.c — the standalone host: a Lua 5.4 interpreter with athanor
 * preloaded from the embedded sources.
 *   athanor script.lua [args]   run a script (arg table as lua5.4 builds it)
 *   athanor -e 'code' [args]    run a chunk
 *   athanor migrate ...         require("athanor.migrate.cli").main({...});
 *                               exit 2 when this build has no migrations
 *                               (today none has: --help lists the command
 *                               only when the module is embedded)
 *   athanor --version */
#include <stdio.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"

#define ATH_HOST_VERSION "0.1.0"

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {                                /* an error object: use its __tostring */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Run the function below its nargs arguments with a traceback handler, keep
 * nres results; an error is printed (message + traceback) and popped. */
static int docall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  if (rc != LUA_OK) {
    fprintf(stderr, "athanor: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return rc;
}

/* True when this build embeds the migrations' command-line module. */
static int has_migrations(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return 0;
  luaL_openlibs(L);
  ath_openlib(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_getfield(L, -1, "athanor.migrate.cli");
  int found = !lua_isnil(L, -1);
  lua_close(L);
  return found;
}

/* Lists only what this build can do: `migrate` when the migrations are in. */
static void usage(FILE *to) {
  fputs("usage: athanor script.lua [args...]   run a Lua 5.4 script with athanor built in\n"
        "       athanor -e 'lua code' [args...]\n", to);
  int migrations = has_migrations();
  if (migrations)
    fputs("       athanor migrate <init|revision|upgrade|downgrade|current|history|heads|stamp> ...\n", to);
  fputs("       athanor --version\n"
        "       athanor --help\n", to);
  if (!migrations) fputs("Migrations (athanor migrate) are not part of this version yet.\n", to);
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
    /* Only the module itself being absent means "not in this build"; an
     * error inside it (or a dependency it lacks) is reported as it is. */
    if (msg && strstr(msg, "module 'athanor.migrate.cli' not found") == msg) {
      fputs("athanor migrate: migrations are not available in this build\n", stderr);
      return 2;
    }
    fprintf(stderr, "athanor migrate: %s\n", msg ? msg : "error loading the migrations module");
    return 1;
  }
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc - 2, 0);
  for (int i = 2; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - 1); }
  if (docall(L, 1, 1) != LUA_OK) return 1;
  /* main() may return the exit status (an integer); anything else is 0. */
  int code = lua_type(L, -1) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : 0;
  lua_pop(L, 2);                                  /* status, module */
  return code;
}

int main(int argc, char **argv) {
  if (argc < 2) { usage(stderr); return 1; }
  if (strcmp(argv[1], "--version") == 0) { puts("athanor " ATH_HOST_VERSION " (" LUA_RELEASE ")"); return 0; }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) { usage(stdout); return 0; }
  lua_State *L = luaL_newstate();
  if (L == NULL) { fputs("athanor: cannot create a Lua state (out of memory)\n", stderr); return 1; }
  luaL_openlibs(L);
  ath_openlib(L);
  int code;                                       /* the process exit status */
  if (strcmp(argv[1], "migrate") == 0) {
    code = run_migrate(L, argc, argv);
  } else {
    /* `-e code [args]` or `script [args]`: the chunk is argv[first], its
     * arguments (arg[1..], and `...`) follow it, as lua5.4 does. */
    int first = strcmp(argv[1], "-e") == 0 ? 2 : 1;
    if (first >= argc) { usage(stderr); lua_close(L); return 1; }
    set_args(L, argv, argc, first);
    int status = first == 2 ? luaL_loadbuffer(L, argv[2], strlen(argv[2]), "=(command line)")
                            : luaL_loadfile(L, argv[1]);
    if (status != LUA_OK) {
      fprintf(stderr, "athanor: %s\n", lua_tostring(L, -1));
      code = 1;
    } else {
      for (int i = first + 1; i < argc; i++) lua_pushstring(L, argv[i]);
      code = docall(L, argc - first - 1, 0) == LUA_OK ? 0 : 1;
    }
  }
  lua_close(L);
  return code;
}
