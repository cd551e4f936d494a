/* serve.h: the proxy's channel loop (serve.c). */
#ifndef TERN_PROXY_SERVE_H
#define TERN_PROXY_SERVE_H

#include "tern_channel.h"

#pragma GCC visibility push(hidden)

/* Serve the application's calls until it ends (the proxy ends with it). */
void px_serve(tern_chan *c) __attribute__((noreturn));

#pragma GCC visibility pop
#endif
