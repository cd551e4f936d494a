/* Writes records to a file and reads earlier ones back, across the dump:
 * the fd's offset and the file's content must line up after restore. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0666);
    FILE *log = fopen("log.txt", "w");
    if (fd < 0 || !log)
        return 1;
    unsigned long h = 5381;
    for (int i = 0; i < n; i++) {
        char rec[64];
        snprintf(rec, sizeof rec, "record %06d %016lx\n", i, h);
        if (write(fd, rec, 32) != 32)
            return 2;
        if (i >= 10) {
            /* read back record i-10 with the same fd, then return to the end */
            off_t end = lseek(fd, 0, SEEK_CUR);
            char back[33] = {0};
            if (pread(fd, back, 32, (off_t)(i - 10) * 32) != 32)
                return 3;
            for (int k = 0; k < 32; k++)
                h = h * 33 + (unsigned char)back[k];
            if (lseek(fd, end, SEEK_SET) != end)
                return 4;
        }
        fprintf(log, "%d %lx\n", i, h);
        printf("%d %lx\n", i, h);
        fflush(stdout);
        struct timespec ts = {0, 8000000};
        nanosleep(&ts, NULL);
    }
    fclose(log);
    lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t r;
    unsigned long all = 0;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t k = 0; k < r; k++)
            all = all * 131 + (unsigned char)buf[k];
    printf("file hash %lx\n", all);
    return 0;
}
