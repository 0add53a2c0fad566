//! `Debug` for the writer and the readers, written by hand: the derived one printed every
//! buffer (a writer's is up to 256 KiB, an in-memory backend's the whole segment), which
//! buried a failing assertion's message. These print what a person debugging wants: the
//! path, the offsets, the sizes and whether the writer is poisoned.

use std::fmt;

use crate::follow::Follower;
use crate::io::SegmentIo;
use crate::reader::{Iter, Reader};
use crate::writer::Writer;

impl<B: SegmentIo> fmt::Debug for Writer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flushed = self.flushed_offset().load();
        f.debug_struct("Writer")
            .field("path", &self.io().path())
            .field("size", &self.size())
            .field("start_offset", &self.start_offset())
            .field("flushed_offset", &flushed)
            .field("write_offset", &self.write_offset())
            .field("unsynced_bytes", &self.write_offset().saturating_sub(flushed))
            .field("poisoned", &self.is_poisoned())
            .finish_non_exhaustive()
    }
}

impl<B: SegmentIo> fmt::Debug for Reader<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.io().path())
            .field("size", &self.io().size())
            .field("start_offset", &self.start_offset())
            .field("visible_end", &self.visible_end())
            .field("mapped", &self.io().mapped().is_some())
            .finish_non_exhaustive()
    }
}

impl<B: SegmentIo> fmt::Debug for Iter<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("position", &self.position()).finish_non_exhaustive()
    }
}

impl<B: SegmentIo> fmt::Debug for Follower<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("position", &self.position())
            .field("durable_end", &self.durable_end())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::RecoveryMode;

    /// A segment in memory: enough of a backend to build a writer in this crate's tests.
    #[derive(Debug)]
    struct Mem(Mutex<Vec<u8>>);

    impl SegmentIo for Mem {
        fn size(&self) -> u64 {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let at = offset as usize;
            buf.copy_from_slice(bytes.get(at..at + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?);
            Ok(())
        }

        fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let at = offset as usize;
            bytes.get_mut(at..at + data.len()).ok_or(std::io::ErrorKind::InvalidInput)?.copy_from_slice(data);
            Ok(())
        }

        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }

        fn path(&self) -> &Path {
            Path::new("<debug test>")
        }
    }

    #[test]
    fn writer_debug_is_short_and_names_the_offsets() -> crate::Result<()> {
        // Regression: the derived Debug printed the writer's whole write buffer.
        let mut w = Writer::recover(Mem(Mutex::new(vec![0; 1 << 20])), 64, RecoveryMode::Strict)?;
        w.append(&[0xab; 100_000])?;
        w.sync()?;
        w.append(&[0xcd; 10])?;
        let text = format!("{w:?}");
        assert!(text.len() < 300, "{} bytes: {text}", text.len());
        for part in [
            "path: \"<debug test>\"",
            "size: 1048576",
            "start_offset: 64",
            "flushed_offset: 100072",
            "write_offset: 100090",
            "unsynced_bytes: 18",
            "poisoned: false",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
        let mut r = w.reader();
        assert_eq!(
            format!("{r:?}"),
            "Reader { path: \"<debug test>\", size: 1048576, start_offset: 64, visible_end: 100072, mapped: false, .. }"
        );
        let mut it = r.iter(64);
        assert!(it.next_record()?.is_some());
        assert_eq!(format!("{it:?}"), "Iter { position: 100072, .. }");
        Ok(())
    }
}
