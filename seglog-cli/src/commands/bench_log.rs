//! `seglog bench --log SIZE`: the same workload on a `seglog::Log` of SIZE segments, so
//! rolls, reads by position across segments and a log's recovery show beside one segment.

use std::path::Path;
use std::time::Instant;

use seglog::core::{Log, LogOptions, LogReader, OpenSegment};

use super::bench::{Plan, Timings, XorShift, check, stamp};
use crate::exit::Failure;
use crate::progress::Progress;

/// Creates a log in the directory `path` with backend `B` and times each phase as
/// [`super::bench`] does for one segment; recovery is a reopen of the log.
pub(super) fn measure<B: OpenSegment>(path: &Path, plan: &Plan, segment_size: u64) -> Result<Timings, Failure> {
    let mut payload: Vec<u8> = (0..plan.record_size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut positions = Vec::with_capacity(usize::try_from(plan.count).unwrap_or(0));
    let options = LogOptions::default().segment_size(segment_size);
    let mut log = Log::<B>::open(path, options)?;

    let progress = Progress::items(plan.count, "appending to a log");
    let started = Instant::now();
    for i in 0..plan.count {
        stamp(&mut payload, i);
        let (position, _) = log.append(&payload)?;
        positions.push(position);
        if plan.sync_every > 0 && (i + 1).is_multiple_of(plan.sync_every) {
            log.sync()?;
        }
        if i.is_multiple_of(4096) {
            progress.set_position(i);
        }
    }
    log.sync()?;
    let append = started.elapsed();
    drop(progress);

    let mut reader: LogReader<B> = log.reader();
    let progress = Progress::items(plan.count, "random reads");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut read_bytes = 0u64;
    let started = Instant::now();
    for i in 0..plan.count {
        let position = positions[(rng.next() % positions.len() as u64) as usize];
        read_bytes += reader.read_record(position)?.len() as u64;
        if i.is_multiple_of(4096) {
            progress.set_position(i);
        }
    }
    let random_reads = started.elapsed();
    drop(progress);
    check(read_bytes == plan.count * plan.record_size as u64, path, "random reads returned the wrong lengths")?;

    let progress = Progress::spinner("scanning");
    let mut scanned = 0u64;
    let started = Instant::now();
    let mut records = reader.iter(log.start_position());
    while records.next_record()?.is_some() {
        scanned += 1;
    }
    let scan = started.elapsed();
    drop(progress);
    check(scanned == plan.count, path, "the scan found the wrong number of records")?;
    drop(reader);
    drop(log);

    let progress = Progress::spinner("recovering");
    let started = Instant::now();
    let reopened = Log::<B>::open(path, options)?;
    let recovery = started.elapsed();
    drop(progress);
    let records: u64 = reopened.segments().iter().map(|s| s.records).sum();
    check(records == plan.count && reopened.report().tail.is_clean(), path, "recovery did not find every record")?;
    Ok(Timings { append, random_reads, scan, recovery })
}
