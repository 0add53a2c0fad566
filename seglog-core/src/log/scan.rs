//! Reading a log directory: which files are what, and the chain of segments from the
//! log's start to its tail (docs/FORMAT.md, section 8.5, steps 2 to 4). Reads only.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use super::dir::LogDir;
use super::header::{DATA_START, META_LEN, Meta, SegmentHeader, parse_segment_name, segment_name};
use crate::error::{Error, Result};
use crate::io::{AlignedBuf, SegmentIo};

pub(crate) const META: &str = "log.meta";
pub(crate) const LOCK: &str = "LOCK";

/// A segment of the chain, with a read-only handle on it.
#[derive(Debug)]
pub(crate) struct Link<Io> {
    pub name: String,
    pub header: SegmentHeader,
    pub io: Io,
}

/// What a log directory holds.
#[derive(Debug)]
pub(crate) struct Scan<Io> {
    /// `None`: a new log (no `log.meta` and no segment).
    pub meta: Option<Meta>,
    /// The chain from the start to the tail; empty if the log has no segment yet.
    pub chain: Vec<Link<Io>>,
    /// Temporary files, purge leftovers and truncation orphans: open deletes them.
    pub garbage: Vec<String>,
    /// Names the log does not use.
    pub ignored: Vec<String>,
}

pub(crate) fn file_error(dir: &Path, name: &str, offset: u64, what: impl Into<String>) -> Error {
    Error::LogFile { path: dir.join(name), offset, what: what.into() }
}

pub(crate) fn io_error(dir: &Path, name: &str, op: &'static str, source: io::Error) -> Error {
    Error::Io { path: dir.join(name), op, offset: 0, source }
}

pub(crate) fn scan<D: LogDir>(dir: &D) -> Result<Scan<D::Io>> {
    let root = dir.path();
    let names = dir.list().map_err(|e| Error::Io {
        path: root.to_path_buf(),
        op: "listing the log directory",
        offset: 0,
        source: e,
    })?;
    let (mut garbage, mut ignored, mut segments) = (Vec::new(), Vec::new(), Vec::new());
    for name in names {
        if let Some(seq) = parse_segment_name(&name) {
            segments.push((seq, name));
        } else if name.ends_with(".tmp") {
            garbage.push(name);
        } else if name != META && name != LOCK && name != super::witness::WITNESS {
            ignored.push(name);
        }
    }
    segments.sort();
    let meta = match dir.read_file(META) {
        Ok(bytes) => Some(Meta::decode(&bytes).map_err(|what| file_error(root, META, 0, what))?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(root, META, "reading", e)),
    };
    let Some(meta) = meta else {
        if let Some((_, name)) = segments.first() {
            return Err(file_error(root, META, 0, format!("missing, but the directory holds segment {name}")));
        }
        return Ok(Scan { meta: None, chain: Vec::new(), garbage, ignored });
    };
    let mut links = HashMap::new();
    for (seq, name) in segments {
        if seq < meta.start_seq {
            // Left by a purge whose unlink did not persist: below the durable start.
            garbage.push(name);
            continue;
        }
        let link = read_link(dir, &name, seq, &meta)?;
        links.insert(seq, link);
    }
    let Some(&tail) = links.keys().max() else {
        return Ok(Scan { meta: Some(meta), chain: Vec::new(), garbage, ignored });
    };
    let mut chain = Vec::new();
    let mut seq = tail;
    loop {
        let Some(link) = links.remove(&seq) else {
            let missing = segment_name(seq);
            let after =
                chain.last().map_or(String::new(), |l: &Link<D::Io>| format!(" (segment {} follows it)", l.name));
            return Err(file_error(root, &missing, 0, format!("missing from the chain of segments{after}: a gap")));
        };
        if let Some(next) = chain.last() {
            check_link(root, &link, next)?;
        }
        let (at_start, prev) = (seq == meta.start_seq, link.header.prev_seq);
        chain.push(link);
        if at_start {
            break;
        }
        if prev < meta.start_seq || prev >= seq {
            let name = segment_name(seq);
            return Err(file_error(
                root,
                &name,
                40,
                format!("follows segment {prev}, outside the log's segments [{}, {seq})", meta.start_seq),
            ));
        }
        seq = prev;
    }
    chain.reverse();
    if let Some(first) = chain.first()
        && (first.header.base_position, first.header.base_record) != (meta.start_position, meta.start_record)
    {
        return Err(file_error(
            root,
            &first.name,
            48,
            format!(
                "starts at position {} but log.meta says the log starts at {}",
                first.header.base_position, meta.start_position
            ),
        ));
    }
    // What is left is off the chain: segments a truncation cut away.
    let mut orphans: Vec<_> = links.into_values().map(|l| l.name).collect();
    orphans.sort();
    garbage.extend(orphans);
    Ok(Scan { meta: Some(meta), chain, garbage, ignored })
}

fn read_link<D: LogDir>(dir: &D, name: &str, seq: u64, meta: &Meta) -> Result<Link<D::Io>> {
    let root = dir.path();
    let io = dir.open_reader(name).map_err(|e| io_error(root, name, "opening segment", e))?;
    let size = io.size();
    if size < DATA_START {
        return Err(file_error(root, name, 0, format!("{size} bytes is too short for a log segment")));
    }
    let mut buf = AlignedBuf::new();
    let block = buf.region(DATA_START as usize, io.alignment());
    io.read_at(0, block).map_err(|e| io_error(root, name, "reading the segment header", e))?;
    let header = SegmentHeader::decode(block).map_err(|what| file_error(root, name, 0, what))?;
    if header.log_id != meta.log_id {
        return Err(file_error(
            root,
            name,
            16,
            format!("belongs to another log (id {:032x}, this log is {:032x})", header.log_id, meta.log_id),
        ));
    }
    if header.seq != seq {
        return Err(file_error(root, name, 32, format!("its header says it is segment {}", header.seq)));
    }
    if header.segment_size != size {
        return Err(file_error(
            root,
            name,
            64,
            format!("is {size} bytes long, its header says {}", header.segment_size),
        ));
    }
    Ok(Link { name: name.to_string(), header, io })
}

/// Checks that `link` can precede `next` in the chain.
fn check_link<Io: SegmentIo>(root: &Path, link: &Link<Io>, next: &Link<Io>) -> Result<()> {
    let (h, n) = (&link.header, &next.header);
    let capacity = h.segment_size - DATA_START;
    let fits = n.base_position >= h.base_position && n.base_position - h.base_position <= capacity;
    if !fits || n.base_record < h.base_record {
        return Err(file_error(
            root,
            &next.name,
            48,
            format!(
                "starts at position {} (record {}), which segment {} (position {}, record {}, {capacity} bytes of records) cannot end at",
                n.base_position, n.base_record, link.name, h.base_position, h.base_record
            ),
        ));
    }
    Ok(())
}

/// Bytes of `log.meta`, for writing.
pub(crate) fn meta_bytes(meta: &Meta) -> [u8; META_LEN] {
    meta.encode()
}
