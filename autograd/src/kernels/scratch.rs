//! The kernels' reusable scratch buffers: one per thread and purpose, only ever growing.
//!
//! A training loop calls the kernels thousands of times with the same shapes, and a
//! multi-megabyte buffer freed and reallocated on every call would be unmapped and page-faulted
//! again each time by glibc's allocator. A buffer is *taken* out of its slot for the duration of
//! its use, so a nested user on the same thread (rayon work-stealing while this thread waits)
//! finds the slot empty and uses a fresh buffer instead of aliasing this one.
//!
//! Buffers are zero-filled when they grow (rarely), so their contents are always initialised:
//! a slice of them is earlier values or zeros, never uninitialised memory.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr::NonNull;

use crate::float::Float;

/// Alignment of the buffers: a cache line, and a zmm register.
const ALIGN: usize = 64;
/// Buffers grow in steps of this many bytes, so slowly varying sizes do not reallocate each call.
const GRANULE: usize = 64 * 1024;

/// An initialised (zero-filled when allocated), 64-byte aligned heap block.
struct AlignedBuf {
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
        let layout =
            Layout::from_size_align(bytes, ALIGN).expect("kernel scratch buffer too large");
        // Free first: the old contents are not needed.
        *self = AlignedBuf::empty();
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
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
    static CONV: Cell<Option<AlignedBuf>> = const { Cell::new(None) };
}

/// Which of the thread's buffers: the GEMM's packed A blocks (one per task) and B blocks (one
/// per product), and the convolution's im2col workspace (which calls the GEMM while in use).
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    PackA,
    PackB,
    Conv,
}

/// Calls `f` with a 64-byte aligned block of at least `bytes` bytes (its contents earlier
/// values or zeros), reusing the calling thread's buffer for `slot`.
pub(crate) fn with_buffer<R>(slot: Slot, bytes: usize, f: impl FnOnce(*mut u8) -> R) -> R {
    let key = match slot {
        Slot::PackA => &PACK_A,
        Slot::PackB => &PACK_B,
        Slot::Conv => &CONV,
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

/// [`with_buffer`] as a slice of `len` elements of a float type.
pub(crate) fn with_slice<F: Float, R>(slot: Slot, len: usize, f: impl FnOnce(&mut [F]) -> R) -> R {
    with_buffer(slot, len * std::mem::size_of::<F>(), |ptr| {
        // SAFETY: F is f32 or f64 (`Float` is sealed): every bit pattern is a valid value and
        // the 64-byte alignment suffices; the buffer's bytes are initialised (zero-filled when
        // allocated) and exclusively ours for the duration of `f`.
        f(unsafe { std::slice::from_raw_parts_mut(ptr as *mut F, len) })
    })
}
