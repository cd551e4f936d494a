/* binary.h: programs transparent mode refuses before they start (binary.c). */
#ifndef TERN_PROXY_BINARY_H
#define TERN_PROXY_BINARY_H

#pragma GCC visibility push(hidden)

/* Exits with one line when the program at path cannot be served. */
void px_check_binary(const char *path);

#pragma GCC visibility pop
#endif
