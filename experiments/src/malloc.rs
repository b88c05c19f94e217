//! glibc's allocator serves blocks above a moving threshold with `mmap` and unmaps them on
//! `free`, so a training step that frees and reallocates its activations (hundreds of KiB each)
//! page-faults them back in every step. The PyTorch reference benchmark fixes the thresholds
//! the same way (`benches/pytorch/torch_bench.py`), so both sides run in the same steady state.
//!
//! Blocks up to 32 MiB come from the heap, and freed memory at the top of the heap is kept for
//! reuse instead of being returned to the system: the process's memory stays at its working
//! set's peak, which is what peak-memory figures measure anyway.

/// Sets the thresholds described in the module documentation; a no-op on other allocators.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // glibc's <malloc.h>: int mallopt(int param, int value)
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes the allocator's tuning parameters; it is called at
        // start-up, before any other thread exists, with values glibc documents as valid.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
