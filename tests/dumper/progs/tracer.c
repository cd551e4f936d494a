/* Holds another process under ptrace for a while (for the refusal test). */
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0) < 0)
        return 1;
    sleep(argc > 2 ? atoi(argv[2]) : 30);
    return 0;
}
