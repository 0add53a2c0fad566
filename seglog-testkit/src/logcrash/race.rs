//! Readers at every step of the writer: a reader runs after each write, sync and directory
//! operation of a workload (through [`SimDir::set_hook`], so the interleaving is forced, not
//! hoped for), in the middle of rolls, truncations, purges and recoveries, and everything it
//! sees is checked as a crash image would be: only acknowledged-or-later records, a
//! contiguous run of what was appended, never a cut or purged record, never an error.

use std::sync::{Arc, Mutex};

use seglog_core::LogReader;

use super::check::check_records;
use super::{LogStep, run, workload};
use crate::simdir::{SimDir, SimFile};
use crate::util::Rng;

/// What a reader saw after one event: (event, records, start, end).
type Seen = (u64, Vec<(u64, Vec<u8>)>, u64, u64);

/// Runs `workloads` seeded workloads with a reader after every event; returns how many reads
/// of the whole log were checked. Panics, naming the workload and event, on a violation.
pub fn readers_at_every_event(seed: u64, workloads: usize) -> usize {
    let mut rng = Rng::new(seed);
    let mut checked = 0;
    for _ in 0..workloads {
        let wseed = rng.next_u64();
        let steps: Vec<LogStep> = workload(&mut Rng::new(wseed));
        let dir = SimDir::new(1);
        let reader: Arc<Mutex<Option<LogReader<SimFile>>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Result<Seen, String>>>> = Arc::default();
        let (r, s) = (Arc::clone(&reader), Arc::clone(&seen));
        dir.set_hook(move |event| {
            let mut slot = r.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(reader) = slot.as_mut() {
                s.lock().unwrap_or_else(|e| e.into_inner()).push(read(reader, event));
            }
        });
        // Deterministic: no background thread makes events.
        let phases = run(&dir, &steps, wseed, false, &mut |log| {
            *reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(log.reader());
        })
        .unwrap_or_else(|e| panic!("workload {wseed:#x} failed: {e}\n{steps:?}"));
        for seen in seen.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let (event, records, start, end) =
                seen.as_ref().unwrap_or_else(|e| panic!("workload {wseed:#x}: {e}\n{steps:?}"));
            let Some(phase) = phases.iter().find(|p| p.events.0 < *event && *event <= p.events.1) else { continue };
            if let Err(e) = check_records(records, *start, *end, phase) {
                panic!(
                    "workload {wseed:#x}: a reader after event {event} (step events {:?}): {e}\n{steps:?}",
                    phase.events
                );
            }
            checked += 1;
        }
    }
    checked
}

fn read(reader: &mut LogReader<SimFile>, event: u64) -> Result<Seen, String> {
    let start = reader.start_position();
    let end = reader.end_position();
    let mut it = reader.iter(start);
    let mut records = Vec::new();
    loop {
        match it.next_record() {
            Ok(Some(r)) => records.push((r.position(), r.to_vec())),
            Ok(None) => break,
            Err(e) => return Err(format!("a reader after event {event} failed: {e}")),
        }
    }
    Ok((event, records, start, end))
}
