//! Reading a segment through a buffer the caller keeps, not the reader's own: a log
//! reader has one buffer for all its segments (`log/reader.rs`), so a log of many segments
//! costs one buffer, and a scan keeps its place between records itself.

use super::{At, Fetch, ReadHint, Reader, ahead, read};
use crate::error::Result;
use crate::io::SegmentIo;
use crate::record::Record;
use crate::scan::{Cursor, Iter};

impl<B: SegmentIo> Reader<B> {
    /// [`read_record`](Self::read_record) through `fetch`, a buffer the caller keeps
    /// rather than this reader's own (a log reader's one buffer for all its segments). The
    /// record is copied, never borrowed from a mapping. `fetch` must hold no bytes of
    /// another file: invalidate its window when moving it from one segment to another.
    pub(crate) fn read_record_with<'a>(
        &'a self,
        fetch: &'a mut Fetch,
        offset: u64,
        hint: ReadHint,
    ) -> Result<Record<'a>> {
        let at = At { start: self.start_offset(), offset, ahead: ahead(&*self.io, hint) };
        read(&*self.io, &self.bound, fetch, None, at)
    }

    /// Where a scan from `start` begins, with no run yet: for [`scan_with`](Self::scan_with).
    pub(crate) fn scan_cursor(&self, start: u64) -> Cursor {
        let at = At { start: self.start_offset(), offset: start, ahead: ahead(&*self.io, ReadHint::Sequential) };
        Cursor { at, generation: self.generation(), run_end: start }
    }

    /// The scan at `cursor` through `fetch`, as [`read_record_with`](Self::read_record_with)
    /// reads: the caller keeps the cursor between records, and `fetch` must hold no bytes of
    /// another file than the one the cursor's run was read from.
    #[inline]
    pub(crate) fn scan_with<'a>(&'a self, fetch: &'a mut Fetch, cursor: Cursor) -> Iter<'a, B> {
        Iter::resume(&*self.io, &self.bound, fetch, None, cursor)
    }
}
