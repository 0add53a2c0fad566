//! `log.flushed`: the log's durable end, published for followers in other processes and
//! for recovery (docs/FORMAT.md, section 8.7).
//!
//! One 512-byte block, always written whole at offset 0 and covered by one CRC, so a torn
//! or half-landed write reads as no witness at all, which vouches for nothing. It never
//! claims more than is durable:
//! - an end is written only after the `fdatasync` that made the records below it durable;
//! - a cut (a truncation, or a recovery that kept less than was published) is written with
//!   the new, lower end and made durable before the log changes a byte or a directory
//!   entry, so a power loss cannot bring back an end from before the cut;
//! - positions are never reused except after such a cut.
//!
//! Ordinary ends are written with one `pwrite` and never synced: after a power loss the
//! witness may be stale (lower), never ahead.

use super::LogDir;
use super::scan::io_error;
use crate::crc::crc32c;
use crate::error::Result;

/// The file's name in the log directory.
pub(crate) const WITNESS: &str = "log.flushed";

/// Bytes of the file: one 512-byte sector.
pub(crate) const WITNESS_LEN: usize = 512;

const MAGIC: &[u8; 8] = b"SEGLOGFL";
const VERSION: u32 = 1;

/// Cut entries kept: the cut that ended generation `g` is at index `g % CUTS`. A follower
/// that missed more generations than this treats the log as cut to its start.
pub(crate) const CUTS: u32 = 56;
const CUTS_AT: usize = 56;
const CRC_AT: usize = CUTS_AT + 8 * CUTS as usize;

/// What `log.flushed` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Published {
    pub log_id: u128,
    /// Every record below this position was durable when it was written.
    pub end: u64,
    /// Bumped whenever `end` moves backwards.
    pub generation: u32,
    /// The log's start (its purge watermark) when it was written.
    pub start: u64,
    cuts: [u64; CUTS as usize],
}

impl Published {
    /// A witness of a log that holds nothing durable past `start` yet.
    pub fn new(log_id: u128, start: u64) -> Self {
        Self { log_id, end: start, generation: 0, start, cuts: [0; CUTS as usize] }
    }

    /// The lowest position the log was cut back to after generation `since` (which this
    /// witness has moved past); `None` if the entries no longer reach back that far.
    pub fn lowest_cut_since(&self, since: u32) -> Option<u64> {
        let missed = self.generation.checked_sub(since)?;
        if missed > CUTS {
            return None;
        }
        (since..self.generation).map(|g| self.cuts[(g % CUTS) as usize]).min()
    }

    /// The end offset this witness vouches for in the segment whose records start at
    /// `base` (file offset `data_start`): `None` when it vouches for none of its records.
    pub fn durable_offset(&self, base: u64, data_start: u64) -> Option<u64> {
        (self.end > base).then(|| data_start + (self.end - base))
    }

    pub fn encode(&self) -> [u8; WITNESS_LEN] {
        let mut b = [0u8; WITNESS_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&self.end.to_le_bytes());
        b[16..20].copy_from_slice(&self.generation.to_le_bytes());
        b[20..24].copy_from_slice(&VERSION.to_le_bytes());
        b[24..40].copy_from_slice(&self.log_id.to_le_bytes());
        b[40..48].copy_from_slice(&self.start.to_le_bytes());
        for (i, cut) in self.cuts.iter().enumerate() {
            b[CUTS_AT + 8 * i..CUTS_AT + 8 * i + 8].copy_from_slice(&cut.to_le_bytes());
        }
        let crc = crc32c(&b[..CRC_AT]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the file's bytes; `None` for anything that is not a whole, valid witness
    /// (absent, short, torn, another version): such a file vouches for nothing.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; WITNESS_LEN] = bytes.get(..WITNESS_LEN)?.try_into().ok()?;
        let u64_at = |at: usize| b[at..at + 8].try_into().map(u64::from_le_bytes).unwrap_or(0);
        let u32_at = |at: usize| b[at..at + 4].try_into().map(u32::from_le_bytes).unwrap_or(0);
        if &b[0..8] != MAGIC || u32_at(20) != VERSION || u32_at(CRC_AT) != crc32c(&b[..CRC_AT]) {
            return None;
        }
        let mut cuts = [0u64; CUTS as usize];
        for (i, cut) in cuts.iter_mut().enumerate() {
            *cut = u64_at(CUTS_AT + 8 * i);
        }
        Some(Self {
            log_id: b[24..40].try_into().map(u128::from_le_bytes).unwrap_or(0),
            end: u64_at(8),
            generation: u32_at(16),
            start: u64_at(40),
            cuts,
        })
    }
}

/// Reads the witness of log `log_id` in `dir`: `None` if absent, unreadable or another
/// log's.
pub(crate) fn read<D: LogDir>(dir: &D, log_id: u128) -> Option<Published> {
    let bytes = dir.read_file(WITNESS).ok()?;
    Published::decode(&bytes).filter(|p| p.log_id == log_id)
}

/// The writer's side: keeps what it last wrote and writes the whole block each time.
#[derive(Debug)]
pub(crate) struct Witness {
    last: Published,
}

impl Witness {
    /// Takes over the witness the directory holds for this log, or makes a new one (its
    /// contents durable) saying `end`. Returns it and what it vouched for before.
    pub fn open<D: LogDir>(dir: &D, log_id: u128, start: u64, end: u64) -> Result<(Self, Option<Published>)> {
        let found = read(dir, log_id);
        let mut last = found.unwrap_or_else(|| Published::new(log_id, start));
        last.start = start;
        let witness = match found {
            Some(_) => {
                // Moving back is a cut, made durable; moving on needs no sync (recovery has
                // synced the tail), and an unchanged witness no write at all.
                let mut w = Self { last };
                w.publish(dir, end, false)?;
                w
            }
            None => {
                last.end = end;
                dir.write_file(WITNESS, &last.encode())
                    .map_err(|e| io_error(dir.path(), WITNESS, "writing the durable end", e))?;
                Self { last }
            }
        };
        Ok((witness, found))
    }

    /// The end last published.
    pub fn end(&self) -> u64 {
        self.last.end
    }

    /// Publishes `end`. Moving backwards it is a cut: the generation moves on, and the
    /// write is made durable before this returns (whatever `durable` says).
    pub fn publish<D: LogDir>(&mut self, dir: &D, end: u64, durable: bool) -> Result<()> {
        let mut next = self.last;
        let cut = end < next.end;
        if cut {
            next.cuts[(next.generation % CUTS) as usize] = end;
            next.generation = next.generation.wrapping_add(1);
        }
        next.end = end;
        if next == self.last && !durable {
            return Ok(());
        }
        dir.update_file(WITNESS, &next.encode(), durable || cut)
            .map_err(|e| io_error(dir.path(), WITNESS, "publishing the durable end", e))?;
        self.last = next;
        Ok(())
    }

    /// Publishes a new start (after a purge's commit point), not synced: `log.meta` is the
    /// durable record of it.
    pub fn set_start<D: LogDir>(&mut self, dir: &D, start: u64) -> Result<()> {
        let mut next = self.last;
        next.start = start;
        dir.update_file(WITNESS, &next.encode(), false)
            .map_err(|e| io_error(dir.path(), WITNESS, "publishing the log's start", e))?;
        self.last = next;
        Ok(())
    }
}
