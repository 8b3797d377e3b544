#ifndef LOOPAI_THREAD_AFFINITY_H
#define LOOPAI_THREAD_AFFINITY_H

/// Pins the calling thread to the n-th CPU (counting from 0, modulo their number) of the CPUs
/// it may run on now. Returns that CPU's number, or -1 when the system refuses or has no such
/// call (anything but Linux).
int loopai_pin_this_thread(int n);

#endif
