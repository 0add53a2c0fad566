//! Truncation and purge of a log (docs/FORMAT.md 8.4): the two ways records leave it.

use std::sync::Arc;

use super::header::{DATA_START, Meta, SegmentHeader, segment_name};
use super::scan::io_error;
use super::table::{Entry, Table};
use super::{Log, LogDir, remove_all, walk, write_meta};
use crate::error::{Error, Result};
use crate::flushed::FlushedOffset;
use crate::io::SegmentIo;
use crate::reader::Reader;

impl<B: SegmentIo, D: LogDir<Io = B>> Log<B, D> {
    /// Durably drops every record at or after `position`, which must be a record boundary
    /// (not inside a batch) at or after the log's start: the next append lands there.
    ///
    /// Readers stop seeing the cut records first; an iterator past the cut gets
    /// [`Error::Truncated`]. Once this returns, no crash can bring them back.
    pub fn truncate(&mut self, position: u64) -> Result<()> {
        self.check_poison()?;
        let end = self.end_position();
        let (table, _) = self.shared.load();
        if position < table.start_position {
            return Err(Error::Purged { path: self.dir.path().to_path_buf(), position, start: table.start_position });
        }
        if position > end {
            return Err(Error::InvalidArgument {
                path: self.dir.path().to_path_buf(),
                what: format!("cannot truncate to position {position}: the log ends at {end}"),
            });
        }
        if position == end {
            return Ok(());
        }
        // Followers and recovery first: once durable, no crash brings back an end above the
        // cut. (Records past the durable end were never published: no cut to announce.)
        if position < self.witness.end() {
            self.poisoning(|log| log.witness.publish(&*log.dir, position, true))?;
        }
        let index = table.find(position).unwrap_or(0);
        let last = table.entries.len() - 1;
        if index == last {
            let offset = DATA_START + (position - self.tail.base_position);
            self.writer.truncate(offset)?;
            let mut reader = self.writer.reader();
            self.tail.appended = walk::count_to(&mut reader, offset)?;
            self.tail.synced = self.tail.appended;
            self.shared.cut(position);
            return Ok(());
        }
        let Some(entry) = table.entries.get(index) else { return Ok(()) };
        let offset = DATA_START + (position - entry.base_position);
        let mut reader = entry.reader.try_clone()?;
        let records = walk::count_to(&mut reader, offset)?;
        // Readers first: from here they see the log end at `position`.
        self.shared.cut(position);
        let name = segment_name(entry.seq);
        let io = self.dir.open_reader(&name).map_err(|e| io_error(self.dir.path(), &name, "opening segment", e))?;
        let mut entries = Vec::with_capacity(index + 1);
        for e in table.entries.iter().take(index) {
            entries.push(e.duplicate()?);
        }
        entries.push(Entry {
            reader: Reader::live(Arc::new(io), FlushedOffset::fixed(DATA_START, offset)),
            records: Some(records),
            ..entry.duplicate()?
        });
        self.shared.replace(Table { start_position: table.start_position, entries });
        let header = SegmentHeader {
            log_id: self.meta.log_id,
            seq: self.tail.seq + 1,
            prev_seq: entry.seq,
            base_position: position,
            base_record: entry.base_record + records,
            segment_size: self.options.segment_size,
        };
        // The commit point: once the new segment's name is durable, the chain skips the cut.
        let writer = self.poisoning(|log| log.make_segment(&header))?;
        let orphans: Vec<String> = table.entries.iter().skip(index + 1).map(|e| segment_name(e.seq)).collect();
        self.install(writer, header, Some(index + 1))?;
        self.poisoning(|log| remove_all(&*log.dir, &orphans))
    }

    /// Durably drops the segments that lie entirely before `position` (never the tail);
    /// returns the log's new start, at or before `position`. Reading a dropped position
    /// then fails with [`Error::Purged`].
    pub fn purge_before(&mut self, position: u64) -> Result<u64> {
        self.check_poison()?;
        let (table, _) = self.shared.load();
        let last = table.entries.len() - 1;
        let ends = |i: usize| table.entries.get(i + 1).map_or(u64::MAX, |n| n.base_position);
        let keep = (0..last).find(|&i| ends(i) > position).unwrap_or(last);
        let Some(first) = table.entries.get(keep).filter(|_| keep > 0) else {
            return Ok(table.start_position);
        };
        let meta = Meta {
            start_seq: first.seq,
            start_position: first.base_position,
            start_record: first.base_record,
            ..self.meta
        };
        // The commit point: the new start is durable before any file goes.
        self.poisoning(|log| write_meta(&*log.dir, &meta))?;
        self.meta = meta;
        self.poisoning(|log| log.witness.set_start(&*log.dir, meta.start_position))?;
        let mut entries = Vec::with_capacity(table.entries.len() - keep);
        for e in table.entries.iter().skip(keep) {
            entries.push(e.duplicate()?);
        }
        self.shared.replace(Table { start_position: meta.start_position, entries });
        let purged: Vec<String> = table.entries.iter().take(keep).map(|e| segment_name(e.seq)).collect();
        self.poisoning(|log| remove_all(&*log.dir, &purged))?;
        Ok(meta.start_position)
    }
}
