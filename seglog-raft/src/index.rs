//! Raft index -> log position, without reading the whole log at open.
//!
//! Every record of the log is one entry and indexes are consecutive, so a segment's first
//! index is the log's first index plus the records of the segments before it (which the
//! log knows from its headers). Opening reads one record, the first, and walks the tail
//! segment (which the log's recovery walks anyway); each sealed segment's positions are
//! walked once, the first time an entry in it is needed, and kept (8 bytes an entry).

use std::io;

use seglog_core::{LogReader, SegmentIo};

/// A run of consecutive entries in the log: one sealed segment, or everything from the
/// tail's segment on.
#[derive(Debug)]
struct Span {
    first_index: u64,
    count: u64,
    first_position: u64,
    /// Each entry's position, once walked; always present for the last span.
    positions: Option<Vec<u64>>,
}

/// Where each entry of the log is.
#[derive(Debug, Default)]
pub(crate) struct PosIndex {
    spans: Vec<Span>,
}

/// A segment as the index is built from it: first position, records.
pub(crate) type SegmentSpan = (u64, u64);

impl PosIndex {
    /// The index of a log whose first record is entry `first_index`, from its segments;
    /// the last is walked now.
    pub fn build<B: SegmentIo>(
        first_index: u64,
        segments: &[SegmentSpan],
        reader: &mut LogReader<B>,
    ) -> io::Result<Self> {
        let mut spans = Vec::with_capacity(segments.len());
        let mut next = first_index;
        for &(first_position, records) in segments {
            if records == 0 {
                continue;
            }
            spans.push(Span { first_index: next, count: records, first_position, positions: None });
            next += records;
        }
        let mut index = Self { spans };
        if let Some(i) = index.spans.len().checked_sub(1) {
            index.walk(i, reader)?;
        }
        Ok(index)
    }

    /// The first entry held, if any.
    pub fn first(&self) -> Option<u64> {
        self.spans.first().map(|s| s.first_index)
    }

    /// The index after the last entry held, if any.
    pub fn next(&self) -> Option<u64> {
        self.spans.last().map(|s| s.first_index + s.count)
    }

    /// The position of entry `index`, walking its segment if not done yet; `None` if the log
    /// does not hold it.
    pub fn position<B: SegmentIo>(&mut self, index: u64, reader: &mut LogReader<B>) -> io::Result<Option<u64>> {
        let Some(i) = self.span_of(index) else { return Ok(None) };
        self.walk(i, reader)?;
        let span = &self.spans[i];
        Ok(span.positions.as_ref().and_then(|p| p.get((index - span.first_index) as usize).copied()))
    }

    /// Records that entry `index` was appended at `position`.
    pub fn push(&mut self, index: u64, position: u64) -> io::Result<()> {
        match self.spans.last_mut() {
            Some(span) if span.first_index + span.count == index => {
                span.positions.get_or_insert_with(Vec::new).push(position);
                span.count += 1;
                Ok(())
            }
            Some(span) => Err(io::Error::other(format!(
                "entry {index} appended after entry {}: the log must stay consecutive",
                span.first_index + span.count - 1
            ))),
            None => {
                self.spans.push(Span {
                    first_index: index,
                    count: 1,
                    first_position: position,
                    positions: Some(vec![position]),
                });
                Ok(())
            }
        }
    }

    /// Forgets entries from `index` on (after the log is truncated there).
    pub fn truncate(&mut self, index: u64) {
        while let Some(span) = self.spans.last_mut() {
            if span.first_index >= index {
                self.spans.pop();
                continue;
            }
            let keep = index - span.first_index;
            if keep < span.count {
                span.count = keep;
                if let Some(p) = &mut span.positions {
                    p.truncate(keep as usize);
                }
            }
            break;
        }
        // Later appends go to the last span, so it must be walked: `truncate` callers walk
        // the span they cut into first ([`position`](Self::position)).
    }

    /// Forgets the segments that lie wholly at or below entry `index`, keeping the span that
    /// holds the next entry (the log drops whole segments only).
    pub fn purge(&mut self, index: u64) {
        let drop = self.spans.iter().take_while(|s| s.first_index + s.count <= index + 1).count();
        let drop = drop.min(self.spans.len().saturating_sub(1));
        self.spans.drain(..drop);
        // Forget the purged positions of a walked span too (the tail's grows with every
        // append): the entries may still be on disk, but are never looked up again.
        if let Some(span) = self.spans.first_mut()
            && let Some(positions) = &mut span.positions
            && span.first_index <= index
        {
            let gone = (index + 1 - span.first_index).min(span.count.saturating_sub(1));
            positions.drain(..gone as usize);
            span.first_index += gone;
            span.count -= gone;
            if let Some(&p) = positions.first() {
                span.first_position = p;
            }
        }
    }

    /// Forgets everything (the log was emptied).
    pub fn clear(&mut self) {
        self.spans.clear();
    }

    /// A position at or before entry `index`'s at which the log may be purged: the start
    /// of the span holding it (the start of its segment, or a later record in the tail).
    pub fn purge_point(&self, index: u64) -> Option<u64> {
        let span = &self.spans[self.span_of(index)?];
        match &span.positions {
            Some(p) => p.get((index - span.first_index) as usize).copied(),
            None => Some(span.first_position),
        }
    }

    fn span_of(&self, index: u64) -> Option<usize> {
        let i = self.spans.partition_point(|s| s.first_index <= index).checked_sub(1)?;
        let span = &self.spans[i];
        (index < span.first_index + span.count).then_some(i)
    }

    fn walk<B: SegmentIo>(&mut self, i: usize, reader: &mut LogReader<B>) -> io::Result<()> {
        let span = &mut self.spans[i];
        if span.positions.is_some() {
            return Ok(());
        }
        let mut positions = Vec::with_capacity(span.count as usize);
        let mut iter = reader.iter(span.first_position);
        while (positions.len() as u64) < span.count {
            match iter.next_record().map_err(io::Error::other)? {
                Some(r) => positions.push(r.position()),
                None => break,
            }
        }
        if positions.len() as u64 != span.count {
            return Err(io::Error::other(format!(
                "the segment at log position {} holds {} records, its header says {}",
                span.first_position,
                positions.len(),
                span.count
            )));
        }
        span.positions = Some(positions);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the tail's span kept the position of every entry appended since open,
    /// purged or not, so memory grew with every append for as long as the store ran.
    #[test]
    fn purge_forgets_the_tail_spans_purged_positions() {
        let mut index = PosIndex::default();
        for i in 1..=100 {
            index.push(i, i * 10).expect("consecutive");
        }
        index.purge(60);
        assert_eq!((index.first(), index.next()), (Some(61), Some(101)));
        assert_eq!(index.spans[0].positions.as_ref().map(Vec::len), Some(40));
        assert_eq!(index.purge_point(61), Some(610));
        index.push(101, 1010).expect("appends continue");
        assert_eq!(index.purge_point(101), Some(1010));
    }

    #[test]
    fn truncate_then_append_stays_consecutive() {
        let mut index = PosIndex::default();
        for i in 5..=20 {
            index.push(i, i).expect("consecutive");
        }
        index.truncate(11);
        assert_eq!(index.next(), Some(11));
        assert!(index.push(12, 12).is_err(), "a gap is refused");
        index.push(11, 99).expect("consecutive");
        assert_eq!(index.purge_point(11), Some(99));
    }
}
