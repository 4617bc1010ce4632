/* The fp32 FMA peak of the cores this benchmark runs on, measured, not quoted.

   Compiled and run by bench/fma_peak.py (cc -O2 -pthread fma_peak.c). One thread per CPU given,
   each pinned to its CPU and all started together behind a barrier, runs a loop of independent
   fused multiply-adds on vector registers: with more accumulators than (FMA latency x FMA ports)
   the loop is bound by FMA throughput alone, which is the peak a GEMM micro-kernel can approach.

     fma_peak [avx512|avx2] CPU[,CPU...] RUNS SECONDS

   The ISA is the widest the CPU and OS support unless given (AVX-512F: 16 zmm accumulators of 16
   floats; AVX2+FMA: 12 ymm accumulators of 8 floats). Prints one JSON object: per run, the
   GFLOP/s per core (one thread's FLOPs / the slowest thread's CPU time, which leaves out the turns
   other processes took on these CPUs; and the same over wall-clock time), and the best run of
   each. Exit status 2: no FMA unit this program knows (not x86-64, or no AVX2+FMA). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* acc = acc * b + c converges to c / (1 - b) = 1: no overflow, no subnormals, however long. */
#define MUL 0.999999f
#define ADD 1e-6f

#if defined(__x86_64__)
#define AVX512_ACCS 16
#define AVX512_LANES 16
__attribute__((target("avx512f"))) static float fma_loop_avx512(long iters, float seed) {
  const __m512 b = _mm512_set1_ps(MUL), c = _mm512_set1_ps(ADD);
  /* Distinct starting values: equal ones would let the compiler compute one chain for all. */
  __m512 a0 = _mm512_set1_ps(seed), a1 = _mm512_set1_ps(seed + 1.0f), a2 = _mm512_set1_ps(seed + 2.0f);
  __m512 a3 = _mm512_set1_ps(seed + 3.0f), a4 = _mm512_set1_ps(seed + 4.0f), a5 = _mm512_set1_ps(seed + 5.0f);
  __m512 a6 = _mm512_set1_ps(seed + 6.0f), a7 = _mm512_set1_ps(seed + 7.0f), a8 = _mm512_set1_ps(seed + 8.0f);
  __m512 a9 = _mm512_set1_ps(seed + 9.0f), a10 = _mm512_set1_ps(seed + 10.0f), a11 = _mm512_set1_ps(seed + 11.0f);
  __m512 a12 = _mm512_set1_ps(seed + 12.0f), a13 = _mm512_set1_ps(seed + 13.0f);
  __m512 a14 = _mm512_set1_ps(seed + 14.0f), a15 = _mm512_set1_ps(seed + 15.0f);
  for (long i = 0; i < iters; ++i) {
    a0 = _mm512_fmadd_ps(a0, b, c); a1 = _mm512_fmadd_ps(a1, b, c);
    a2 = _mm512_fmadd_ps(a2, b, c); a3 = _mm512_fmadd_ps(a3, b, c);
    a4 = _mm512_fmadd_ps(a4, b, c); a5 = _mm512_fmadd_ps(a5, b, c);
    a6 = _mm512_fmadd_ps(a6, b, c); a7 = _mm512_fmadd_ps(a7, b, c);
    a8 = _mm512_fmadd_ps(a8, b, c); a9 = _mm512_fmadd_ps(a9, b, c);
    a10 = _mm512_fmadd_ps(a10, b, c); a11 = _mm512_fmadd_ps(a11, b, c);
    a12 = _mm512_fmadd_ps(a12, b, c); a13 = _mm512_fmadd_ps(a13, b, c);
    a14 = _mm512_fmadd_ps(a14, b, c); a15 = _mm512_fmadd_ps(a15, b, c);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                     _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
  return _mm512_reduce_add_ps(s);
}

#define AVX2_ACCS 12
#define AVX2_LANES 8
__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters, float seed) {
  const __m256 b = _mm256_set1_ps(MUL), c = _mm256_set1_ps(ADD);
  __m256 a0 = _mm256_set1_ps(seed), a1 = _mm256_set1_ps(seed + 1.0f), a2 = _mm256_set1_ps(seed + 2.0f);
  __m256 a3 = _mm256_set1_ps(seed + 3.0f), a4 = _mm256_set1_ps(seed + 4.0f), a5 = _mm256_set1_ps(seed + 5.0f);
  __m256 a6 = _mm256_set1_ps(seed + 6.0f), a7 = _mm256_set1_ps(seed + 7.0f), a8 = _mm256_set1_ps(seed + 8.0f);
  __m256 a9 = _mm256_set1_ps(seed + 9.0f), a10 = _mm256_set1_ps(seed + 10.0f), a11 = _mm256_set1_ps(seed + 11.0f);
  for (long i = 0; i < iters; ++i) {
    a0 = _mm256_fmadd_ps(a0, b, c); a1 = _mm256_fmadd_ps(a1, b, c);
    a2 = _mm256_fmadd_ps(a2, b, c); a3 = _mm256_fmadd_ps(a3, b, c);
    a4 = _mm256_fmadd_ps(a4, b, c); a5 = _mm256_fmadd_ps(a5, b, c);
    a6 = _mm256_fmadd_ps(a6, b, c); a7 = _mm256_fmadd_ps(a7, b, c);
    a8 = _mm256_fmadd_ps(a8, b, c); a9 = _mm256_fmadd_ps(a9, b, c);
    a10 = _mm256_fmadd_ps(a10, b, c); a11 = _mm256_fmadd_ps(a11, b, c);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
#endif

typedef float (*fma_loop)(long iters, float seed);

static fma_loop loop_fn;
static double flops_per_iter;
static long iters;
static pthread_barrier_t barrier;
static volatile float sink;
static volatile float seed_value = 0.5f; /* read at run time: nothing to fold */

struct worker {
  pthread_t thread;
  int cpu;
  int pinned;
  double wall_seconds;
  double cpu_seconds; /* the time the thread was on its CPU: other processes' turns left out */
};

static double thread_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void* worker_main(void* arg) {
  struct worker* w = (struct worker*)arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(w->cpu, &set);
  w->pinned = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
  sink = loop_fn(iters / 16 + 1, seed_value); /* warm up: the vector unit powered, the frequency settled */
  pthread_barrier_wait(&barrier);
  const double wall = now_seconds(), cpu = thread_cpu_seconds();
  sink = loop_fn(iters, seed_value);
  w->cpu_seconds = thread_cpu_seconds() - cpu;
  w->wall_seconds = now_seconds() - wall;
  return NULL;
}

/* One run on every CPU at once: the slowest thread's wall-clock and CPU seconds. */
struct timing {
  double wall;
  double cpu;
};
static struct timing run_once(struct worker* workers, int n) {
  pthread_barrier_init(&barrier, NULL, (unsigned)n);
  for (int t = 0; t < n; ++t) pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]);
  struct timing slowest = {0.0, 0.0};
  for (int t = 0; t < n; ++t) {
    pthread_join(workers[t].thread, NULL);
    if (workers[t].wall_seconds > slowest.wall) slowest.wall = workers[t].wall_seconds;
    if (workers[t].cpu_seconds > slowest.cpu) slowest.cpu = workers[t].cpu_seconds;
  }
  pthread_barrier_destroy(&barrier);
  return slowest;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s avx512|avx2|auto CPU[,CPU...] RUNS SECONDS\n", argv[0]);
    return 1;
  }
  const char* isa = argv[1];
  int accs = 0, lanes = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  const int has_avx512 = __builtin_cpu_supports("avx512f");
  const int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (strcmp(isa, "auto") == 0) isa = has_avx512 ? "avx512" : has_avx2 ? "avx2" : "none";
  if (strcmp(isa, "avx512") == 0 && has_avx512) {
    loop_fn = fma_loop_avx512, accs = AVX512_ACCS, lanes = AVX512_LANES;
  } else if (strcmp(isa, "avx2") == 0 && has_avx2) {
    loop_fn = fma_loop_avx2, accs = AVX2_ACCS, lanes = AVX2_LANES;
  }
#endif
  if (loop_fn == NULL) {
    fprintf(stderr, "fma_peak: no supported FMA instruction set ('%s') on this CPU\n", isa);
    return 2;
  }
  flops_per_iter = 2.0 * accs * lanes;

  struct worker workers[1024];
  int n = 0;
  for (char* tok = strtok(argv[2], ","); tok != NULL && n < 1024; tok = strtok(NULL, ","))
    workers[n++].cpu = atoi(tok);
  const int runs = atoi(argv[3]);
  const double seconds = atof(argv[4]);
  if (n < 1 || runs < 1 || !(seconds > 0.0)) {
    fprintf(stderr, "fma_peak: need at least one CPU, RUNS >= 1 and SECONDS > 0\n");
    return 1;
  }

  /* Calibrate the iteration count to about SECONDS of CPU time per run (one thread, pinned). */
  iters = 1 << 16;
  for (;;) {
    const double t = run_once(workers, 1).cpu;
    if (t >= 0.02 || iters > (1L << 40)) {
      iters = (long)((double)iters * seconds / (t > 0.0 ? t : 1e-9)) + 1;
      break;
    }
    iters *= 8;
  }

  /* Per run: GFLOP/s per core over the slowest thread's CPU time (the peak: what the core does
     while the thread runs, whoever else shares it) and over its wall-clock time (what this run
     got; lower when other processes took turns on these CPUs). */
  const double flops = flops_per_iter * (double)iters;
  double cpu_runs[256], wall_runs[256];
  double best = 0.0, best_wall = 0.0;
  int pinned = 1;
  const int kept = runs < 256 ? runs : 256;
  for (int r = 0; r < kept; ++r) {
    const struct timing t = run_once(workers, n);
    for (int w = 0; w < n; ++w) pinned = pinned && workers[w].pinned;
    cpu_runs[r] = flops / t.cpu / 1e9;
    wall_runs[r] = flops / t.wall / 1e9;
    if (cpu_runs[r] > best) best = cpu_runs[r];
    if (wall_runs[r] > best_wall) best_wall = wall_runs[r];
  }
  printf("{\"isa\": \"%s\", \"accumulators\": %d, \"lanes\": %d, \"iterations\": %ld, \"cpus\": [", isa, accs,
         lanes, iters);
  for (int t = 0; t < n; ++t) printf("%s%d", t ? ", " : "", workers[t].cpu);
  printf("], \"gflops_per_core_runs\": [");
  for (int r = 0; r < kept; ++r) printf("%s%.2f", r ? ", " : "", cpu_runs[r]);
  printf("], \"gflops_per_core_wall_runs\": [");
  for (int r = 0; r < kept; ++r) printf("%s%.2f", r ? ", " : "", wall_runs[r]);
  printf("], \"gflops_per_core\": %.2f, \"gflops_per_core_wall\": %.2f, \"pinned\": %s}\n", best, best_wall,
         pinned ? "true" : "false");
  return 0;
}
