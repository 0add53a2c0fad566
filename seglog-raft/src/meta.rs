//! `raft.meta`: the vote, the committed id and the purge watermark, beside the segments.
//!
//! Replaced whole by write-temp (contents durable), rename, directory sync, so a crash
//! leaves the old file or the new one, never a torn one. It lives in the log directory
//! (the log ignores names it does not use, and deletes `*.tmp` at open).

use std::io;

use openraft::RaftTypeConfig;
use openraft::alias::{LogIdOf, VoteOf};
use seglog_core::LogDir;
use seglog_core::crc::crc32c;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The file's name in the log directory.
pub const META_FILE: &str = "raft.meta";
const META_TMP: &str = "raft.meta.tmp";
const MAGIC: &[u8; 8] = b"SEGRAFT1";

/// What the store keeps outside the log's records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "VoteOf<C>: Serialize, LogIdOf<C>: Serialize"))]
#[serde(bound(deserialize = "VoteOf<C>: DeserializeOwned, LogIdOf<C>: DeserializeOwned"))]
pub(crate) struct RaftMeta<C: RaftTypeConfig> {
    pub vote: Option<VoteOf<C>>,
    pub committed: Option<LogIdOf<C>>,
    pub purged: Option<LogIdOf<C>>,
}

impl<C: RaftTypeConfig> Default for RaftMeta<C> {
    fn default() -> Self {
        Self { vote: None, committed: None, purged: None }
    }
}

impl<C: RaftTypeConfig> RaftMeta<C>
where
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
{
    /// `MAGIC`, u32 payload length, postcard payload, u32 CRC32C of everything before it.
    pub fn encode(&self) -> io::Result<Vec<u8>> {
        let payload = postcard::to_stdvec(self).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(payload.len() + 16);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let crc = crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        Ok(bytes)
    }

    /// Reads the file; absent means a new store.
    pub fn load<D: LogDir>(dir: &D) -> io::Result<Self> {
        let bytes = match dir.read_file(META_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(at(dir, 0, format!("reading: {e}"))),
        };
        let bad = |offset: usize, what: &str| at(dir, offset, what.to_string());
        if bytes.get(..8) != Some(MAGIC.as_slice()) {
            return Err(bad(0, "bad magic"));
        }
        let len = bytes
            .get(8..12)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| bad(8, "too short"))? as usize;
        let end = 12 + len;
        let stored = bytes.get(end..end + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        let body = bytes.get(..end).ok_or_else(|| bad(12, "payload cut short"))?;
        if stored != Some(crc32c(body)) {
            return Err(bad(end, "checksum mismatch"));
        }
        postcard::from_bytes(body.get(12..).unwrap_or_default()).map_err(|e| bad(12, &format!("cannot decode: {e}")))
    }

    /// Replaces the file durably: once this returns, a crash finds these values.
    pub fn store<D: LogDir>(bytes: &[u8], dir: &D) -> io::Result<()> {
        dir.write_file(META_TMP, bytes).map_err(|e| at(dir, 0, format!("writing {META_TMP}: {e}")))?;
        dir.rename(META_TMP, META_FILE).map_err(|e| at(dir, 0, format!("replacing: {e}")))?;
        dir.sync().map_err(|e| at(dir, 0, format!("syncing the directory: {e}")))
    }
}

fn at<D: LogDir>(dir: &D, offset: usize, what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: offset {offset}: {what}", dir.path().join(META_FILE).display()),
    )
}
