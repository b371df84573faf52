#include "l_internal.h"
void ath_l_compile_register(lua_State *L) { (void)L; }
