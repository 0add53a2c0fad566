//! `seglog bench`: appends, random reads, a sequential scan and recovery, per backend.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use seglog::MAX_PAYLOAD;
use seglog::core::{OpenSegment, ReadHint, Reader, Writer};
use tempfile::TempDir;

use super::{backend_name, stdout};
use crate::cli::BenchArgs;
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::size::format_size;

/// Segments are sized to a whole number of these, which any block size divides.
const SIZE_ALIGN: u64 = 1 << 20;

/// What to write: the same for every backend, so their rows compare.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub record_size: usize,
    pub count: u64,
    pub sync_every: u64,
    pub segment_size: u64,
}

/// Timings of one backend's run.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timings {
    pub append: Duration,
    pub random_reads: Duration,
    pub scan: Duration,
    pub recovery: Duration,
}

/// Runs the plan on each backend in turn and prints a table of rates.
pub fn run(args: &BenchArgs) -> Result<u8, Failure> {
    let record_size = usize::try_from(args.record_size).ok().filter(|&n| n <= MAX_PAYLOAD).ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            format!("--record-size {}: a record holds at most {MAX_PAYLOAD} bytes", args.record_size),
        )
    })?;
    let segment_size = (record_size as u64 + seglog::HEADER_LEN as u64)
        .checked_mul(args.count)
        .and_then(|needed| needed.div_ceil(SIZE_ALIGN).max(1).checked_mul(SIZE_ALIGN))
        .ok_or_else(|| Failure::new(exit::USAGE, "--count times --record-size is too large for one segment"))?;
    let plan = Plan { record_size, count: args.count, sync_every: args.sync_every, segment_size };
    if let Some(size) = args.log
        && (size == 0
            || !size.is_multiple_of(SIZE_ALIGN)
            || size - seglog::core::log::DATA_START < record_size as u64 + seglog::HEADER_LEN as u64)
    {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "--log {}: segments must be whole MiB and hold a record after their 4 KiB header",
                format_size(size)
            ),
        ));
    }
    let scratch = scratch_dir()?;
    let mut out = stdout();
    let syncs = match args.sync_every {
        0 => "one sync at the end".to_string(),
        n => format!("sync every {n}"),
    };
    writeln!(
        out,
        "seglog bench: {} records of {}, {syncs}, in a {} segment",
        plan.count,
        format_size(args.record_size),
        format_size(segment_size)
    )?;
    out.flush()?;
    let mut rows = Vec::new();
    for (i, &backend) in args.backend.0.iter().enumerate() {
        let name = backend_name(backend);
        let path = match &args.keep {
            Some(keep) if i == 0 => keep.clone(),
            _ => scratch.path().join(format!("{name}.seg")),
        };
        let timings = dispatch!(backend, measure(&path, &plan))?;
        rows.push(row(&name, &plan, &timings));
        if let Some(size) = args.log {
            let dir = scratch.path().join(format!("{name}-log"));
            let timings = dispatch!(backend, super::bench_log::measure(&dir, &plan, size))?;
            rows.push(row(&format!("{name} log of {}", format_size(size)), &plan, &timings));
        }
    }
    print_table(&mut out, &rows)?;
    writeln!(
        out,
        "MB/s and GB/s count payload bytes; reads are from the page cache (direct: from the device); recovery is a writer's reopen."
    )?;
    match (&args.keep, args.backend.0.first()) {
        (Some(keep), Some(&first)) => writeln!(
            out,
            "kept the {} segment at {}: {} records from offset 0; try `seglog dump {1} --limit 3`, `seglog verify {1}`",
            backend_name(first),
            keep.display(),
            plan.count
        )?,
        _ => writeln!(out, "the segments were removed; pass --keep PATH to keep one")?,
    }
    out.flush()?;
    Ok(exit::OK)
}

/// A temporary directory on the working directory's filesystem (what an application's
/// segments would sit on), or in the system's temp directory if that is not writable.
fn scratch_dir() -> Result<TempDir, Failure> {
    tempfile::Builder::new()
        .prefix(".seglog-bench-")
        .tempdir_in(".")
        .or_else(|_| tempfile::Builder::new().prefix("seglog-bench-").tempdir())
        .map_err(|e| Failure::file(&std::env::temp_dir(), "creating a temporary directory", &e))
}

/// Creates the segment at `path` with backend `B`, and times each phase.
fn measure<B: OpenSegment>(path: &Path, plan: &Plan) -> Result<Timings, Failure> {
    let mut payload: Vec<u8> = (0..plan.record_size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut offsets = Vec::with_capacity(usize::try_from(plan.count).unwrap_or(0));
    let mut writer = Writer::<B>::create(path, plan.segment_size, 0)?;

    let progress = Progress::items(plan.count, "appending");
    let started = Instant::now();
    for i in 0..plan.count {
        stamp(&mut payload, i);
        let (offset, _) = writer.append(&payload)?;
        offsets.push(offset);
        if plan.sync_every > 0 && (i + 1).is_multiple_of(plan.sync_every) {
            writer.sync()?;
        }
        if i.is_multiple_of(4096) {
            progress.set_position(i);
        }
    }
    let end = writer.sync()?;
    let append = started.elapsed();
    drop(progress);

    let mut reader = Reader::<B>::open(path, Some(writer.flushed_offset()))?;
    let progress = Progress::items(plan.count, "random reads");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut read_bytes = 0u64;
    let started = Instant::now();
    for i in 0..plan.count {
        let offset = offsets[(rng.next() % offsets.len() as u64) as usize];
        read_bytes += reader.read_record(offset, ReadHint::Random)?.len() as u64;
        if i.is_multiple_of(4096) {
            progress.set_position(i);
        }
    }
    let random_reads = started.elapsed();
    drop(progress);
    check(read_bytes == plan.count * plan.record_size as u64, path, "random reads returned the wrong lengths")?;

    let progress = Progress::bytes(end, "scanning");
    let mut scanned = 0u64;
    let started = Instant::now();
    let mut records = reader.iter(0);
    while let Some(record) = records.next_record()? {
        scanned += 1;
        if scanned.is_multiple_of(4096) {
            progress.set_position(record.next_offset());
        }
    }
    let scan = started.elapsed();
    drop(progress);
    check(scanned == plan.count, path, "the scan found the wrong number of records")?;
    drop(reader);
    drop(writer);

    let progress = Progress::spinner("recovering");
    let started = Instant::now();
    let reopened = Writer::<B>::open(path, 0)?;
    let recovery = started.elapsed();
    drop(progress);
    let report = *reopened.report();
    check(report.records == plan.count && report.is_clean(), path, "recovery did not find every record")?;
    Ok(Timings { append, random_reads, scan, recovery })
}

/// Fails if a self-check of the benchmark's own results does not hold.
pub(super) fn check(ok: bool, path: &Path, what: &str) -> Result<(), Failure> {
    if ok { Ok(()) } else { Err(Failure::new(exit::SOFTWARE, format!("{}: bench self-check: {what}", path.display()))) }
}

/// Writes record number `i` as ten digits and a space over the start of the payload, so
/// records differ and a dump of the kept segment shows which is which.
pub(super) fn stamp(payload: &mut [u8], i: u64) {
    let mut text = [b' '; 11];
    let mut n = i;
    for digit in text.iter_mut().take(10).rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for (to, from) in payload.iter_mut().zip(text) {
        *to = from;
    }
}

/// A tiny, fixed-seed generator for read offsets: reproducible, and cheaper than the reads.
pub(super) struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The table's column headings.
const HEADINGS: [&str; 6] = ["backend", "appends/s", "append MB/s", "random reads/s", "scan GB/s", "recovery"];

/// One table row for `name`'s timings.
fn row(name: &str, plan: &Plan, t: &Timings) -> [String; 6] {
    let payload = (plan.count * plan.record_size as u64) as f64;
    let per_sec = |n: f64, d: Duration| n / d.as_secs_f64().max(1e-9);
    [
        name.to_string(),
        thousands(per_sec(plan.count as f64, t.append) as u64),
        format!("{:.1}", per_sec(payload, t.append) / 1e6),
        thousands(per_sec(plan.count as f64, t.random_reads) as u64),
        format!("{:.2}", per_sec(payload, t.scan) / 1e9),
        format!("{:.1} ms", t.recovery.as_secs_f64() * 1e3),
    ]
}

/// Prints `rows` under [`HEADINGS`]: the first column left-aligned, numbers right-aligned.
fn print_table(out: &mut impl Write, rows: &[[String; 6]]) -> std::io::Result<()> {
    let mut widths = HEADINGS.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let cell = if i == 0 { format!("{cell:<width$}") } else { format!("  {cell:>width$}") };
            text.push_str(&cell);
        }
        text
    };
    writeln!(out, "{}", line(HEADINGS))?;
    for row in rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(c);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn stamp_writes_the_number_as_far_as_it_fits() {
        let mut long = *b"abcdefghijklmnop";
        stamp(&mut long, 42);
        assert_eq!(&long, b"0000000042 lmnop");
        let mut short = *b"abc";
        stamp(&mut short, 42);
        assert_eq!(&short, b"000");
    }
}
