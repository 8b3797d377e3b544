#ifndef LOOPAI_THREAD_AFFINITY_H
#define LOOPAI_THREAD_AFFINITY_H

/// Pins the calling thread to the n-th CPU (counting from 0, modulo their number) of the CPUs
/// it may run on now. Returns that CPU's number, or -1 when the system refuses or has no such
/// call (anything but Linux).
int loopai_pin_this_thread(int n);

/// Gives the calling thread back the CPUs the first pinned thread could use before it was
/// pinned (a thread inherits its creator's CPUs: one started from a pinned thread would keep
/// its one CPU). Does nothing before a thread was pinned. Returns 0, or -1 when refused.
int loopai_unpin_this_thread(void);

/// Names the calling thread (its first 15 bytes: Linux keeps no more), as `top` and
/// /proc/PID/task/TID/comm show it. Returns 0, or -1 when refused or not on Linux.
int loopai_name_this_thread(const char *name);

#endif
