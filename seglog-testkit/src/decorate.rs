//! The pass-through half of a [`SegmentIo`] decorator, written once.
//!
//! A decorator (fault injection, recording, hooks, counting) changes one or two calls and
//! passes the rest to the backend it wraps. Spelt out by hand, every decorator repeats the
//! same eight forwarding methods, and one that forgets [`SegmentIo::next_data`] silently
//! answers "unknown" and makes recovery read every byte. Here forwarding is the default.

use std::io;
use std::ops::Range;
use std::path::Path;

use seglog_core::{Cached, SegmentIo};

/// A wrapper around a backend that writes only the calls it changes: every method passes
/// the call through to [`inner`](Self::inner) unless the wrapper overrides it. Implement
/// it, then [`decorate_segment_io!`](crate::decorate_segment_io) implements [`SegmentIo`]
/// for the wrapper through these methods. Each method's contract is [`SegmentIo`]'s, and so
/// is its name: where both traits are imported, call them as `SegmentIo::size(&io)`.
///
/// ```
/// use std::io;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use seglog_core::SegmentIo;
/// use seglog_testkit::{Decorator, MemIo, decorate_segment_io};
///
/// /// Counts syncs, and changes nothing else.
/// #[derive(Debug)]
/// struct SyncCount<B> {
///     inner: B,
///     syncs: AtomicU64,
/// }
///
/// impl<B: SegmentIo> Decorator for SyncCount<B> {
///     type Inner = B;
///     fn inner(&self) -> &B {
///         &self.inner
///     }
///     fn sync(&self) -> io::Result<()> {
///         self.syncs.fetch_add(1, Ordering::Relaxed);
///         self.inner.sync()
///     }
/// }
/// decorate_segment_io!(SyncCount);
///
/// let io = SyncCount { inner: MemIo::new(4096), syncs: AtomicU64::new(0) };
/// SegmentIo::sync(&io).unwrap();
/// assert_eq!((io.syncs.load(Ordering::Relaxed), SegmentIo::size(&io)), (1, 4096));
/// ```
pub trait Decorator: Send + Sync + std::fmt::Debug + 'static {
    /// The backend this one wraps.
    type Inner: SegmentIo;

    /// Must return the wrapped backend, the same one every time.
    fn inner(&self) -> &Self::Inner;

    /// [`SegmentIo::size`]; passed through by default.
    fn size(&self) -> u64 {
        self.inner().size()
    }

    /// [`SegmentIo::alignment`]; passed through by default.
    fn alignment(&self) -> usize {
        self.inner().alignment()
    }

    /// [`SegmentIo::read_at`]; passed through by default.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner().read_at(offset, buf)
    }

    /// [`SegmentIo::write_at`]; passed through by default.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner().write_at(offset, data)
    }

    /// [`SegmentIo::sync`]; passed through by default.
    fn sync(&self) -> io::Result<()> {
        self.inner().sync()
    }

    /// [`SegmentIo::mapped`]; passed through by default. A wrapper that must see every
    /// read returns `None`, so that reads go through [`read_at`](Self::read_at).
    fn mapped(&self) -> Option<&[u8]> {
        self.inner().mapped()
    }

    /// [`SegmentIo::path`]; passed through by default.
    fn path(&self) -> &Path {
        self.inner().path()
    }

    /// [`SegmentIo::next_data`]; passed through by default.
    fn next_data(&self, offset: u64) -> io::Result<Option<Range<u64>>> {
        self.inner().next_data(offset)
    }

    /// [`SegmentIo::cached`]; passed through by default.
    fn cached(&self, range: Range<u64>) -> Cached {
        self.inner().cached(range)
    }

    /// [`SegmentIo::uncache`]; passed through by default.
    fn uncache(&self, range: Range<u64>) {
        self.inner().uncache(range)
    }
}

/// Implements [`SegmentIo`] for a [`Decorator`] `$name<B>` (generic over the backend it
/// wraps), every method calling the decorator's: `decorate_segment_io!(Faulty);`.
#[macro_export]
macro_rules! decorate_segment_io {
    ($name:ident) => {
        impl<B: $crate::__private::SegmentIo> $crate::__private::SegmentIo for $name<B>
        where
            $name<B>: $crate::Decorator,
        {
            fn size(&self) -> u64 {
                $crate::Decorator::size(self)
            }
            fn alignment(&self) -> usize {
                $crate::Decorator::alignment(self)
            }
            fn read_at(&self, offset: u64, buf: &mut [u8]) -> ::std::io::Result<()> {
                $crate::Decorator::read_at(self, offset, buf)
            }
            fn write_at(&self, offset: u64, data: &[u8]) -> ::std::io::Result<()> {
                $crate::Decorator::write_at(self, offset, data)
            }
            fn sync(&self) -> ::std::io::Result<()> {
                $crate::Decorator::sync(self)
            }
            fn mapped(&self) -> ::std::option::Option<&[u8]> {
                $crate::Decorator::mapped(self)
            }
            fn path(&self) -> &::std::path::Path {
                $crate::Decorator::path(self)
            }
            fn next_data(&self, offset: u64) -> ::std::io::Result<::std::option::Option<::std::ops::Range<u64>>> {
                $crate::Decorator::next_data(self, offset)
            }
            fn cached(&self, range: ::std::ops::Range<u64>) -> $crate::__private::Cached {
                $crate::Decorator::cached(self, range)
            }
            fn uncache(&self, range: ::std::ops::Range<u64>) {
                $crate::Decorator::uncache(self, range)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use seglog_core::SegmentIo;

    use crate::{MemIo, Sparse};

    /// A decorator that overrides nothing.
    #[derive(Debug)]
    struct Plain<B>(B);

    impl<B: SegmentIo> crate::Decorator for Plain<B> {
        type Inner = B;
        fn inner(&self) -> &B {
            &self.0
        }
    }
    decorate_segment_io!(Plain);

    /// Every call reaches the inner backend, `next_data` included: the default of
    /// [`SegmentIo::next_data`] ("all may hold data") would hide the inner backend's holes.
    #[test]
    fn a_decorator_passes_every_call_through() {
        let mem = MemIo::with_alignment(64 << 10, 512);
        mem.overwrite(40 << 10, b"data");
        let io = Plain(Sparse::new(mem));
        assert_eq!((io.size(), io.alignment(), io.path()), (64 << 10, 512, io.0.path()));
        assert_eq!(io.next_data(0).unwrap(), Some((40 << 10)..(44 << 10)));
        assert_eq!(io.next_data(44 << 10).unwrap(), None);
        let mut buf = seglog_core::AlignedBuf::new();
        buf.region(512, 512).fill(7);
        io.write_at(0, buf.get()).unwrap();
        io.sync().unwrap();
        let region = buf.region(512, 512);
        io.read_at(0, region).unwrap();
        assert_eq!(region, &[7; 512][..]);
    }
}
