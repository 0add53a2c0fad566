//! TEMPORARY stand-in for `crate::sidecar::vouched_end`, which the sidecar's owner provides
//! (bound to the incarnation of the segment file). Delete this file when that lands and
//! re-export the real one from `recovery/mod.rs`.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::sidecar::{read_sidecar, sidecar_path};

/// The durable end that the sidecar of `segment` vouches for: `Some` only if the sidecar
/// exists, is intact, and belongs to this incarnation of the segment file; `None` otherwise.
/// Never ahead of the durable records; may be stale (lower).
///
/// This stand-in cannot tell incarnations apart: it trusts any intact sidecar.
pub(crate) fn vouched_end(segment: &Path) -> io::Result<Option<u64>> {
    match File::open(sidecar_path(segment)) {
        Ok(file) => Ok(read_sidecar(&file)?.map(|p| p.end)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
