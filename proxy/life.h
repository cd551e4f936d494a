/* life.h: the application's life and the signals mpirun sends (life.c). */
#ifndef TERN_PROXY_LIFE_H
#define TERN_PROXY_LIFE_H

#pragma GCC visibility push(hidden)

/* Before the application starts: SIGCHLD ends the proxy as the application
 * ended; the table's signals are passed on (those tern handles stay tern's). */
void px_life_init(void);
/* In the child, before exec: the signal mask mpirun gave. */
void px_life_child(void);
/* The channel says the application is gone: wait for it and end likewise. */
void px_wait_app(void) __attribute__((noreturn));
/* The application has ended (a look, not a wait): end likewise. */
void px_app_check(void);
/* The proxy ends on its own (px_fatal): the application's death is not news. */
void px_fatal_ending(void);

#pragma GCC visibility pop
#endif
