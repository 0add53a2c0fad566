//! The raw baseline that stands for this machine's limit: a `Vec` buffer flushed with
//! `pwrite`, `fdatasync` on sync; `pread` and CRC32C on reads. The same record format as
//! seglog (8-byte header, CRC32C over the length bytes and payload), with none of its
//! checks: no locking, no recovery erase, no poisoning, no visibility bound.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::{Log, Read, Recover};

const BUF: usize = 256 << 10;
const WINDOW: usize = 1 << 20;

/// Raw appends.
pub struct RawLog {
    file: File,
    buf: Vec<u8>,
    at: u64,
    flushed: u64,
    size: u64,
}

/// CRC32C of the length bytes then the payload, which are not adjacent when read back:
/// the fastest correct routine there is (seglog-core's, on the `crc32c` crate's CRC32C).
fn record_crc(len: [u8; 4], payload: &[u8]) -> u32 {
    seglog_core::crc::record_crc(len, payload)
}

impl RawLog {
    fn flush(&mut self) {
        self.file.write_all_at(&self.buf, self.flushed).expect("pwrite");
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
    }
}

impl Log for RawLog {
    const NAME: &'static str = "raw";

    fn create(path: &Path, size: u64) -> Self {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path).expect("create");
        rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size).expect("fallocate");
        Self { file, buf: Vec::with_capacity(BUF), at: 0, flushed: 0, size }
    }

    fn append(&mut self, data: &[u8]) -> u64 {
        let len = (data.len() as u32).to_le_bytes();
        // Checksum in place: length bytes then payload, contiguous in the buffer.
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&len);
        self.buf.extend_from_slice(data);
        let crc = crc_fast::crc32_iscsi(&self.buf[start + 4..]);
        self.buf[start..start + 4].copy_from_slice(&len);
        self.buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        let at = self.at;
        self.at += (8 + data.len()) as u64;
        if self.buf.len() >= BUF {
            self.flush();
        }
        at
    }

    fn sync(&mut self) {
        self.flush();
        self.file.sync_data().expect("fdatasync");
    }

    fn remaining(&self) -> u64 {
        self.size - self.at
    }
}

/// Raw reads.
pub struct RawRead {
    file: File,
    buf: Vec<u8>,
}

impl Read for RawRead {
    fn open(path: &Path) -> Self {
        Self { file: File::open(path).expect("open"), buf: vec![0; WINDOW] }
    }

    fn read(&mut self, at: u64) -> usize {
        let got = self.file.read_at(&mut self.buf[..8 + 2048], at).expect("pread");
        let len = u32::from_le_bytes(self.buf[..4].try_into().unwrap()) as usize;
        if 8 + len > got {
            self.buf.resize(self.buf.len().max(8 + len), 0);
            self.file.read_exact_at(&mut self.buf[..8 + len], at).expect("pread");
        }
        let crc = u32::from_le_bytes(self.buf[4..8].try_into().unwrap());
        assert_eq!(record_crc(self.buf[..4].try_into().unwrap(), &self.buf[8..8 + len]), crc);
        len
    }

    fn scan(&mut self) -> usize {
        walk(&self.file, &mut self.buf).1
    }
}

/// Walks records through 1 MiB windows, checking each CRC; returns (records, payload bytes).
fn walk(file: &File, buf: &mut Vec<u8>) -> (u64, usize) {
    let size = file.metadata().expect("metadata").len();
    let (mut win_off, mut win_len) = (0u64, 0usize);
    let (mut at, mut records, mut bytes) = (0u64, 0u64, 0usize);
    loop {
        if at + 8 > size {
            break;
        }
        if at + 8 > win_off + win_len as u64 {
            win_off = at;
            win_len = file.read_at(&mut buf[..WINDOW.min((size - at) as usize)], at).expect("pread");
        }
        let h = (at - win_off) as usize;
        let len = u32::from_le_bytes(buf[h..h + 4].try_into().unwrap()) as usize;
        if len == 0 && buf[h + 4..h + 8] == [0; 4] {
            break;
        }
        if at + 8 + len as u64 > win_off + win_len as u64 {
            if 8 + len > buf.len() {
                buf.resize(8 + len, 0);
            }
            win_off = at;
            win_len = file.read_at(&mut buf[..(8 + len).max(WINDOW.min((size - at) as usize))], at).expect("pread");
        }
        let h = (at - win_off) as usize;
        let crc = u32::from_le_bytes(buf[h + 4..h + 8].try_into().unwrap());
        if record_crc(buf[h..h + 4].try_into().unwrap(), &buf[h + 8..h + 8 + len]) != crc {
            break;
        }
        records += 1;
        bytes += len;
        at += 8 + len as u64;
    }
    (records, bytes)
}

impl Recover for RawLog {
    fn recover(path: &Path) -> u64 {
        let file = OpenOptions::new().read(true).write(true).open(path).expect("open");
        let records = walk(&file, &mut vec![0; WINDOW]).0;
        file.sync_data().expect("fdatasync");
        records
    }
}
