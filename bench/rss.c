/* rss OUT PROG [ARGS...]: run PROG (stdin, stdout, stderr inherited), then
 * write its peak resident set (ru_maxrss, KiB) to the file OUT and exit with
 * its exit code.
 *
 * Why not measure from Python: Linux records the hiwater RSS of the memory
 * image a process had before exec into its ru_maxrss, and Python spawns with
 * vfork, whose pre-exec image is the (large) parent's. This launcher is
 * small, forks for real, and so adds at most its own ~1 MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rss OUT PROG [ARGS...]\n");
        return 64;
    }
    pid_t pid = fork();
    if (pid < 0) { perror("rss: fork"); return 71; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("rss: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) { perror("rss: wait4"); return 71; }
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror("rss: open"); return 73; }
    fprintf(f, "%ld\n", ru.ru_maxrss);
    fclose(f);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
