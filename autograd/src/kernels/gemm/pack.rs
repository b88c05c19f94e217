//! Packing of A and B blocks into the micro-kernels' panel layout, and the reusable buffers
//! they are packed into.
//!
//! Buffers are thread-local and only ever grow: a training loop calls the GEMM thousands of
//! times with the same shapes, and a multi-megabyte buffer freed and reallocated on every call
//! would be unmapped and page-faulted again each time by glibc's allocator. A buffer is *taken*
//! out of its slot for the duration of its use, so a nested product on the same thread (rayon
//! work-stealing while this thread waits) finds the slot empty and uses a fresh buffer instead of
//! aliasing this one.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr::NonNull;

use super::GemmScalar;

/// Alignment of packed buffers: a cache line, and a zmm register.
const ALIGN: usize = 64;
/// Buffers grow in steps of this many bytes, so slowly varying sizes do not reallocate each call.
const GRANULE: usize = 64 * 1024;

/// An uninitialised, 64-byte aligned heap block.
pub(super) struct AlignedBuf {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: the block is owned uniquely; it is plain memory.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    const fn empty() -> Self {
        AlignedBuf {
            ptr: NonNull::dangling(),
            bytes: 0,
        }
    }

    fn reserve(&mut self, bytes: usize) {
        if bytes <= self.bytes {
            return;
        }
        let bytes = bytes.div_ceil(GRANULE) * GRANULE;
        let layout = Layout::from_size_align(bytes, ALIGN).expect("GEMM packing buffer too large");
        // Free first: the old contents are not needed.
        *self = AlignedBuf::empty();
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        self.ptr = NonNull::new(ptr).unwrap_or_else(|| handle_alloc_error(layout));
        self.bytes = bytes;
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.bytes > 0 {
            // SAFETY: allocated in `reserve` with this layout.
            unsafe {
                dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.bytes, ALIGN),
                )
            }
        }
    }
}

thread_local! {
    static PACK_A: Cell<Option<AlignedBuf>> = const { Cell::new(None) };
    static PACK_B: Cell<Option<AlignedBuf>> = const { Cell::new(None) };
}

/// Which of the thread's two buffers: A blocks (one per task) or B blocks (one per product).
#[derive(Clone, Copy)]
pub(super) enum Slot {
    A,
    B,
}

/// Calls `f` with a 64-byte aligned, uninitialised block of at least `bytes` bytes, reusing the
/// calling thread's buffer for `slot`.
pub(super) fn with_buffer<R>(slot: Slot, bytes: usize, f: impl FnOnce(*mut u8) -> R) -> R {
    let key = match slot {
        Slot::A => &PACK_A,
        Slot::B => &PACK_B,
    };
    let mut buf = key.with(Cell::take).unwrap_or(AlignedBuf::empty());
    buf.reserve(bytes);
    let result = f(buf.ptr.as_ptr());
    key.with(|cell| {
        // A nested user may have put its own buffer back meanwhile: keep the larger one.
        if let Some(other) = cell.take() {
            if other.bytes > buf.bytes {
                buf = other;
            }
        }
        cell.set(Some(buf));
    });
    result
}

/// Packs the `m × kc` block of A at `a` (element (i, p) at `a + i·rs + p·cs`) into panels of
/// `mr` rows: panel `t` (at `dst + t·mr·kc`) holds, for each p, the `mr` values of rows
/// `t·mr ..`; rows past `m` are zero.
///
/// # Safety
/// `a` must address a valid `m × kc` block with these strides and `dst` must have room for
/// `⌈m / mr⌉·mr·kc` elements.
pub(super) unsafe fn pack_a<T: GemmScalar>(
    mr: usize,
    m: usize,
    kc: usize,
    a: *const T,
    rs: isize,
    cs: isize,
    dst: *mut T,
) {
    for t in 0..m.div_ceil(mr) {
        let rows = mr.min(m - t * mr);
        let src = a.offset((t * mr) as isize * rs);
        let d = dst.add(t * mr * kc);
        if cs == 1 && rs != 1 {
            // Rows are contiguous: read along them.
            for i in 0..rows {
                let s = src.offset(i as isize * rs);
                for p in 0..kc {
                    *d.add(p * mr + i) = *s.add(p);
                }
            }
            if rows < mr {
                for p in 0..kc {
                    for i in rows..mr {
                        *d.add(p * mr + i) = T::ZERO;
                    }
                }
            }
        } else {
            // Columns are contiguous (a transposed view) or nothing is: read down columns.
            for p in 0..kc {
                let s = src.offset(p as isize * cs);
                let dp = d.add(p * mr);
                for i in 0..rows {
                    *dp.add(i) = *s.offset(i as isize * rs);
                }
                for i in rows..mr {
                    *dp.add(i) = T::ZERO;
                }
            }
        }
    }
}

/// Packs the `kc × n` block of B at `b` (element (p, j) at `b + p·rs + j·cs`) into panels of
/// `nr` columns: panel `t` (at `dst + t·nr·kc`) holds, for each p, the `nr` values of columns
/// `t·nr ..`; columns past `n` are zero.
///
/// # Safety
/// `b` must address a valid `kc × n` block with these strides and `dst` must have room for
/// `⌈n / nr⌉·nr·kc` elements.
pub(super) unsafe fn pack_b<T: GemmScalar>(
    nr: usize,
    n: usize,
    kc: usize,
    b: *const T,
    rs: isize,
    cs: isize,
    dst: *mut T,
) {
    for t in 0..n.div_ceil(nr) {
        let cols = nr.min(n - t * nr);
        let src = b.offset((t * nr) as isize * cs);
        let d = dst.add(t * nr * kc);
        if cs == 1 {
            // Rows are contiguous: copy `cols` values per row.
            for p in 0..kc {
                let dp = d.add(p * nr);
                std::ptr::copy_nonoverlapping(src.offset(p as isize * rs), dp, cols);
                for j in cols..nr {
                    *dp.add(j) = T::ZERO;
                }
            }
        } else {
            // Columns are contiguous (a transposed view) or nothing is: read down columns.
            for j in 0..cols {
                let s = src.offset(j as isize * cs);
                for p in 0..kc {
                    *d.add(p * nr + j) = *s.offset(p as isize * rs);
                }
            }
            if cols < nr {
                for p in 0..kc {
                    for j in cols..nr {
                        *d.add(p * nr + j) = T::ZERO;
                    }
                }
            }
        }
    }
}
