//! Opening a log: recovery (docs/FORMAT.md, section 8.5), and its read-only twin, verify.

use std::io;
use std::sync::Arc;

use super::dir::LogDir;
use super::header::{DATA_START, Meta, SegmentHeader, new_log_id};
use super::options::{LogOptions, LogReport, SegmentInfo};
use super::scan::{self, LOCK, Link, file_error, io_error};
use super::table::{Entry, Shared, Table};
use super::witness::{self, Witness};
use super::{Log, Tail, make_segment, remove_all, walk, write_meta};
use crate::codec::HEADER_LEN;
use crate::error::{Error, Result};
use crate::flushed::FlushedOffset;
use crate::io::SegmentIo;
use crate::reader::Reader;
use crate::recovery::verify as verify_segment;
use crate::writer::Writer;

pub(super) fn open<B: SegmentIo, D: LogDir<Io = B>>(dir: D, options: LogOptions) -> Result<Log<B, D>> {
    let root = dir.path().to_path_buf();
    if options.segment_size < DATA_START + HEADER_LEN as u64 {
        return Err(Error::InvalidArgument {
            path: root,
            what: format!(
                "a segment of {} bytes cannot hold its {DATA_START}-byte header and a record",
                options.segment_size
            ),
        });
    }
    let lock = dir.lock().map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => Error::Locked { path: root.join(LOCK), source: e },
        _ => io_error(&root, LOCK, "locking the log directory", e),
    })?;
    let scan = scan::scan(&dir)?;
    let created = scan.meta.is_none();
    let ignored = scan.ignored.iter().map(|n| root.join(n)).collect();
    let removed = scan.garbage.iter().map(|n| root.join(n)).collect();
    let mut chain = scan.chain;
    let (meta, writer, tail_header, sealed, witness) = match chain.pop() {
        None => {
            // A new log, or one whose creation stopped before its first segment. Temporary
            // files go first: the first segment's may be among them.
            remove_all(&dir, &scan.garbage)?;
            let meta = match scan.meta {
                Some(meta) => meta,
                None => {
                    let meta = Meta { log_id: new_log_id(), start_seq: 1, start_position: 0, start_record: 0 };
                    write_meta(&dir, &meta)?;
                    meta
                }
            };
            let header = SegmentHeader {
                log_id: meta.log_id,
                seq: meta.start_seq,
                prev_seq: 0,
                base_position: meta.start_position,
                base_record: meta.start_record,
                segment_size: options.segment_size,
            };
            let writer = make_segment(&dir, &options, &header, None)?;
            let (witness, _) = Witness::open(&dir, meta.log_id, meta.start_position, meta.start_position)?;
            (meta, writer, header, Vec::new(), witness)
        }
        Some(tail) => {
            let meta = scan.meta.ok_or_else(|| file_error(&root, scan::META, 0, "missing"))?;
            // Strict refuses damage in any segment, so it walks the sealed ones too.
            let check = options.check_sealed || options.recovery_mode == crate::recovery::RecoveryMode::Strict;
            let sealed = sealed_entries(&dir, chain, &tail.header, check)?;
            let Link { name, header, io } = tail;
            drop(io);
            let io = dir.open_writer(&name).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock => Error::Locked { path: root.join(&name), source: e },
                _ => io_error(&root, &name, "opening segment", e),
            })?;
            // What `log.flushed` vouches for in the tail: damage below it is no torn tail.
            let durable =
                witness::read(&dir, meta.log_id).and_then(|p| p.durable_offset(header.base_position, DATA_START));
            // Strict and TornTail refuse here, before anything in the directory has changed.
            let writer = Writer::recover_with(io, DATA_START, options.recovery_mode, durable)?;
            remove_all(&dir, &scan.garbage)?;
            let end = header.base_position + (writer.write_offset() - DATA_START);
            // Recovery kept less than was published (media damage, `Truncate`): a cut.
            let (witness, _) = Witness::open(&dir, meta.log_id, meta.start_position, end)?;
            (meta, writer, header, sealed, witness)
        }
    };
    let records = writer.report().records;
    let mut entries = sealed;
    entries.push(Entry::tail(&dir, &tail_header, &writer)?);
    let tail = Tail {
        seq: tail_header.seq,
        base_position: tail_header.base_position,
        base_record: tail_header.base_record,
        appended: records,
        synced: records,
    };
    let shared = Arc::new(Shared::new(root, Table { start_position: meta.start_position, entries }));
    let report = LogReport { created, segments: Vec::new(), tail: *writer.report(), removed, ignored };
    let mut log = Log {
        dir: Arc::new(dir),
        spare: None,
        options,
        meta,
        shared,
        writer,
        tail,
        report,
        witness,
        poison: None,
        _lock: lock,
    };
    log.report.segments = log.segments();
    log.prepare_next();
    Ok(log)
}

/// The sealed segments of the chain as table entries, each bounded by its successor's base.
fn sealed_entries<D: LogDir>(
    dir: &D,
    chain: Vec<Link<D::Io>>,
    tail: &SegmentHeader,
    check: bool,
) -> Result<Vec<Entry<D::Io>>> {
    let mut successors: Vec<SegmentHeader> = chain.iter().skip(1).map(|l| l.header).collect();
    successors.push(*tail);
    let mut out = Vec::with_capacity(chain.len());
    for (link, next) in chain.into_iter().zip(successors) {
        let (entry, _) = sealed_entry(dir, link, &next, check)?;
        out.push(entry);
    }
    Ok(out)
}

fn sealed_entry<D: LogDir>(
    dir: &D,
    link: Link<D::Io>,
    next: &SegmentHeader,
    check: bool,
) -> Result<(Entry<D::Io>, SegmentInfo)> {
    let h = link.header;
    let end = DATA_START + (next.base_position - h.base_position);
    let records = next.base_record - h.base_record;
    let mut reader = Reader::live(Arc::new(link.io), FlushedOffset::fixed(DATA_START, end));
    if check {
        let (found, reached, in_batch) = walk::walk(&mut reader, end)?;
        if (found, reached, in_batch) != (records, end, false) {
            return Err(file_error(
                dir.path(),
                &link.name,
                reached,
                format!(
                    "sealed segment holds {found} records ending at offset {reached}; the chain says {records} ending at {end}"
                ),
            ));
        }
    }
    let path = dir.path().join(&link.name);
    let info = SegmentInfo {
        path: path.clone(),
        seq: h.seq,
        first_position: h.base_position,
        end_position: next.base_position,
        records,
        sealed: true,
    };
    let entry = Entry {
        seq: h.seq,
        path,
        base_position: h.base_position,
        base_record: h.base_record,
        reader,
        records: Some(records),
    };
    Ok((entry, info))
}

/// A reader of the log in `dir` that writes nothing and takes no lock (see
/// [`LogReader::open`](super::LogReader::open)): sealed segments bounded by the chain, the
/// tail by walking its valid records now.
pub(super) fn read_only<D: LogDir>(dir: &D) -> Result<super::LogReader<D::Io>> {
    let root = dir.path();
    let scan = scan::scan(dir)?;
    let meta = scan.meta.ok_or_else(|| file_error(root, scan::META, 0, "missing: not a log directory"))?;
    let mut chain = scan.chain;
    let Some(tail) = chain.pop() else {
        return Err(file_error(root, &super::segment_name(meta.start_seq), 0, "missing: the log has no segment"));
    };
    let mut entries = sealed_entries(dir, chain, &tail.header, false)?;
    let h = tail.header;
    entries.push(Entry {
        seq: h.seq,
        path: root.join(&tail.name),
        base_position: h.base_position,
        base_record: h.base_record,
        reader: Reader::closed(Arc::new(tail.io), DATA_START)?,
        records: None,
    });
    let shared = Arc::new(Shared::new(root.to_path_buf(), Table { start_position: meta.start_position, entries }));
    Ok(super::LogReader::new(shared))
}

/// Walks a log read-only (see [`Log::verify`]).
pub(super) fn verify<D: LogDir>(dir: &D) -> Result<LogReport> {
    let root = dir.path();
    let scan = scan::scan(dir)?;
    if scan.meta.is_none() {
        return Err(file_error(root, scan::META, 0, "missing: not a log directory"));
    }
    let mut chain = scan.chain;
    let Some(tail) = chain.pop() else {
        return Err(file_error(
            root,
            &super::segment_name(scan.meta.map_or(1, |m| m.start_seq)),
            0,
            "missing: the log has no segment",
        ));
    };
    let mut segments = Vec::with_capacity(chain.len() + 1);
    let mut successors: Vec<SegmentHeader> = chain.iter().skip(1).map(|l| l.header).collect();
    successors.push(tail.header);
    for (link, next) in chain.into_iter().zip(successors) {
        segments.push(sealed_entry(dir, link, &next, true)?.1);
    }
    let report = verify_segment(&tail.io, DATA_START)?;
    segments.push(SegmentInfo {
        path: root.join(&tail.name),
        seq: tail.header.seq,
        first_position: tail.header.base_position,
        end_position: tail.header.base_position + (report.end - DATA_START),
        records: report.records,
        sealed: false,
    });
    Ok(LogReport {
        created: false,
        segments,
        tail: report,
        removed: scan.garbage.iter().map(|n| root.join(n)).collect(),
        ignored: scan.ignored.iter().map(|n| root.join(n)).collect(),
    })
}
