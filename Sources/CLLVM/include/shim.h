// The one place that includes the LLVM C API. Only LoopCodegen imports this module.
#ifndef LOOPAI_CLLVM_SHIM_H
#define LOOPAI_CLLVM_SHIM_H
#include "llvm-c/Core.h"
#include "llvm-c/Analysis.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Orc.h"
#include "llvm-c/LLJIT.h"
#include "llvm-c/Error.h"
#include "llvm-c/Transforms/PassBuilder.h"

// Target initialisation is static inline in Target.h; these non-inline wrappers make it callable.
int cllvm_initialize_native(void);
#endif
