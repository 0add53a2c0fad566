//! The checks of one crash image against the model.

use seglog_core::{Error, Log, LogDir, RecoveryMode};

use super::{LogTarget, Phase, options};
use crate::log::read_all;
use crate::simdir::DirImage;
use crate::util::{Rng, payload};

/// Recovers `image` and checks properties 1 to 4 (3 after later appends only if `full`);
/// returns whether `Strict` refused.
pub(super) fn check_image<T: LogTarget>(
    target: &mut T,
    image: &DirImage,
    phase: &Phase,
    salt: u64,
    full: bool,
) -> Result<bool, String> {
    // Strict first: when it refuses it must have changed nothing, so the default open
    // (`TornTail`) then sees the image as the crash left it, and must open it: a crash alone
    // never makes the default refuse. When Strict opens, it recovered what the default would have.
    let (refused, mut log) =
        match Log::open_in(target.materialise(image), options().recovery_mode(RecoveryMode::Strict)) {
            Ok(log) => (false, log),
            Err(Error::Damaged { .. }) => (
                true,
                Log::open_in(target.again(), options())
                    .map_err(|e| format!("the default open (TornTail) refused a crash image: {e}"))?,
            ),
            Err(e) => return Err(format!("Strict failed: {e}")),
        };
    if refused != log.report().valid_records_after_damage() {
        return Err(format!("Strict refused: {refused}, but the tail's report says {:?}", log.report().tail));
    }
    let got = read_all(&mut log.reader());
    let start = log.start_position();
    check_records(&got, start, log.end_position(), phase)?;
    if !full {
        return Ok(refused);
    }
    // Property 3 after later appends: new records land at the end, and only they follow.
    let mut want = got;
    // Some 12 KiB: the log rolls into new segments two or three times, so stale records in
    // recycled names or cut-away files would have every chance to come back.
    for i in 0..12 {
        let p = payload(salt.wrapping_add(i), 16 + (i as usize % 4) * 600);
        let (pos, _) = log.append(&p).map_err(|e| format!("append after recovery: {e}"))?;
        want.push((pos, p));
    }
    log.sync().map_err(|e| format!("sync after recovery: {e}"))?;
    drop(log);
    let log = Log::open_in(target.again(), options()).map_err(|e| format!("reopen after appends: {e}"))?;
    let again = read_all(&mut log.reader());
    if again != want {
        return Err(format!("after appending and reopening: {} records, expected {}", again.len(), want.len()));
    }
    Ok(refused)
}

/// Properties 1 and 2 against the phase's models.
pub(super) fn check_records(got: &[(u64, Vec<u8>)], start: u64, end: u64, phase: &Phase) -> Result<(), String> {
    let (b, a) = (&phase.before, &phase.after);
    let longest = if a.records.len() > b.records.len() { &a.records } else { &b.records };
    let first = got.first().map_or(end, |g| g.0);
    if first != start {
        return Err(format!("the first record is at {first}, the log starts at {start}"));
    }
    if start < b.start.min(a.start) {
        return Err(format!("the log starts at {start}, before the purged start {}", b.start.min(a.start)));
    }
    let from = longest.iter().position(|r| r.0 >= start).unwrap_or(longest.len());
    for (i, (pos, data)) in got.iter().enumerate() {
        match longest.get(from + i) {
            Some(r) if r.0 == *pos && r.1 == *data => {}
            other => {
                return Err(format!("record {i} at {pos} is not what was appended there ({:?})", other.map(|r| r.0)));
            }
        }
    }
    let must_from = b.start.max(a.start);
    let must_end = b.acked_end.min(a.acked_end);
    if start > must_from && must_from < must_end {
        return Err(format!("the log starts at {start}, past the durable start {must_from}"));
    }
    if must_end > must_from && end < must_end {
        return Err(format!("acknowledged records lost: the log ends at {end}, {must_end} was acknowledged"));
    }
    Ok(())
}

/// Property 5: flips one byte of one file and recovers; any error must name a path in the
/// directory. Never panics (the caller catches one as a failure).
pub(super) fn check_flipped<T: LogTarget>(target: &mut T, image: &DirImage, rng: &mut Rng) -> Result<bool, String> {
    let mut image = image.clone();
    let names: Vec<String> = image.files.keys().cloned().collect();
    if let Some(name) = names.get(rng.below(names.len())) {
        let bytes = image.files.get_mut(name).unwrap();
        if !bytes.is_empty() {
            let at = if rng.chance(50) { rng.below(bytes.len().min(128)) } else { rng.below(bytes.len()) };
            bytes[at] ^= 1 << rng.below(8);
        }
    }
    let dir = target.materialise(&image);
    let root = dir.path().to_path_buf();
    let named = |e: &Error| {
        let text = e.to_string();
        if text.contains(&*root.to_string_lossy()) {
            Ok(())
        } else {
            Err(format!("error names no file of the log: {text}"))
        }
    };
    match Log::open_in(dir, options()) {
        Ok(log) => {
            let mut r = log.reader();
            let start = r.start_position();
            let mut it = r.iter(start);
            loop {
                match it.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return named(&e).map(|()| false),
                }
            }
            Ok(false)
        }
        Err(e) => named(&e).map(|()| false),
    }
}
