//! The reference model the fuzz targets check against: what docs/FORMAT.md says a segment
//! holds, computed from the format's text (the walk of section 2.4, the valid-record
//! search of section 4), not from seglog-core's code.

use seglog_core::crc::crc32c;
use seglog_core::{Corruption, HEADER_LEN, RecoveryReport, ValidAfter};

pub(super) const LEN_MASK: u32 = (1 << 30) - 1;

/// Payload bytes the model may checksum per call; past it the exhaustive checks are
/// skipped (hostile inputs can claim a near-full-length record at every byte).
pub(super) const MODEL_WORK: u64 = 16 << 20;

pub(super) fn spend(work: &mut u64, n: u64) -> bool {
    *work = work.checked_sub(n).unwrap_or(0);
    *work > 0
}

/// CRC32C of the length bytes followed by the payload, computed contiguously (core folds
/// the two parts together arithmetically; this checks it against the plain definition).
pub(super) fn record_crc_model(len_bytes: &[u8; 4], payload: &[u8]) -> u32 {
    crc32c(&[&len_bytes[..], payload].concat())
}

/// One record the model's walk found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ModelRecord {
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) continues_batch: bool,
}

impl ModelRecord {
    pub(super) fn next(&self) -> u64 {
        self.offset + HEADER_LEN as u64 + self.len
    }
}

/// What docs/FORMAT.md says a segment holds (sections 2.4 and 4), computed from its text.
pub(super) struct Model<'a> {
    seg: &'a [u8],
    start: u64,
    pub(super) end: u64,
    stopped_at: u64,
    pub(super) records: Vec<ModelRecord>,
    reason: Corruption,
    nonzero_end: u64,
}

impl<'a> Model<'a> {
    pub(super) fn of(seg: &'a [u8], start: u64) -> Self {
        let (end, stopped_at, nonzero_end, reason) = (start, start, start, Corruption::ZeroHeader);
        let mut m = Self { seg, start, end, stopped_at, records: Vec::new(), reason, nonzero_end };
        let mut batch = Vec::new();
        let stop = loop {
            match m.check(m.stopped_at, seg.len() as u64) {
                Err(c) => break c,
                Ok(r) => {
                    batch.push(r);
                    m.stopped_at = r.next();
                    if !r.continues_batch {
                        m.records.append(&mut batch);
                        m.end = m.stopped_at;
                    }
                }
            }
        };
        m.reason = if m.stopped_at > m.end { Corruption::IncompleteBatch } else { stop };
        m.nonzero_end = seg.iter().rposition(|&b| b != 0).map_or(0, |i| i as u64 + 1).max(m.end);
        m
    }

    /// The format's checks, in its order, for a record at `o` with `limit` bytes readable.
    fn check(&self, o: u64, limit: u64) -> Result<ModelRecord, Corruption> {
        let available = limit.saturating_sub(o);
        let Some(hdr) = self.seg.get(o as usize..).and_then(|s| s.first_chunk::<8>()).filter(|_| available >= 8) else {
            return Err(Corruption::ShortHeader);
        };
        if *hdr == [0; 8] {
            return Err(Corruption::ZeroHeader);
        }
        let word = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let (kind, len) = ((word >> 30) as u8, u64::from(word & LEN_MASK));
        if kind > 1 {
            return Err(Corruption::ReservedKind { kind });
        }
        if 8 + len > available {
            return Err(Corruption::LengthOutOfBounds { len: 8 + len, available });
        }
        let r = ModelRecord { offset: o, len, continues_batch: kind == 1 };
        let stored = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let computed = record_crc_model(&word.to_le_bytes(), self.payload(r));
        if computed != stored {
            return Err(Corruption::ChecksumMismatch { stored, computed });
        }
        Ok(r)
    }

    /// What a closed reader must find at `o`: readable bytes end at the walk's end.
    pub(super) fn record_at(&self, o: u64) -> Result<ModelRecord, Corruption> {
        self.check(o, self.end)
    }

    pub(super) fn payload(&self, r: ModelRecord) -> &'a [u8] {
        &self.seg[(r.offset as usize + HEADER_LEN)..r.next() as usize]
    }

    pub(super) fn records_with_bytes(&self) -> Vec<(u64, Vec<u8>)> {
        self.records.iter().map(|&r| (r.offset, self.payload(r).to_vec())).collect()
    }

    /// The first valid record at a byte position in `(max(end, stopped_at), nonzero_end)`;
    /// `None` when checking every candidate would exceed the model's work allowance.
    fn valid_after(&self) -> Option<ValidAfter> {
        let mut work = MODEL_WORK;
        let size = self.seg.len() as u64;
        let from = self.end.max(self.stopped_at);
        for p in (from + 1..self.nonzero_end).take_while(|p| p + 8 <= size) {
            let Some(hdr) = self.seg.get(p as usize..p as usize + 4) else { break };
            let word = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            if word >> 30 <= 1
                && 8 + u64::from(word & LEN_MASK) <= size - p
                && !spend(&mut work, 64 + u64::from(word & LEN_MASK))
            {
                return None;
            }
            if self.completes_batch(p, size) {
                return Some(ValidAfter::Found { offset: p });
            }
        }
        Some(ValidAfter::None)
    }

    /// True if valid records start at `p` and run, through batch records, to one that ends
    /// its batch.
    fn completes_batch(&self, mut p: u64, size: u64) -> bool {
        loop {
            match self.check(p, size) {
                Ok(r) if !r.continues_batch => return true,
                Ok(r) => p = r.next(),
                Err(_) => return false,
            }
        }
    }

    pub(super) fn check_report(&self, report: &RecoveryReport, ctx: &str) {
        let got = (report.start_offset, report.end, report.records, report.discarded_bytes);
        let want = (self.start, self.end, self.records.len() as u64, self.nonzero_end - self.end);
        assert_eq!(got, want, "{ctx}: (start, end, records, discarded) of {report:?}");
        let Some(d) = report.damage else {
            assert_eq!(self.nonzero_end, self.end, "{ctx}: non-zero bytes past the end but no damage reported");
            return;
        };
        assert!(self.nonzero_end > self.end, "{ctx}: damage reported on a clean segment: {d:?}");
        assert_eq!((d.offset, d.reason), (self.end, self.reason), "{ctx}: damage {d:?}");
        match d.valid_after {
            ValidAfter::Unknown => panic!("{ctx}: valid_after Unknown: the 1 GiB work allowance cannot run out here"),
            ValidAfter::Found { offset } => {
                assert!(offset > self.end.max(self.stopped_at) && offset < self.nonzero_end, "{ctx}: {d:?}");
                let found = self.check(offset, self.seg.len() as u64);
                assert!(found.is_ok(), "{ctx}: reported valid record at {offset} is not: {found:?}");
            }
            ValidAfter::None => {}
        }
        if let Some(expected) = self.valid_after() {
            assert_eq!(d.valid_after, expected, "{ctx}: valid records after the damage at {}", self.end);
        }
    }

    /// After recovery: the valid prefix unchanged, every byte past it zero.
    pub(super) fn check_erased(&self, now: &[u8], ctx: &str) {
        let end = self.end as usize;
        assert!(
            now.len() == self.seg.len() && now[..end] == self.seg[..end],
            "{ctx}: recovery changed bytes before {end}"
        );
        if let Some(i) = now[end..].iter().position(|&b| b != 0) {
            panic!("{ctx}: byte {} past the recovered end {end} is not zero after recovery", end + i);
        }
    }

    /// Where an append would end on a discarded record boundary: the first valid record
    /// after the damage, or where the walk stopped inside a cut-short batch.
    pub(super) fn resurrection_target(&self, report: &RecoveryReport) -> Option<u64> {
        let at = if let ValidAfter::Found { offset } = report.damage?.valid_after { offset } else { self.stopped_at };
        Some(at).filter(|&t| t >= self.end + HEADER_LEN as u64 && t <= self.seg.len() as u64)
    }
}
