#pragma once
// FASTMLP_VECTOR_CLONES marks an element-wise loop function to be compiled for AVX-512, AVX2 and
// the baseline, with the best version picked when the library is loaded (GCC/Clang function
// multi-versioning through an ifunc resolver). The rest of the library stays baseline x86-64, so
// one wheel runs everywhere, while the optimizer and activation passes use the full vector width.
// With FMA contraction off (-ffp-contract=off, see CMakeLists.txt) every clone rounds identically.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__)
#define FASTMLP_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTMLP_VECTOR_CLONES
#endif

// Tells GCC that a loop has no loop-carried dependence, e.g. an in-place y[i] = f(x[i]) where
// x == y, which its run-time alias check would otherwise send down the scalar path.
#if defined(__GNUC__) && !defined(__clang__)
#define FASTMLP_IVDEP _Pragma("GCC ivdep")
#else
#define FASTMLP_IVDEP
#endif
