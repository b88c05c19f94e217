//! The im2col matrix of a group of images, written straight into the GEMM's packed B panels:
//! the forward product `W · col` reads `col` only through its panels, so the matrix itself is
//! never written (an "implicit GEMM"). That saves a pass that writes `col` and one that reads it
//! back to pack it — for a group of four 32-channel 14×14 images a 0.9 MB round trip through
//! L3: im2col, its copies and the packing were 26 % of the 32→64 forward's profile, the
//! packing from the images is 15 %. The table handles any geometry; the forward uses it where
//! it measured faster (`IMPLICIT_MIN_CHANNELS` in `conv/mod.rs`).
//!
//! **The offset table.** Column `u` of a group is output pixel `τ = u mod (ho·wo)`, at
//! `(p, q) = (τ div wo, τ mod wo)`, of image `b = u div (ho·wo)`. Row `(c·kh + i)·kw + j` of
//! `col` is input channel `c` seen through kernel tap `(i, j)`:
//!
//! `col[(c·kh + i)·kw + j, u] = x[b, c, a, e]`, `a = p·s_h − pad_h + i·d_h`,
//! `e = q·s_w − pad_w + j·d_w`, and 0 when `(a, e)` is outside the `h × w` image.
//!
//! Relative to channel 0 of the group's first image, that value sits at
//! `off(u, i, j) = b·c·h·w + a·w + e`, and channel `c` at `off + c·h·w`: the offset does not depend
//! on `c`. So one table of offsets per (panel, tap) — `⌈cols / nr⌉ · kh·kw` entries of `nr`
//! lanes, built once per shape and reused ([`PanelTable::shared`]) — serves every channel. Each
//! entry is one of
//!
//! * **zero**: no lane reads inside the image;
//! * **run**: the lanes read `base + lane` up to a lane `split` and `base' + lane` from there
//!   (a panel across two images, or across two rows of a "valid" convolution, has two such
//!   pieces), and both windows `base + c·h·w + 0..nr` stay inside the group's images for every
//!   channel `c`. The panel row is then one or two whole-window loads, each ANDed with a byte
//!   mask that keeps its lanes inside the image: no branch per lane. With stride 1 this is
//!   almost every entry (3×3 "same" on 14×14 images in panels of 16: of 441 entries, 294 are
//!   masked, 130 plain copies, 9 split, 8 gathers);
//! * **gather**: anything else (strides, more than two pieces): lane by lane (lanes outside the
//!   image read offset 0), then masked like a run.
//!
//! The packing takes one tap at a time over all channels, so an entry's kind is decided once per
//! `c` rows rather than once per row.
//!
//! Every value is copied, never computed, so the panels have exactly the bits that im2col and
//! the [GEMM](mod@crate::kernels::gemm)'s packing of the explicit matrix would give (tested
//! below).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::Dims;
use crate::float::Float;
use crate::kernels::gemm::PanelSource;
use crate::ops::Conv2dGeometry;

/// How an entry (panel, tap) is packed; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zero,
    /// One window, every lane inside the image.
    Whole,
    /// One window and its mask.
    Masked,
    /// Two windows, each with its mask.
    Split,
    Gather,
}

/// One (panel, tap) of the table: its kind and windows (`base + lane` is the offset read by
/// `lane` of the first piece, `base_hi + lane` of the second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    base: usize,
    base_hi: usize,
}

/// The offset table of one group size and element type: `cols` columns in panels of `nr`, for
/// `taps = kh·kw`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PanelTable {
    nr: usize,
    taps: usize,
    cols: usize,
    /// Bytes of one panel row, `nr·size_of::<F>()`.
    row_bytes: usize,
    /// Values per channel plane, `h·w`, channels per image, and values in all the group's
    /// images.
    plane_in: usize,
    channels: usize,
    len: usize,
    /// Entry `t·taps + tap` of panel `t`.
    entries: Vec<Entry>,
    /// Two byte masks of `row_bytes` per entry: all ones over the lanes of the first piece (of a
    /// gather: all its lanes) that read inside the image, then the same for the second piece.
    masks: Vec<u8>,
    /// `nr` lanes per entry: the offset `off` of the module doc, 0 outside the image.
    lanes: Vec<usize>,
}

/// Everything [`PanelTable::new`] builds a table from: equal keys give equal tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TableKey {
    nr: usize,
    cols: usize,
    geometry: Conv2dGeometry,
    dims: Dims,
    channels: usize,
    /// `size_of::<F>()`
    size: usize,
}

impl TableKey {
    fn of<F: Float>(nr: usize, cols: usize, g: &Conv2dGeometry, d: Dims, channels: usize) -> Self {
        TableKey {
            nr,
            cols,
            geometry: *g,
            dims: d,
            channels,
            size: std::mem::size_of::<F>(),
        }
    }
}

/// How many tables [`PanelTable::shared`] keeps. A layer needs one or two per direction (the
/// full groups and a smaller last one), so this covers the forward and input gradient of
/// several layers, such as LeNet's two. A table holds `⌈cols / nr⌉·kh·kw` entries of
/// `2·nr·size_of::<F>()` mask bytes, `nr` offsets and a few words: for a group of eight
/// 14×14 images, 3×3 taps and `nr = 16` f32 lanes, 250 KB.
const CACHED_TABLES: usize = 16;

/// The most recently used tables, most recent first, at most `capacity`.
struct TableCache {
    capacity: usize,
    tables: VecDeque<(TableKey, Arc<PanelTable>)>,
}

impl TableCache {
    const fn new(capacity: usize) -> Self {
        TableCache {
            capacity,
            tables: VecDeque::new(),
        }
    }

    /// The table of `key`, moved to the front, if the cache has it.
    fn get(&mut self, key: &TableKey) -> Option<Arc<PanelTable>> {
        let at = self.tables.iter().position(|(k, _)| k == key)?;
        let entry = self.tables.remove(at).expect("found above");
        let table = Arc::clone(&entry.1);
        self.tables.push_front(entry);
        Some(table)
    }

    /// Adds `table` for `key` at the front, dropping the least recently used past `capacity`;
    /// if another thread added the key meanwhile, keeps and returns that one.
    fn insert(&mut self, key: TableKey, table: Arc<PanelTable>) -> Arc<PanelTable> {
        if let Some(existing) = self.get(&key) {
            return existing;
        }
        self.tables.push_front((key, Arc::clone(&table)));
        self.tables.truncate(self.capacity);
        table
    }
}

impl PanelTable {
    /// [`PanelTable::new`], reused from a process-wide cache of the last [`CACHED_TABLES`]
    /// tables. A training loop convolves the same shapes every step, and the table is built on
    /// the calling thread before the parallel product, while the other workers wait: building
    /// it was 3 % of the 32→64 layer's forward profile (2 threads), and twice that of its wall
    /// time, since the other core idled meanwhile.
    pub(super) fn shared<F: Float>(
        nr: usize,
        cols: usize,
        g: &Conv2dGeometry,
        d: Dims,
        channels: usize,
    ) -> Arc<PanelTable> {
        static CACHE: Mutex<TableCache> = Mutex::new(TableCache::new(CACHED_TABLES));
        Self::cached::<F>(&CACHE, TableKey::of::<F>(nr, cols, g, d, channels))
    }

    /// The table of `key` (built for `F`) from the given cache.
    fn cached<F: Float>(cache: &Mutex<TableCache>, key: TableKey) -> Arc<PanelTable> {
        // The cache holds whole entries only, so a panic elsewhere cannot leave it torn.
        let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(table) = lock().get(&key) {
            return table;
        }
        // Built outside the lock: other threads' lookups do not wait for it.
        let table = PanelTable::new::<F>(key.nr, key.cols, &key.geometry, key.dims, key.channels);
        lock().insert(key, Arc::new(table))
    }

    /// The table for a group of `cols / (ho·wo)` images of `channels` channels, packed as `F`.
    pub(super) fn new<F: Float>(
        nr: usize,
        cols: usize,
        g: &Conv2dGeometry,
        d: Dims,
        channels: usize,
    ) -> Self {
        let ([sh, sw], [ph, pw], [dh, dw]) = (g.stride, g.padding, g.dilation);
        let (plane, plane_in, taps) = (d.ho * d.wo, d.h * d.w, d.kh * d.kw);
        let (size, image_len) = (std::mem::size_of::<F>(), channels * plane_in);
        let len = cols.div_ceil(plane) * image_len;
        let panels = cols.div_ceil(nr);
        let mut table = PanelTable {
            nr,
            taps,
            cols,
            row_bytes: nr * size,
            plane_in,
            channels,
            len,
            entries: Vec::with_capacity(panels * taps),
            masks: Vec::with_capacity(panels * taps * 2 * nr * size),
            lanes: Vec::with_capacity(panels * taps * nr),
        };
        let mut offsets = vec![None; nr];
        for t in 0..panels {
            for i in 0..d.kh {
                for j in 0..d.kw {
                    for (l, off) in offsets.iter_mut().enumerate() {
                        let u = t * nr + l;
                        let (b, tau) = (u / plane, u % plane);
                        let (p, q) = (tau / d.wo, tau % d.wo);
                        let a = (p * sh + i * dh).checked_sub(ph).filter(|&a| a < d.h);
                        let e = (q * sw + j * dw).checked_sub(pw).filter(|&e| e < d.w);
                        *off = match (u < cols, a, e) {
                            (true, Some(a), Some(e)) => Some(b * image_len + a * d.w + e),
                            _ => None,
                        };
                    }
                    table.push(&offsets, len - (channels - 1) * plane_in);
                }
            }
        }
        table
    }

    /// Classifies one (panel, tap) from its lane offsets (`None` outside the image) and appends
    /// it. A window `base .. base + nr` may be read whole for every channel when it ends by
    /// `reach` (the group's length less the planes of the other channels).
    fn push(&mut self, offsets: &[Option<usize>], reach: usize) {
        // The pieces: maximal lane ranges whose inside lanes read base + lane for one base.
        let mut pieces: Vec<(usize, usize)> = Vec::with_capacity(3); // (first lane, base)
        let mut line = true;
        for (l, off) in offsets.iter().enumerate() {
            let Some(off) = *off else { continue };
            match off.checked_sub(l) {
                Some(base) if pieces.last().is_some_and(|&(_, b)| b == base) => {}
                Some(base) => pieces.push((l, base)),
                None => line = false,
            }
        }
        let fits = |base: usize| base + offsets.len() <= reach;
        let split = match (line, &pieces[..]) {
            (true, [(_, b)]) if fits(*b) => offsets.len(),
            (true, [(_, b), (split, b_hi)]) if fits(*b) && fits(*b_hi) => *split,
            _ => 0,
        };
        let kind = match (&pieces[..], split) {
            _ if offsets.iter().all(Option::is_none) => Kind::Zero,
            (_, 0) => Kind::Gather,
            ([_], _) if offsets.iter().all(Option::is_some) => Kind::Whole,
            ([_], _) => Kind::Masked,
            _ => Kind::Split,
        };
        let (base, base_hi) = match pieces[..] {
            [(_, b)] => (b, b),
            [(_, b), (_, b_hi)] if kind == Kind::Split => (b, b_hi),
            _ => (0, 0),
        };
        // The first mask covers the inside lanes below the split (all of them for a gather),
        // the second the inside lanes from the split on.
        let first_end = if kind == Kind::Split {
            split
        } else {
            offsets.len()
        };
        let size = self.row_bytes / self.nr;
        for half in [0..first_end, first_end..offsets.len()] {
            for (l, off) in offsets.iter().enumerate() {
                let keep = half.contains(&l) && off.is_some();
                self.masks
                    .extend(std::iter::repeat_n(if keep { 0xff } else { 0 }, size));
            }
        }
        self.entries.push(Entry {
            kind,
            base,
            base_hi,
        });
        self.lanes
            .extend(offsets.iter().map(|off| off.unwrap_or(0)));
    }
}

/// The tables of a batch cut into groups: one for the full groups, one for a smaller last group.
pub(super) struct GroupTables {
    full: Arc<PanelTable>,
    last: Option<Arc<PanelTable>>,
}

impl GroupTables {
    /// `table(images)` gives the table of a group of that many images.
    pub(super) fn new(n: usize, group: usize, table: impl Fn(usize) -> Arc<PanelTable>) -> Self {
        GroupTables {
            full: table(group),
            last: (!n.is_multiple_of(group)).then(|| table(n % group)),
        }
    }

    /// The table of a group of `cols` columns.
    pub(super) fn for_cols(&self, cols: usize) -> &PanelTable {
        self.last
            .as_deref()
            .filter(|t| t.cols == cols)
            .unwrap_or(&self.full)
    }
}

/// The B operand `col` of one group's product, read from the group's images
/// (`[g, c, h, w]`, contiguous) through a [`PanelTable`] for the same group size.
pub(super) struct ImplicitColumns<'a, F> {
    images: &'a [F],
    table: &'a PanelTable,
}

impl<'a, F: Float> ImplicitColumns<'a, F> {
    pub(super) fn new(images: &'a [F], table: &'a PanelTable) -> Self {
        assert_eq!(
            (images.len(), std::mem::size_of::<F>() * table.nr),
            (table.len, table.row_bytes),
            "the panel table is for other images or another element type"
        );
        ImplicitColumns { images, table }
    }

    /// [`PanelSource::pack`] for panel rows of `row_bytes` bytes; inlined with the row widths in
    /// use as constants, so that the byte loops below become a few vector instructions.
    ///
    /// # Safety
    /// As for [`PanelSource::pack`], after its checks.
    #[inline(always)]
    unsafe fn pack_rows(
        &self,
        row_bytes: usize,
        pc: usize,
        kc: usize,
        j0: usize,
        cols: usize,
        dst: *mut F,
    ) {
        let table = self.table;
        let (nr, taps, size) = (table.nr, table.taps, std::mem::size_of::<F>());
        let images = self.images.as_ptr();
        for t in 0..cols.div_ceil(nr) {
            let panel = j0 / nr + t;
            let d = dst.add(t * nr * kc);
            // One tap at a time, over the channels: rows `c·taps + tap` of the block share the
            // entry, so its kind is decided once for all of them.
            for tap in 0..taps {
                let e = panel * taps + tap;
                let entry = table.entries[e];
                let masks = &table.masks[2 * e * row_bytes..2 * (e + 1) * row_bytes];
                let (mask, mask_hi) = masks.split_at(row_bytes);
                // the channels whose row c·taps + tap lies in pc .. pc + kc
                let c_lo = pc.saturating_sub(tap).div_ceil(taps);
                let c_hi = (pc + kc).saturating_sub(tap).div_ceil(taps);
                // SAFETY (reads): `new` built every lane offset inside one image of the group
                // and every run's windows to end, for the last channel, inside the images;
                // every channel here is below the channel count (checked by the caller).
                let rows = (c_lo..c_hi).map(|c| {
                    let channel = images.add(c * table.plane_in);
                    let out = d.add((c * taps + tap - pc) * nr) as *mut u8;
                    (channel, std::slice::from_raw_parts_mut(out, row_bytes))
                });
                let window = |channel: *const F, base: usize| {
                    std::slice::from_raw_parts(channel.add(base) as *const u8, row_bytes)
                };
                match entry.kind {
                    Kind::Zero => rows.for_each(|(_, out)| out.fill(0)),
                    Kind::Whole => {
                        for (channel, out) in rows {
                            out.copy_from_slice(window(channel, entry.base));
                        }
                    }
                    Kind::Masked => {
                        for (channel, out) in rows {
                            let src = window(channel, entry.base);
                            for ((o, &s), &m) in out.iter_mut().zip(src).zip(mask) {
                                *o = s & m;
                            }
                        }
                    }
                    Kind::Split => {
                        for (channel, out) in rows {
                            let lo = window(channel, entry.base);
                            let hi = window(channel, entry.base_hi);
                            for (i, o) in out.iter_mut().enumerate() {
                                *o = (lo[i] & mask[i]) | (hi[i] & mask_hi[i]);
                            }
                        }
                    }
                    Kind::Gather => {
                        let lanes = &table.lanes[e * nr..(e + 1) * nr];
                        for (channel, out) in rows {
                            for (l, &off) in lanes.iter().enumerate() {
                                let value = channel.add(off) as *const u8;
                                let value = std::slice::from_raw_parts(value, size);
                                out[l * size..(l + 1) * size].copy_from_slice(value);
                            }
                            for (o, &m) in out.iter_mut().zip(mask) {
                                *o &= m;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<F: Float> PanelSource<F> for ImplicitColumns<'_, F> {
    unsafe fn pack(&self, nr: usize, pc: usize, kc: usize, j0: usize, cols: usize, dst: *mut F) {
        let table = self.table;
        assert!(
            nr == table.nr && j0.is_multiple_of(nr) && j0 + cols <= table.cols,
            "panel table for {} columns in panels of {}, asked for {cols} at {j0} in panels of {nr}",
            table.cols,
            table.nr
        );
        assert!(
            (pc + kc).div_ceil(table.taps) <= table.channels,
            "rows {pc}..{} are past the {} channels of the images",
            pc + kc,
            table.channels
        );
        // The row widths of the micro-kernels: 32 bytes (portable), 64 (AVX2), 128 (AVX-512).
        match table.row_bytes {
            32 => self.pack_rows(32, pc, kc, j0, cols, dst),
            64 => self.pack_rows(64, pc, kc, j0, cols, dst),
            128 => self.pack_rows(128, pc, kc, j0, cols, dst),
            other => self.pack_rows(other, pc, kc, j0, cols, dst),
        }
        // The table zeroes the lanes past its own last column; a block that ends inside a
        // panel before that has the rest of the panel zeroed here (drivers do not ask for such
        // blocks, but the layout promises zeros past `cols`).
        let (full, rest) = (cols / nr, cols % nr);
        if rest != 0 && j0 + cols < table.cols {
            let last = dst.add(full * nr * kc);
            for kk in 0..kc {
                std::ptr::write_bytes(last.add(kk * nr + rest), 0, nr - rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The implicit panels against the explicit route: `im2col` into a matrix, then the
    //! layout of [`PanelSource::pack`] read off that matrix. Copies only, so bit for bit.
    use super::*;
    use crate::kernels::conv::im2col;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A random geometry, image count and channel count whose dilated kernel fits.
    fn case(rng: &mut StdRng) -> (Conv2dGeometry, Dims, usize, usize) {
        let g = Conv2dGeometry {
            stride: [rng.gen_range(1..=3), rng.gen_range(1..=2)],
            padding: [rng.gen_range(0..=2), rng.gen_range(0..=2)],
            dilation: [rng.gen_range(1..=2), rng.gen_range(1..=3)],
        };
        // "same" padding at stride 1 half of the time: the runs that matter most
        let g = if rng.gen_bool(0.5) {
            Conv2dGeometry::new(1, 1, 1)
        } else {
            g
        };
        let (kh, kw) = (rng.gen_range(1..=5), rng.gen_range(1..=5));
        let h = g.dilation[0] * (kh - 1) + 1 + rng.gen_range(0..12);
        let w = g.dilation[1] * (kw - 1) + 1 + rng.gen_range(0..12);
        let d = g
            .dims(&[1, 1, h, w], &[1, 1, kh, kw])
            .expect("the kernel fits");
        (g, d, rng.gen_range(1..=5), rng.gen_range(1..=3))
    }

    fn check<F: Float>(nr: usize, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (g, d, images, channels) = case(&mut rng);
        let (plane, k) = (d.ho * d.wo, channels * d.kh * d.kw);
        let cols = images * plane;
        let x: Vec<F> = (0..images * channels * d.h * d.w)
            .map(|_| F::from(rng.gen_range(-1.0..1.0)).unwrap())
            .collect();
        let mut col = vec![F::nan(); k * cols];
        for (b, image) in x.chunks_exact(channels * d.h * d.w).enumerate() {
            im2col(image, &g, d, &mut col[b * plane..], cols);
        }
        let table = PanelTable::new::<F>(nr, cols, &g, d, channels);
        let source = ImplicitColumns::new(&x, &table);
        // a K block and a column range that start and end anywhere a driver may ask
        let pc = rng.gen_range(0..k);
        let kc = rng.gen_range(1..=k - pc);
        let j0 = rng.gen_range(0..cols.div_ceil(nr)) * nr;
        let n = rng.gen_range(1..=cols - j0);
        let mut packed = vec![F::nan(); n.div_ceil(nr) * nr * kc];
        // SAFETY: `packed` has room for the panels, and the block lies inside `col`.
        unsafe { source.pack(nr, pc, kc, j0, n, packed.as_mut_ptr()) };
        for (idx, v) in packed.iter().enumerate() {
            let (t, kk, l) = (idx / (nr * kc), idx / nr % kc, idx % nr);
            let j = t * nr + l;
            let expected = if j < n {
                col[(pc + kk) * cols + j0 + j]
            } else {
                F::zero()
            };
            assert!(
                v.to_f64().unwrap().to_bits() == expected.to_f64().unwrap().to_bits(),
                "seed {seed}, nr {nr}, {g:?} {d:?}, {images} images of {channels} channels, \
                 rows {pc}+{kc}, columns {j0}+{n}: panel {t} row {kk} lane {l} is {v:?}, \
                 not {expected:?} (entry {:?})",
                table.entries[(j0 / nr + t) * table.taps + (pc + kk) % table.taps]
            );
        }
    }

    /// Rows past the channels of one image would read the next image (or past the last one):
    /// refused, whatever room the images' slice has.
    #[test]
    #[should_panic(expected = "past the 2 channels")]
    fn rows_past_the_channels_are_refused() {
        let g = Conv2dGeometry::new(1, 1, 1);
        let d = g.dims(&[3, 2, 5, 5], &[1, 2, 3, 3]).expect("fits");
        let x = vec![0.0f32; 3 * 2 * 5 * 5];
        let table = PanelTable::new::<f32>(8, 3 * 25, &g, d, 2);
        let mut packed = vec![0.0f32; 8 * 19];
        // SAFETY: not reached: the block has 19 rows of a 2·9 = 18-row matrix.
        unsafe { ImplicitColumns::new(&x, &table).pack(8, 0, 19, 0, 8, packed.as_mut_ptr()) };
    }

    /// A cached table equals the one built afresh for each of the inputs it is built from, each
    /// changed in turn after the first is cached (a key that left one out would hand back the
    /// first table); the same table comes back while it is cached, and the least recently used
    /// one is dropped past the capacity.
    #[test]
    fn cached_tables_are_those_of_their_own_inputs() {
        let g = Conv2dGeometry::new(1, 1, 1);
        let d = g.dims(&[2, 3, 6, 6], &[1, 3, 3, 3]).expect("fits");
        let other_g = Conv2dGeometry {
            padding: [1, 0],
            ..g
        };
        let other_d = Conv2dGeometry::new(1, 1, 1)
            .dims(&[2, 3, 7, 6], &[1, 3, 3, 3])
            .expect("fits");
        // The f32 table of these inputs from `cache`.
        let cached = |cache: &Mutex<TableCache>, nr, cols, g: &Conv2dGeometry, d, channels| {
            PanelTable::cached::<f32>(cache, TableKey::of::<f32>(nr, cols, g, d, channels))
        };
        let cache = Mutex::new(TableCache::new(CACHED_TABLES));
        let first = cached(&cache, 8, 72, &g, d, 3);
        assert!(*first == PanelTable::new::<f32>(8, 72, &g, d, 3));
        for (nr, cols, g, d, channels) in [
            (16, 72, g, d, 3),
            (8, 36, g, d, 3),
            (8, 72, other_g, d, 3),
            (8, 72, g, other_d, 3),
            (8, 72, g, d, 2),
        ] {
            let table = cached(&cache, nr, cols, &g, d, channels);
            let fresh = PanelTable::new::<f32>(nr, cols, &g, d, channels);
            assert!(
                *table == fresh,
                "nr {nr} cols {cols} {g:?} {d:?} channels {channels}"
            );
        }
        let wide = PanelTable::cached::<f64>(&cache, TableKey::of::<f64>(8, 72, &g, d, 3));
        assert!(*wide == PanelTable::new::<f64>(8, 72, &g, d, 3) && *wide != *first);
        let again = cached(&cache, 8, 72, &g, d, 3);
        assert!(Arc::ptr_eq(&first, &again), "a cached table is built again");

        let small = Mutex::new(TableCache::new(2));
        let a = cached(&small, 8, 72, &g, d, 3);
        cached(&small, 8, 36, &g, d, 3);
        assert!(Arc::ptr_eq(&a, &cached(&small, 8, 72, &g, d, 3)));
        // (8, 36) is now the least recently used: a third key drops it, and keeps (8, 72).
        cached(&small, 16, 72, &g, d, 3);
        let mut cache = small.lock().unwrap();
        assert_eq!(cache.tables.len(), 2);
        assert!(cache.get(&TableKey::of::<f32>(8, 36, &g, d, 3)).is_none());
        let kept = cache.get(&TableKey::of::<f32>(8, 72, &g, d, 3));
        assert!(kept.is_some_and(|t| Arc::ptr_eq(&t, &a)));
    }

    #[test]
    fn implicit_panels_equal_the_packed_im2col_matrix() {
        for seed in 0..300 {
            for nr in [4, 6, 8, 16, 32] {
                check::<f32>(nr, seed);
                check::<f64>(nr, seed);
            }
        }
    }
}
