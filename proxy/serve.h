/* serve.h: the proxy's channel loop (serve.c). */
#ifndef TERN_PROXY_SERVE_H
#define TERN_PROXY_SERVE_H

#include "tern_channel.h"

#pragma GCC visibility push(hidden)

/* Serve the application's calls until it ends (the proxy ends with it). */
void px_serve(tern_chan *c) __attribute__((noreturn));
/* A restart: the channel, then the call the application was waiting in
 * when the checkpoint was taken (already in the channel, len bytes). */
void px_serve_init(tern_chan *c);
void px_serve_adopted(size_t len);
tern_chan *px_chan(void);

#pragma GCC visibility pop
#endif
