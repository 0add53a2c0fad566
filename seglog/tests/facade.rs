//! The facade's API, exactly as the README and the seed promise it, on every backend.

use std::os::unix::fs::FileExt;

/// The seed example, written once and instantiated per backend module.
macro_rules! seed_api {
    ($test:ident, $module:path) => {
        #[test]
        fn $test() -> Result<(), Box<dyn std::error::Error>> {
            use seglog::read::ReadHint;
            use $module as backend;
            let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
            let path = dir.path().join("segment.log");
            let mut writer = backend::Writer::create(&path, 1024 * 1024, 4096)?;
            writer.file().write_all_at(b"MAGIC", 0)?;
            let (offset, on_disk): (u64, usize) = writer.append(b"event data")?;
            assert_eq!((offset, on_disk), (4096, 18));
            let flushed_at: u64 = writer.sync()?;
            let flushed: seglog::FlushedOffset = writer.flushed_offset();
            assert_eq!(flushed.load(), flushed_at);
            let mut reader = backend::Reader::open(&path, Some(flushed))?;
            let data = reader.read_record(offset, ReadHint::Random)?;
            assert_eq!(&*data, b"event data");
            drop(data); // a record borrows its reader until dropped
            let mut magic = [0u8; 5];
            reader.read_segment_header(&mut magic)?;
            assert_eq!(&magic, b"MAGIC");
            let mut other = reader.try_clone()?;
            let mut iter: backend::Iter<'_> = other.iter(4096);
            let record = iter.next_record()?.expect("one record");
            assert_eq!((record.offset(), &*record), (4096, &b"event data"[..]));
            drop(record);
            assert!(iter.next_record()?.is_none());
            assert_eq!(writer.write_offset(), 4096 + 18);
            assert_eq!(writer.remaining_bytes(), 1024 * 1024 - 4096 - 18);
            drop(writer);
            let writer = backend::Writer::open_with(&path, 4096, seglog::RecoveryMode::Strict)?;
            let report: &seglog::RecoveryReport = writer.report();
            assert_eq!((report.end, report.records, report.discarded_bytes), (4096 + 18, 1, 0));
            drop(writer);
            let mut closed = backend::Reader::open_closed(&path, 4096)?;
            assert_eq!(closed.visible_end(), 4096 + 18);
            assert!(closed.read_record(4096, ReadHint::Sequential).is_ok());
            Ok(())
        }
    };
}

seed_api!(default_backend, seglog::file);
#[cfg(feature = "mmap")]
seed_api!(mmap_backend, seglog::mmap);
#[cfg(feature = "direct")]
seed_api!(direct_backend, seglog::direct);

#[test]
fn default_modules_name_the_file_backend() {
    fn same<T>(_: Option<T>, _: Option<T>) {}
    same::<seglog::write::Writer>(None, None::<seglog::file::Writer>);
    same::<seglog::read::Reader>(None, None::<seglog::file::Reader>);
}
