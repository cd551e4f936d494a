/* Processes the dumper must refuse: argv[1] picks what they hold. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "child")) {
        if (fork() == 0) {
            sleep(30);
            _exit(0);
        }
    } else if (!strcmp(what, "socket")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            return 1;
    } else if (!strcmp(what, "pipe")) {
        int p[2];
        if (pipe(p) < 0)
            return 1;
    } else if (!strcmp(what, "eventfd")) {
        if (eventfd(0, 0) < 0)
            return 1;
    } else if (!strcmp(what, "sysv")) {
        int id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
        if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
            return 1;
        shmctl(id, IPC_RMID, NULL);
    } else if (!strcmp(what, "shmdel")) {
        int fd = open("shared.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, 65536) < 0)
            return 1;
        if (mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
            return 1;
        close(fd);
        unlink("shared.tmp");
    }
    printf("ready\n");
    fflush(stdout);
    sleep(30);
    return 0;
}
