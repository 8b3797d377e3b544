// Thread affinity for `loopai serve --pin-event-loops`, and thread names. glibc declares these
// calls only with _GNU_SOURCE, which the Swift importer does not define: hence this C file.
#define _GNU_SOURCE
#include "thread_affinity.h"

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

static cpu_set_t before_pinning;
static atomic_int saved = 0;   // 0: not yet, 1: being saved, 2: saved

int loopai_pin_this_thread(int n) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return -1;
    int expected = 0;
    if (atomic_compare_exchange_strong(&saved, &expected, 1)) {
        before_pinning = allowed;
        atomic_store(&saved, 2);
    }
    int count = CPU_COUNT(&allowed);
    if (count <= 0 || n < 0) return -1;
    int k = n % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (k-- > 0) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0 ? cpu : -1;
    }
    return -1;
}

int loopai_unpin_this_thread(void) {
    if (atomic_load(&saved) != 2) return 0;
    return pthread_setaffinity_np(pthread_self(), sizeof before_pinning, &before_pinning) == 0 ? 0 : -1;
}

int loopai_name_this_thread(const char *name) {
    char shortened[16];
    strncpy(shortened, name, sizeof shortened - 1);
    shortened[sizeof shortened - 1] = 0;
    return pthread_setname_np(pthread_self(), shortened) == 0 ? 0 : -1;
}
#else
int loopai_pin_this_thread(int n) { (void)n; return -1; }
int loopai_name_this_thread(const char *name) { (void)name; return -1; }
int loopai_unpin_this_thread(void) { return 0; }
#endif
