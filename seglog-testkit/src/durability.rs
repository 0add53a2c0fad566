//! The backend's own durability: that its `sync` really makes writes durable.
//!
//! The other suites and the crash explorer take a backend's word for it: they count a
//! `sync` that returned `Ok` as durable, so they check how core uses `sync`, not whether
//! the backend's `sync` does anything. These checks look underneath, each where it can:
//!
//! - [`sync_leaves_no_dirty_pages`], for backends whose segments are files in the page
//!   cache: after every successful sync (an append's, a batch's, a truncation's, a header
//!   write's), Linux's `cachestat(2)` must report no page of the segment file dirty or under
//!   writeback. It cannot see a disk's volatile write cache that is never flushed (only a
//!   `fdatasync` that reaches the device does that, and no counter shows it), and it sees
//!   nothing at all for `O_DIRECT` writes, which never make page-cache pages dirty: there
//!   it passes whatever the backend's `sync` does. It is skipped, saying why, where the
//!   segment is not a file or `cachestat` is unavailable (Linux before 6.5, a sandbox).
//! - [`power_loss_keeps_synced_records`], for harnesses that can simulate a power loss
//!   ([`Harness::power_loss`], as [`MemHarness`](crate::MemHarness) does): what was synced
//!   survives, and a durable truncation stays truncated. It is skipped, saying why, for
//!   harnesses that cannot (files: the page cache outlives the process).
//!
//! The crash explorer makes the same power-loss check after each crash of its workloads.

use std::io;

use seglog_core::{RecoveryMode, SegmentIo, Writer};

use crate::Harness;
use crate::util::{payload, read_all, reopen};

/// After each successful sync, `cachestat(2)` sees no dirty or writeback page of the
/// segment file.
pub fn sync_leaves_no_dirty_pages<H: Harness>(h: &mut H) {
    let io = h.create(1 << 20).unwrap_or_else(|e| panic!("creating a segment: {e}"));
    let path = io.path().to_path_buf();
    let file = match std::fs::File::open(&path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => f,
        _ => {
            return skip("sync_leaves_no_dirty_pages", &format!("the segment's path {} is not a file", path.display()));
        }
    };
    let check = |what: &str| match seglog_cachestat::cachestat(&file, 0, None) {
        Ok(s) => assert!(
            s.dirty == 0 && s.writeback == 0,
            "durability: after a successful {what}, {} pages of {} are dirty and {} under writeback \
             (cachestat(2)): the backend's sync did not write them back",
            s.dirty,
            path.display(),
            s.writeback
        ),
        Err(e) => panic!("cachestat on {}: {e}", path.display()),
    };
    if let Err(e) = seglog_cachestat::cachestat(&file, 0, None) {
        if e.kind() == io::ErrorKind::Unsupported {
            return skip("sync_leaves_no_dirty_pages", &e.to_string());
        }
        panic!("cachestat on {}: {e}", path.display());
    }
    let start = 4096;
    let mut w = Writer::recover(io, start, RecoveryMode::Strict).unwrap_or_else(|e| panic!("opening: {e}"));
    w.write_segment_header(b"SEGMENT HEADER").unwrap();
    check("write_segment_header");
    let mut offsets = Vec::new();
    for i in 0..40 {
        offsets.push(w.append(&payload(i, 3000)).unwrap().0);
    }
    w.sync().unwrap();
    check("sync of 40 appends");
    w.append(&payload(99, 10)).unwrap();
    w.sync().unwrap();
    check("sync of a small append");
    let big = payload(7, 5000);
    w.append_batch(&[&big, b"two", &big]).unwrap();
    w.sync().unwrap();
    check("sync of a batch");
    w.truncate(offsets[20]).unwrap();
    check("truncate");
    drop(w);
    // Garbage past the end, as a torn write leaves it: recovery erases it, then syncs.
    h.overwrite(offsets[20] + 100, &[0xff; 3000]);
    let w = reopen(h, start, RecoveryMode::Truncate).unwrap_or_else(|e| panic!("recovering: {e}"));
    assert_eq!(w.report().discarded_bytes, 3100, "{:?}", w.report());
    check("recovery that erased a torn tail");
}

/// What a sync made durable survives a power loss of the harness, and a durable
/// truncation stays truncated; unsynced records may be lost, but only from the end.
pub fn power_loss_keeps_synced_records<H: Harness>(h: &mut H) {
    let start = 64;
    let io = h.create(256 << 10).unwrap_or_else(|e| panic!("creating a segment: {e}"));
    let mut w = Writer::recover(io, start, RecoveryMode::Strict).unwrap_or_else(|e| panic!("opening: {e}"));
    let mut appended = Vec::new();
    for (i, len) in [10, 5000, 0, 300, 9000].into_iter().enumerate() {
        let data = payload(i as u64, len);
        appended.push((w.append(&data).unwrap().0, data));
    }
    w.sync().unwrap();
    let synced = appended.len();
    for (i, len) in [20, 7000].into_iter().enumerate() {
        let data = payload(100 + i as u64, len);
        appended.push((w.append(&data).unwrap().0, data));
    }
    // Dropping hands the unsynced records to the backend without a sync.
    drop(w);
    match h.power_loss() {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            return skip("power_loss_keeps_synced_records", &e.to_string());
        }
        Err(e) => panic!("simulating a power loss: {e}"),
    }
    let w = reopen(h, start, RecoveryMode::Truncate).unwrap_or_else(|e| panic!("recovering after a power loss: {e}"));
    let got = read_all(&mut w.reader(), start);
    assert!(
        got.len() >= synced && got[..] == appended[..got.len()],
        "durability: after a power loss {} records read back, {} of them as appended; the first {synced} were \
         synced and must all survive",
        got.len(),
        got.iter().zip(&appended).take_while(|(a, b)| a == b).count()
    );

    let mut w = w;
    let cut = appended[2].0;
    w.truncate(cut).unwrap();
    drop(w);
    h.power_loss().unwrap_or_else(|e| panic!("simulating a power loss: {e}"));
    let w = reopen(h, start, RecoveryMode::Strict).unwrap_or_else(|e| panic!("recovering after a power loss: {e}"));
    let got = read_all(&mut w.reader(), start);
    assert!(
        got[..] == appended[..2] && w.report().end == cut,
        "durability: a truncation to {cut} did not survive a power loss: {} records read back, recovery \
         ended at {}",
        got.len(),
        w.report().end
    );

    drop(w);
    h.overwrite(cut + 100, &[0xff; 300]);
    let w = reopen(h, start, RecoveryMode::Truncate).unwrap_or_else(|e| panic!("recovering: {e}"));
    assert_eq!(w.report().discarded_bytes, 400, "{:?}", w.report());
    drop(w);
    h.power_loss().unwrap_or_else(|e| panic!("simulating a power loss: {e}"));
    let w = reopen(h, start, RecoveryMode::Strict).unwrap_or_else(|e| panic!("recovering after a power loss: {e}"));
    assert!(
        w.report().is_clean() && w.report().end == cut,
        "durability: recovery erased a torn tail and synced, but after a power loss it is back: {:?}",
        w.report()
    );
}

/// Says why a check did not run: a passing test must not pass for nothing unnoticed.
fn skip(check: &str, why: &str) {
    eprintln!("skipped durability::{check}: {why}");
}
