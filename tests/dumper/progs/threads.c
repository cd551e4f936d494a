/* Four pthreads, each updating its own state under a shared mutex; main
 * prints a line per round and the final states after joining. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NT 4
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t emu;            /* error-checking: owner is glibc's cached tid */
static unsigned long state[NT];
static int rounds;

static void *worker(void *arg)
{
    long id = (long)arg;
    unsigned long x = (unsigned long)id + 1;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&mu);
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        state[id] ^= x >> 7;
        pthread_mutex_unlock(&mu);
        pthread_mutex_lock(&emu);
        pthread_mutex_unlock(&emu);
        struct timespec ts = {0, 3000000};
        nanosleep(&ts, NULL);
    }
    return (void *)x;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atoi(argv[1]) : 300;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&emu, &a);
    pthread_t t[NT];
    for (long i = 0; i < NT; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %ld: result %lx\n", i, (unsigned long)r);
    }
    for (int i = 0; i < NT; i++)
        printf("state[%d] = %lx\n", i, state[i]);
    /* glibc's cached tid must be this thread's real tid again */
    pthread_mutex_lock(&emu);
    printf("errorcheck relock: %d\n", pthread_mutex_lock(&emu));
    pthread_mutex_unlock(&emu);
    return 0;
}
