/* The floor: a process that only reads its message from stdin and exits 0.
 * Timing it through the same process-per-message loop as `pipedesk deliver`
 * shows what fork+exec+read alone cost on this machine. */
#include <unistd.h>

int main(void) {
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) return 74;
    }
}
