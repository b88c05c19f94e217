/* The measured FMA peak of this machine's cores: f32 and f64, 256-bit (AVX2) and, where the CPU
 * has them, 512-bit (AVX-512) vectors; the 512-bit loops are skipped on CPUs without AVX-512F.
 *
 *   cc -O2 -pthread -o /tmp/fma_peak benches/fma_peak.c && /tmp/fma_peak [THREADS]
 *
 * THREADS (default 1) copies run at once, one per thread, and the figure is their sum: run it
 * with the thread count of the benchmark (2 on a 2-core machine) to get the peak the benchmark's
 * GFLOP/s are a share of. Twelve independent accumulator chains per thread hide the FMA latency,
 * so each loop runs at the FMA throughput: GFLOP/s = FMA pipes x lanes x 2 x the clock the cores
 * reach under load (which a VM's nominal MHz in /proc/cpuinfo does not show).
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
#define ITERS 100000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Runs ITERS rounds of CHAINS dependent FMAs and returns GFLOP/s of this thread. */
#define FMA_LOOP(VEC, SET1, FMADD, ADD, LANES, ELEM)                         \
    VEC acc[CHAINS], m = SET1((ELEM)0.999999), c = SET1((ELEM)1e-7);         \
    for (int i = 0; i < CHAINS; i++) acc[i] = SET1((ELEM)i);                 \
    double t = now();                                                        \
    for (long k = 0; k < ITERS; k++)                                         \
        _Pragma("GCC unroll 12") for (int i = 0; i < CHAINS; i++)            \
            acc[i] = FMADD(acc[i], m, c);                                    \
    t = now() - t;                                                           \
    for (int i = 1; i < CHAINS; i++) acc[0] = ADD(acc[0], acc[i]);           \
    ELEM sink[LANES];                                                        \
    __builtin_memcpy(sink, &acc[0], sizeof sink);                            \
    if (sink[0] == (ELEM)42) puts("");                                       \
    return 2.0 * LANES * CHAINS * ITERS / t / 1e9;

__attribute__((target("avx2,fma"))) static double f32_256(void) {
    FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, 8, float)
}
__attribute__((target("avx2,fma"))) static double f64_256(void) {
    FMA_LOOP(__m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd, 4, double)
}
__attribute__((target("avx512f"))) static double f32_512(void) {
    FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, 16, float)
}
__attribute__((target("avx512f"))) static double f64_512(void) {
    FMA_LOOP(__m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd, 8, double)
}

struct job {
    double (*kernel)(void);
    double gflops;
};

static void *run_job(void *arg) {
    struct job *j = arg;
    j->gflops = j->kernel();
    return NULL;
}

/* The summed GFLOP/s of `threads` copies of `kernel` running at once. */
static double together(double (*kernel)(void), int threads) {
    pthread_t ids[threads];
    struct job jobs[threads];
    for (int i = 0; i < threads; i++) {
        jobs[i].kernel = kernel;
        pthread_create(&ids[i], NULL, run_job, &jobs[i]);
    }
    double sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        sum += jobs[i].gflops;
    }
    return sum;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: %s [THREADS]  (THREADS: 1 to 256, got '%s')\n", argv[0], argv[1]);
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "this CPU has no AVX2 + FMA; the benchmark's kernels fall back to scalar code\n");
        return 1;
    }
    printf("%d thread(s) at once, FMA peak in GFLOP/s:\n", threads);
    printf("  f32 256-bit %7.1f\n", together(f32_256, threads));
    printf("  f64 256-bit %7.1f\n", together(f64_256, threads));
    if (__builtin_cpu_supports("avx512f")) {
        printf("  f32 512-bit %7.1f\n", together(f32_512, threads));
        printf("  f64 512-bit %7.1f\n", together(f64_512, threads));
    } else {
        printf("  (no AVX-512F on this CPU: the 512-bit loops are skipped)\n");
    }
    return 0;
}
