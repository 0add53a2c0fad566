//! seglog (each backend), the published seglog 0.3.6 and okaywal behind [`Log`], [`Read`]
//! and [`Recover`].

use std::io::Read as _;
use std::path::Path;

use seglog_core::{OpenSegment, Preallocation, ReadHint, Reader, Writer};

use crate::{Log, Read, Recover};

/// seglog on backend `B`; with `ZEROED`, on segments created by
/// [`Preallocation::Zeroed`](seglog_core::Preallocation::Zeroed).
pub struct Seglog<B: OpenSegment, const ZEROED: bool = false>(Writer<B>);

/// seglog-file on zero-filled segments.
pub type SeglogZeroed = Seglog<seglog_file::FileIo, true>;

/// Names a seglog backend for reports.
pub trait Named {
    /// The name.
    const NAME: &'static str;
    /// The name on zero-filled segments.
    const ZEROED_NAME: &'static str;
}
impl Named for seglog_file::FileIo {
    const NAME: &'static str = "seglog-file";
    const ZEROED_NAME: &'static str = "seglog-file-zeroed";
}
impl Named for seglog_mmap::MmapIo {
    const NAME: &'static str = "seglog-mmap";
    const ZEROED_NAME: &'static str = "seglog-mmap-zeroed";
}
impl Named for seglog_direct::DirectIo {
    const NAME: &'static str = "seglog-direct";
    const ZEROED_NAME: &'static str = "seglog-direct-zeroed";
}

impl<B: OpenSegment + Named, const ZEROED: bool> Log for Seglog<B, ZEROED> {
    const NAME: &'static str = if ZEROED { B::ZEROED_NAME } else { B::NAME };

    fn create(path: &Path, size: u64) -> Self {
        let prealloc = if ZEROED { Preallocation::Zeroed } else { Preallocation::Fallocate };
        Self(Writer::create_with(path, size, 0, prealloc).expect("create"))
    }
    fn append(&mut self, data: &[u8]) -> u64 {
        self.0.append(data).expect("append").0
    }
    fn sync(&mut self) {
        self.0.sync().expect("sync");
    }
    fn remaining(&self) -> u64 {
        self.0.remaining_bytes()
    }
}

/// A reader of a closed seglog segment on backend `B`.
pub struct SeglogRead<B: OpenSegment>(Reader<B>);

impl<B: OpenSegment> Read for SeglogRead<B> {
    fn open(path: &Path) -> Self {
        Self(Reader::open_closed(path, 0).expect("open"))
    }
    fn read(&mut self, at: u64) -> usize {
        self.0.read_record(at, ReadHint::Random).expect("read").len()
    }
    fn scan(&mut self) -> usize {
        let mut it = self.0.iter(0);
        let mut bytes = 0;
        while let Some(r) = it.next_record().expect("scan") {
            bytes += r.len();
        }
        bytes
    }
}

impl<B: OpenSegment> Recover for Seglog<B> {
    fn recover(path: &Path) -> u64 {
        Writer::<B>::open(path, 0).expect("open").report().records
    }
}

/// The published seglog 0.3.6. Its recovery keeps only records followed by a commit
/// marker, so `sync` here is its `commit` (a 17-byte marker, then its sync): the durable
/// path. Its plain `sync` publishes records that reopening then rolls back.
pub struct Upstream {
    w: seglog_upstream::write::Writer<0>,
    committed: u64,
}

impl Log for Upstream {
    const NAME: &'static str = "seglog-0.3.6";

    fn create(path: &Path, size: u64) -> Self {
        let w = seglog_upstream::write::Writer::<0>::create(path, size as usize, 0).expect("create");
        Self { w, committed: 0 }
    }
    fn append(&mut self, data: &[u8]) -> u64 {
        self.w.append_data(data).expect("append").0
    }
    fn sync(&mut self) {
        self.committed += 1;
        self.w.commit(self.committed).expect("commit");
    }
    fn remaining(&self) -> u64 {
        self.w.remaining_bytes()
    }
}

/// A reader of a seglog 0.3.6 segment.
pub struct UpstreamRead(seglog_upstream::read::Reader<0>);

impl Read for UpstreamRead {
    fn open(path: &Path) -> Self {
        Self(seglog_upstream::read::Reader::<0>::open(path, None).expect("open"))
    }
    fn read(&mut self, at: u64) -> usize {
        self.0.read_record(at, seglog_upstream::read::ReadHint::Random).expect("read").data.len()
    }
    fn scan(&mut self) -> usize {
        let mut it = self.0.iter(0);
        let mut bytes = 0;
        while let Some(r) = it.next_record().expect("scan") {
            bytes += r.data.len();
        }
        bytes
    }
}

impl Recover for Upstream {
    fn recover(path: &Path) -> u64 {
        let size = std::fs::metadata(path).expect("metadata").len() as usize;
        seglog_upstream::write::Writer::<0>::open(path, size, 0).expect("open").write_offset()
    }
}

/// okaywal: every durable write is an entry, committed with an fsync; it has no unsynced
/// append, so records wait in memory and `sync` writes them as one entry of chunks.
pub struct Okaywal {
    log: okaywal::WriteAheadLog,
    pending: Vec<Vec<u8>>,
    written: u64,
    size: u64,
}

/// Keeps every entry (never checkpoints), reading each back on recovery.
#[derive(Debug)]
struct Keep;

impl okaywal::LogManager for Keep {
    fn recover(&mut self, entry: &mut okaywal::Entry<'_>) -> std::io::Result<()> {
        let _ = entry.read_all_chunks()?;
        Ok(())
    }
    fn checkpoint_to(
        &mut self,
        _last: okaywal::EntryId,
        _entries: &mut okaywal::SegmentReader,
        _wal: &okaywal::WriteAheadLog,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

fn okaywal_config(dir: &Path) -> okaywal::Configuration {
    // Never checkpoint during a run: the comparison is of appends and reads.
    okaywal::Configuration::default_for(dir).checkpoint_after_bytes(u64::MAX / 2)
}

impl Log for Okaywal {
    const NAME: &'static str = "okaywal";
    const UNSYNCED: bool = false;

    fn create(path: &Path, size: u64) -> Self {
        let log = okaywal_config(path).open(Keep).expect("okaywal open");
        Self { log, pending: Vec::new(), written: 0, size }
    }
    fn append(&mut self, data: &[u8]) -> u64 {
        self.pending.push(data.to_vec());
        self.written += 8 + data.len() as u64;
        0
    }
    fn sync(&mut self) {
        let mut entry = self.log.begin_entry().expect("begin_entry");
        for chunk in self.pending.drain(..) {
            entry.write_chunk(&chunk).expect("write_chunk");
        }
        entry.commit().expect("commit");
    }
    fn remaining(&self) -> u64 {
        self.size.saturating_sub(self.written)
    }
}

impl Okaywal {
    /// Appends `count` copies of `data` as one committed entry; returns each chunk's
    /// position, for reads.
    pub fn append_batch_durable(&mut self, data: &[u8], count: usize) -> Vec<okaywal::LogPosition> {
        let mut entry = self.log.begin_entry().expect("begin_entry");
        let at = (0..count).map(|_| entry.write_chunk(data).expect("write_chunk").position).collect();
        entry.commit().expect("commit");
        at
    }

    /// Reads the chunk at `at` fully and checks its CRC; returns its length.
    pub fn read(&self, at: okaywal::LogPosition, buf: &mut Vec<u8>) -> usize {
        let mut reader = self.log.read_at(at).expect("read_at");
        buf.clear();
        reader.read_to_end(buf).expect("read");
        assert!(reader.crc_is_valid().expect("crc"));
        buf.len()
    }
}

impl Recover for Okaywal {
    fn recover(path: &Path) -> u64 {
        let log = okaywal_config(path).open(Keep).expect("okaywal recover");
        drop(log);
        0
    }
}
