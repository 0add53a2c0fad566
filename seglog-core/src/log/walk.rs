//! Walking a segment's records up to an offset: to check a truncation point and count what
//! it keeps, and to check a sealed segment against its bound.

use super::header::DATA_START;
use crate::error::{Error, Result};
use crate::io::SegmentIo;
use crate::reader::Reader;

/// The records in `[DATA_START, to)` of the segment `reader` reads, where `to` must be the
/// end of a record that does not continue a batch.
pub(crate) fn count_to<B: SegmentIo>(reader: &mut Reader<B>, to: u64) -> Result<u64> {
    let (records, reached, in_batch) = walk(reader, to)?;
    if reached != to || in_batch {
        let path = reader.io().path().to_path_buf();
        let nearest = if in_batch { "inside an atomic batch" } else { "not a record boundary" };
        return Err(Error::InvalidArgument {
            path,
            what: format!("offset {to} is {nearest} (the records walked end at {reached})"),
        });
    }
    Ok(records)
}

/// Walks the records from `DATA_START` while they start below `to`; returns how many,
/// where the last ends, and whether it continues a batch. Damage is an error naming the offset.
pub(crate) fn walk<B: SegmentIo>(reader: &mut Reader<B>, to: u64) -> Result<(u64, u64, bool)> {
    let (mut records, mut in_batch) = (0, false);
    let mut it = reader.iter(DATA_START);
    while it.position() < to {
        match it.next_record()? {
            Some(r) => {
                records += 1;
                in_batch = r.continues_batch();
            }
            None => break,
        }
    }
    Ok((records, it.position(), in_batch))
}
