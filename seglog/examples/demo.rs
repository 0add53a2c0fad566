//! Writes a segment while three readers in other threads follow it, then reopens it
//! (recovery) and reads records back by offset. Prints what it did and how fast.
//!
//! `cargo run --release --example demo -p seglog`

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use seglog::read::{ReadHint, Reader};
use seglog::write::Writer;

const RECORDS: u64 = 200_000;
const RECORD_LEN: usize = 1024;
const SYNC_EVERY: u64 = 1000;
const READERS: usize = 3;
const SEGMENT: u64 = 256 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::Builder::new().prefix("seglog-demo-").tempdir()?;
    let path: PathBuf = dir.path().join("events.seg");
    println!(
        "seglog demo: {RECORDS} records of {RECORD_LEN} B into a {} MiB segment at {}",
        SEGMENT >> 20,
        path.display()
    );

    let mut writer = Writer::create(&path, SEGMENT, 64)?;
    writer.write_segment_header(b"DEMO-v1")?;
    let flushed = writer.flushed_offset();

    let readers: Vec<_> = (0..READERS)
        .map(|id| {
            let mut reader = Reader::open(&path, Some(flushed.clone()))?;
            Ok(thread::spawn(move || -> seglog::Result<(u64, Duration)> {
                let started = Instant::now();
                let mut iter = reader.iter(64);
                let mut seen = 0;
                while seen < RECORDS {
                    match iter.next_record()? {
                        Some(record) => {
                            assert_eq!(sequence(&record), seen, "reader {id} read out of order");
                            seen += 1;
                        }
                        None => thread::sleep(Duration::from_micros(50)),
                    }
                }
                Ok((seen, started.elapsed()))
            }))
        })
        .collect::<seglog::Result<_>>()?;

    let mut record = vec![0u8; RECORD_LEN];
    let mut offsets = Vec::with_capacity(RECORDS as usize);
    let started = Instant::now();
    for i in 0..RECORDS {
        record[..8].copy_from_slice(&i.to_le_bytes());
        record[8..16].copy_from_slice(&(!i).to_le_bytes());
        offsets.push(writer.append(&record)?.0);
        if (i + 1) % SYNC_EVERY == 0 {
            writer.sync()?;
        }
    }
    let end = writer.sync()?;
    let write_time = started.elapsed();
    println!(
        "wrote   {RECORDS} records, synced every {SYNC_EVERY}: {:.2} s, {:.0} records/s, {:.0} MB/s",
        write_time.as_secs_f64(),
        RECORDS as f64 / write_time.as_secs_f64(),
        end as f64 / 1e6 / write_time.as_secs_f64()
    );
    for (id, handle) in readers.into_iter().enumerate() {
        let (seen, took) = handle.join().map_err(|_| "reader thread panicked")??;
        println!(
            "reader {id}: followed the writer and read all {seen} records, finishing {:.2} s after it started",
            took.as_secs_f64()
        );
    }
    drop(writer);

    let started = Instant::now();
    let writer = Writer::open(&path, 64)?;
    let recovered = started.elapsed();
    let report = writer.report();
    println!(
        "reopen  recovered {} records, end at {} ({}), in {:.1} ms ({:.1} GB/s)",
        report.records,
        report.end,
        if report.is_clean() { "clean" } else { "damaged tail" },
        recovered.as_secs_f64() * 1e3,
        report.end as f64 / 1e9 / recovered.as_secs_f64()
    );

    let mut reader = Reader::open(&path, Some(writer.flushed_offset()))?;
    let mut header = [0u8; 7];
    reader.read_segment_header(&mut header)?;
    let started = Instant::now();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let lookups = 200_000;
    for _ in 0..lookups {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = x % RECORDS;
        let record = reader.read_record(offsets[i as usize], ReadHint::Random)?;
        assert_eq!(sequence(&record), i);
    }
    let took = started.elapsed();
    println!(
        "read    {lookups} records by offset in random order: {:.0} ns each (header {:?})",
        took.as_nanos() as f64 / lookups as f64,
        String::from_utf8_lossy(&header)
    );
    Ok(())
}

/// The sequence number a record carries, checked against its complement.
fn sequence(record: &[u8]) -> u64 {
    let n = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
    let check = u64::from_le_bytes(record[8..16].try_into().expect("8 bytes"));
    assert_eq!(n, !check, "record contents damaged");
    n
}
