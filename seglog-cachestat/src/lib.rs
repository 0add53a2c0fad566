#![doc = include_str!("../README.md")]

use std::io;
use std::os::fd::AsFd;

/// Page-cache state of a file range, in pages, as `cachestat(2)` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCacheStat {
    /// Pages of the range in the page cache.
    pub cached: u64,
    /// Cached pages modified since they were last written back.
    pub dirty: u64,
    /// Cached pages being written back now.
    pub writeback: u64,
    /// Pages of the range evicted from the cache.
    pub evicted: u64,
    /// Evicted pages that were recently in use.
    pub recently_evicted: u64,
}

/// The page-cache state of `len` bytes of `file` from `offset` (`None`: to the end of the
/// file). Fails with `io::ErrorKind::Unsupported` where the kernel or the platform has no
/// `cachestat(2)` (Linux before 6.5, or a sandbox that filters it).
pub fn cachestat(file: &impl AsFd, offset: u64, len: Option<u64>) -> io::Result<PageCacheStat> {
    imp::cachestat(file, offset, len)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd};

    use linux_raw_sys::general::{__NR_cachestat, cachestat, cachestat_range};

    use super::PageCacheStat;

    pub(super) fn cachestat(file: &impl AsFd, offset: u64, len: Option<u64>) -> io::Result<PageCacheStat> {
        let fd = file.as_fd();
        // `len` 0 asks for everything from `offset` to the end of the file.
        let range = cachestat_range { off: offset, len: len.unwrap_or(0) };
        let mut stat = cachestat { nr_cache: 0, nr_dirty: 0, nr_writeback: 0, nr_evicted: 0, nr_recently_evicted: 0 };
        #[expect(unsafe_code, reason = "no safe crate wraps cachestat(2); this is its one call")]
        // SAFETY: `cachestat(fd, range, stat, flags)` reads one `cachestat_range` and writes
        // one `cachestat`; both pointers come from live, properly aligned locals of exactly
        // the kernel's types (linux-raw-sys's bindings of the uapi header), and `fd` is
        // borrowed from `file`, so it stays open for the call. Flags must be 0.
        let ret = unsafe {
            libc::syscall(
                libc::c_long::from(__NR_cachestat),
                fd.as_raw_fd(),
                &range as *const cachestat_range,
                &mut stat as *mut cachestat,
                0 as libc::c_uint,
            )
        };
        if ret != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                // No such system call here, or a seccomp filter refusing it.
                Some(libc::ENOSYS) | Some(libc::EPERM) => {
                    io::Error::new(io::ErrorKind::Unsupported, format!("cachestat(2) is not available: {e}"))
                }
                _ => e,
            });
        }
        Ok(PageCacheStat {
            cached: stat.nr_cache,
            dirty: stat.nr_dirty,
            writeback: stat.nr_writeback,
            evicted: stat.nr_evicted,
            recently_evicted: stat.nr_recently_evicted,
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::os::fd::AsFd;

    use super::PageCacheStat;

    pub(super) fn cachestat(_: &impl AsFd, _: u64, _: Option<u64>) -> io::Result<PageCacheStat> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "cachestat(2) exists only on Linux"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;

    #[test]
    fn sees_dirty_pages_until_they_are_synced() -> io::Result<()> {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?;
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(dir.path().join("f"))?;
        file.write_all_at(&[7; 3 * 4096], 0)?;
        let before = match cachestat(&file, 0, None) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                eprintln!("skipped: {e}");
                return Ok(());
            }
            other => other?,
        };
        // Background writeback may have started, never finished, on pages this fresh.
        assert!(before.dirty + before.writeback >= 1, "{before:?}");
        assert!(before.cached >= 3, "{before:?}");
        file.sync_data()?;
        let after = cachestat(&file, 0, None)?;
        assert_eq!((after.dirty, after.writeback), (0, 0), "{after:?}");
        assert_eq!(cachestat(&file, 4096, Some(4096))?.cached, 1);
        Ok(())
    }
}
