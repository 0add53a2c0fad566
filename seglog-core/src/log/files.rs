//! The log's own files: making a segment durable under its name, replacing `log.meta`,
//! removing files, each followed by the directory sync that makes it durable.

use super::LogDir;
use super::header::{DATA_START, Meta, SegmentHeader, segment_name};
use super::options::LogOptions;
use super::scan::{self, META, io_error};
use super::spare::tmp_name;
use crate::error::{Error, Result};
use crate::io::{AlignedBuf, SegmentIo};
use crate::writer::Writer;

/// Creates the segment `header` describes (in `io`, its temporary file if already made)
/// and makes it durable under its name (docs/FORMAT.md 8.4, roll steps 2 and 3).
pub(crate) fn make_segment<D: LogDir>(
    dir: &D,
    options: &LogOptions,
    header: &SegmentHeader,
    io: Option<D::Io>,
) -> Result<Writer<D::Io>> {
    let root = dir.path();
    let name = segment_name(header.seq);
    let tmp = tmp_name(header.seq);
    let made = (|| {
        let io = match io {
            Some(io) => io,
            None => dir
                .create(&tmp, header.segment_size, options.preallocation)
                .map_err(|e| io_error(root, &tmp, "creating segment", e))?,
        };
        let align = io.alignment() as u64;
        if !header.segment_size.is_multiple_of(align) {
            // Checked before the file is named: a named segment no writer can open would
            // stop the log from opening.
            return Err(Error::InvalidArgument {
                path: root.join(&tmp),
                what: format!(
                    "segment size {} is not a multiple of the backend's block size {align}",
                    header.segment_size
                ),
            });
        }
        let mut buf = AlignedBuf::new();
        let block = buf.region(DATA_START as usize, io.alignment());
        let bytes = header.encode();
        block.get_mut(..bytes.len()).unwrap_or_default().copy_from_slice(&bytes);
        io.write_at(0, block).map_err(|e| io_error(root, &tmp, "writing the segment header", e))?;
        io.sync().map_err(|e| io_error(root, &tmp, "syncing the segment header", e))
    })();
    if let Err(e) = made {
        // Nothing refers to the temporary file; open deletes it if this fails too.
        let _ = dir.remove(&tmp);
        return Err(e);
    }
    dir.rename(&tmp, &name).map_err(|e| io_error(root, &name, "naming a new segment", e))?;
    dir.sync().map_err(|e| io_error(root, &name, "syncing the log directory", e))?;
    let io = dir.open_writer(&name).map_err(|e| io_error(root, &name, "opening segment", e))?;
    // All zero past the header: created so, and only the header block was written.
    Writer::create_on(io, DATA_START)
}

/// Replaces `log.meta` durably: temporary file, sync, rename, directory sync.
pub(crate) fn write_meta<D: LogDir>(dir: &D, meta: &Meta) -> Result<()> {
    let root = dir.path();
    let tmp = "log.meta.tmp";
    dir.write_file(tmp, &scan::meta_bytes(meta)).map_err(|e| io_error(root, tmp, "writing", e))?;
    dir.rename(tmp, META).map_err(|e| io_error(root, META, "replacing", e))?;
    dir.sync().map_err(|e| io_error(root, META, "syncing the log directory", e))
}

/// Removes `names` and syncs the directory once.
pub(crate) fn remove_all<D: LogDir>(dir: &D, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        match dir.remove(name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(dir.path(), name, "removing", e));
            }
            _ => {}
        }
    }
    dir.sync().map_err(|e| io_error(dir.path(), "", "syncing the log directory", e))
}
