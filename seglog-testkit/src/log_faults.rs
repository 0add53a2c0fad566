//! A failing directory: a log whose directory sync fails is poisoned, and what a crash
//! then leaves reopens to every record acknowledged before the failure.

use seglog_core::{Error, Log, LogOptions};

use crate::log::read_all;
use crate::simdir::SimDir;
use crate::util::payload;

/// A roll whose directory sync fails poisons the log: it refuses appends, syncs,
/// truncations and purges. Power loss then (the failed sync made nothing durable) reopens
/// to exactly the records synced before it.
pub fn failed_directory_sync_poisons_the_log() {
    let dir = SimDir::new(1);
    let options = LogOptions::default().segment_size(8192).precreate(false);
    let mut log = Log::open_in(dir.clone(), options).unwrap();
    let mut acked = Vec::new();
    for i in 0..3 {
        let p = payload(i, 1000);
        acked.push((log.append(&p).unwrap().0, p));
    }
    log.sync().unwrap();
    dir.fail_dir_syncs(true);
    let failed = (3..20).find_map(|i| log.append(&payload(i, 1000)).err());
    let e = failed.expect("a roll must happen and fail");
    assert!(
        e.to_string().contains("injected directory sync failure")
            || e.to_string().contains("syncing the log directory"),
        "{e}"
    );
    assert!(log.is_poisoned());
    assert!(matches!(log.append(b"x"), Err(Error::Poisoned { .. })));
    assert!(matches!(log.sync(), Err(Error::Poisoned { .. })));
    assert!(matches!(log.truncate(0), Err(Error::Poisoned { .. })));
    assert!(matches!(log.purge_before(0), Err(Error::Poisoned { .. })));
    let snapshot = dir.snapshot();
    drop(log);
    dir.fail_dir_syncs(false);
    // Power loss right after the failure: directory operations since the last good sync lost.
    let mut rng = crate::util::Rng::new(7);
    for _ in 0..50 {
        let (image, _, _) = snapshot.image(&mut rng);
        let log = Log::open_in(SimDir::from_image(&image, 1), options).unwrap();
        let got = read_all(&mut log.reader());
        assert!(
            got.len() >= acked.len() && got[..acked.len()] == acked[..],
            "synced records lost: {} of {}",
            got.len(),
            acked.len()
        );
    }
}
