/* hooks.c: tern_tm_enable() (hooks.h). */
#include "hooks.h"

const tern_tm_hooks *tm_hooks;

void tern_tm_enable(const tern_tm_hooks *h)
{
    tm_hooks = h;
}
