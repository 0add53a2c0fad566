//! The backend seam: [`SegmentIo`] moves bytes; everything else is core's.

use std::io;
use std::ops::Range;
use std::path::Path;

/// Positioned, synchronous I/O on one fixed-size segment.
///
/// A backend only moves bytes: framing, checksums, recovery, visibility and
/// poisoning are [`Writer`](crate::Writer)'s and [`Reader`](crate::Reader)'s.
/// All methods take `&self`, so one handle can serve a writer and any number of
/// readers in other threads.
///
/// Offsets, lengths and buffer addresses passed to `read_at` and `write_at` are
/// multiples of [`alignment`](SegmentIo::alignment) (core guarantees this), and
/// `offset + len <= size()`.
pub trait SegmentIo: Send + Sync + std::fmt::Debug + 'static {
    /// Must return the segment's size in bytes, fixed for the life of the handle.
    fn size(&self) -> u64;

    /// Must return the alignment, a power of two, that I/O offsets, lengths and buffer
    /// addresses need (the logical block size for O_DIRECT); 1 for buffered I/O.
    fn alignment(&self) -> usize {
        1
    }

    /// Must fill all of `buf` with the bytes at `offset`, or fail; `UnexpectedEof` if the
    /// file is shorter than it should be. `Interrupted` is never returned.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Must write all of `data` at `offset`, or fail. After a failure any part of `data` may
    /// have been written; core poisons the writer and never relies on it.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Must make every `write_at` that returned `Ok` before this call durable
    /// (`fdatasync` or the backend's equivalent) before returning `Ok`.
    fn sync(&self) -> io::Result<()>;

    /// The whole segment as memory, if the backend maps it, showing every `write_at` made
    /// through this handle: the writer's own readers then borrow record bytes from it
    /// instead of copying, each record pinning its bytes against truncation (core never
    /// changes a pinned byte). Nothing else reads through it, so an I/O error elsewhere
    /// stays an error rather than a fault.
    fn mapped(&self) -> Option<&[u8]> {
        None
    }

    /// The path errors should name; in-memory backends return a descriptive pseudo-path.
    fn path(&self) -> &Path;

    /// Must return the first range at or after `offset` that may hold a non-zero byte, as
    /// `Some(start..end)` with `offset <= start < end <= size()` and every byte of
    /// `[offset, start)` reading as zero; or `None` if every byte from `offset` on reads as
    /// zero. `offset < size()`.
    ///
    /// Recovery skips what this rules out, so opening a mostly empty segment costs its
    /// records, not its size. A backend that cannot tell keeps the default, which answers
    /// "unknown": all of `[offset, size())` may hold data. File backends ask the filesystem
    /// ([`fs::next_data`](crate::fs::next_data)), which reports holes and, on ext4 and xfs,
    /// unwritten extents with no page cached.
    fn next_data(&self, offset: u64) -> io::Result<Option<Range<u64>>> {
        let size = self.size();
        Ok((offset < size).then_some(offset..size))
    }

    /// How much of `range` the page cache holds now, or [`Cached::Unknown`] (the default)
    /// if the backend cannot tell. File backends ask the kernel
    /// ([`fs::cached`](crate::fs::cached), `cachestat(2)`).
    ///
    /// Recovery asks before it reads the zeros past the records, and gives back with
    /// [`uncache`](Self::uncache) only what held no cached page ([`Cached::Pages`]`(0)`) before it read: zeros it
    /// alone brought in. An answer of `Unknown` keeps everything, as a backend without a
    /// page cache should.
    fn cached(&self, range: Range<u64>) -> Cached {
        let _ = range;
        Cached::Unknown
    }

    /// Advice that the bytes of `range` will not be read again soon: a backend that caches
    /// them may drop the clean ones (`posix_fadvise(POSIX_FADV_DONTNEED)`,
    /// [`fs::uncache`](crate::fs::uncache)). Only ever called on ranges that
    /// [`cached`](Self::cached) reported as holding no cached page just before core read them.
    /// The default does nothing.
    fn uncache(&self, range: Range<u64>) {
        let _ = range;
    }
}

/// How much of a range the page cache holds, as [`SegmentIo::cached`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cached {
    /// The backend cannot tell.
    Unknown,
    /// This many pages of the range are cached (0: none).
    Pages(u64),
}

/// How [`OpenSegment::create`] reserves a new segment's space.
///
/// Measured on ext4 (see BENCHMARKS.md): an `fdatasync` after writing into fallocated but
/// never-written blocks costs about twice one into written blocks, because it must also
/// commit the conversion of those extents in the journal. With the default, the writer
/// hides most of that: while syncs are frequent (under 256 KiB of records each, on
/// average) it writes zeros over a region just past its write position before a sync, so
/// that sync converts the blocks the next several dozen syncs land in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preallocation {
    /// `fallocate` (or `set_len` where refused): creating is nearly free. Blocks are
    /// converted as the writer reaches them: by frequent syncs' zero-fill ahead, or by the
    /// first sync over them when syncs are rare (and then cost nothing noticeable).
    #[default]
    Fallocate,
    /// `fallocate`, then write zeros over the whole segment and sync once: creating costs a
    /// full write of the segment, and every later sync lands in written blocks.
    Zeroed,
}

/// A backend whose segments are files: core calls these to create and open them.
pub trait OpenSegment: SegmentIo + Sized {
    /// Must create a new segment file of exactly `size` zero bytes, pre-allocated, durable
    /// (file and directory entry), and hold its exclusive writer lock. Must fail with
    /// `AlreadyExists` if the path exists and must leave no file behind on any failure.
    /// [`fs::create_segment_file`](crate::fs::create_segment_file) does all of this.
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self>;

    /// Must open an existing segment for writing and hold its exclusive writer lock;
    /// `WouldBlock` if another writer holds it ([`fs::open_segment_file`](crate::fs::open_segment_file)).
    fn open_writer(path: &Path) -> io::Result<Self>;

    /// Must open an existing segment read-only, taking no lock.
    fn open_reader(path: &Path) -> io::Result<Self>;
}

/// A byte buffer whose usable region starts at an address aligned for O_DIRECT.
///
/// Over-allocates by the alignment and skips to the first aligned address, which
/// keeps this crate free of `unsafe`.
#[derive(Debug, Default)]
pub struct AlignedBuf {
    raw: Vec<u8>,
    skip: usize,
    len: usize,
}

impl AlignedBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns an aligned, zero-initialised region of `len` bytes, reusing the allocation
    /// when it is large enough; the previous contents are not kept.
    pub fn region(&mut self, len: usize, align: usize) -> &mut [u8] {
        let out = self.region_to_overwrite(len, align);
        out.fill(0);
        out
    }

    /// Like [`region`](Self::region), but holding whatever bytes the buffer held before,
    /// for a caller that overwrites all of it (a read): saves clearing it first.
    pub fn region_to_overwrite(&mut self, len: usize, align: usize) -> &mut [u8] {
        let need = len + align;
        if self.raw.len() < need || self.raw.len() > need.max(MAX_KEPT) {
            self.raw = vec![0; need];
        }
        self.skip = self.raw.as_ptr().align_offset(align).min(align);
        self.len = len;
        let skip = self.skip;
        &mut self.raw[skip..skip + len]
    }

    /// The region last returned by [`region`](Self::region), without clearing it.
    #[inline]
    pub fn get(&self) -> &[u8] {
        self.raw.get(self.skip..self.skip + self.len).unwrap_or(&[])
    }

    /// Mutable access to the region last returned by [`region`](Self::region).
    pub fn get_mut(&mut self) -> &mut [u8] {
        let (skip, len) = (self.skip, self.len);
        self.raw.get_mut(skip..skip + len).unwrap_or(&mut [])
    }
}

/// Allocations above this are released once a smaller region is asked for, so one huge
/// record does not pin its buffer for the life of a reader.
const MAX_KEPT: usize = 4 << 20;

/// Rounds `x` down to a multiple of `align` (a power of two).
pub(crate) fn align_down(x: u64, align: usize) -> u64 {
    x & !(align as u64 - 1)
}

/// Rounds `x` up to a multiple of `align` (a power of two).
pub(crate) fn align_up(x: u64, align: usize) -> u64 {
    align_down(x + align as u64 - 1, align)
}
