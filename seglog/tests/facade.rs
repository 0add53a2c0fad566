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

/// The same application code against each backend module, naming every type through the
/// module alone: switching backend is changing the one `use` line.
macro_rules! one_path {
    ($test:ident, $module:path) => {
        #[test]
        fn $test() -> Result<(), Box<dyn std::error::Error>> {
            use $module as backend;

            fn scan(reader: &mut backend::Reader, start: u64) -> backend::Result<Vec<(u64, Vec<u8>)>> {
                let mut iter: backend::Iter<'_> = reader.iter(start);
                let mut out = Vec::new();
                while let Some(record) = iter.next_record()? {
                    let record: backend::Record<'_> = record;
                    out.push((record.offset(), record.to_vec()));
                }
                Ok(out)
            }

            let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
            let path = dir.path().join("segment.log");
            let mut writer = backend::Writer::create_with(&path, 64 << 10, 4096, backend::Preallocation::Fallocate)?;
            let (at, _) = writer.append_batch(&[b"one", b"two"])?;
            writer.sync()?;
            let flushed: backend::FlushedOffset = writer.flushed_offset();
            let mut reader = backend::Reader::open(&path, Some(flushed))?;
            assert_eq!(&*reader.read_record(at, backend::ReadHint::Random)?, b"one");
            assert_eq!(scan(&mut reader, 4096)?, vec![(4096, b"one".to_vec()), (4107, b"two".to_vec())]);
            let mut follower: backend::Follower = backend::Follower::open(&path, 4096)?;
            assert_eq!(follower.poll()?.map(|r| r.to_vec()), Some(b"one".to_vec()));
            let full = writer.append(&vec![0; backend::MAX_PAYLOAD]);
            assert!(matches!(full, Err(backend::Error::SegmentFull { .. })));
            drop(writer);
            let report: backend::RecoveryReport = backend::verify(&path, 4096)?;
            assert_eq!((report.records, report.damage, report.end), (2, None, 4118));
            let writer = backend::Writer::open_with(&path, 4096, backend::RecoveryMode::Strict)?;
            assert!(writer.report().is_clean());
            let _: Option<(backend::Damage, backend::ValidAfter, backend::Corruption)> = None;
            assert_eq!(backend::HEADER_LEN, 8);
            Ok(())
        }
    };
}

one_path!(one_path_file, seglog::file);
#[cfg(feature = "mmap")]
one_path!(one_path_mmap, seglog::mmap);
#[cfg(feature = "direct")]
one_path!(one_path_direct, seglog::direct);
