//! Waking a follower when a file it watches changes: one inotify descriptor, or a short
//! sleep where inotify is not available. Both followers (a segment's and a log's) wait this
//! way; what woke them never matters, they look at the file itself afterwards.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

/// Longest sleep between looks when inotify is not available: a follower then polls.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// What a follower sleeps on: inotify events on one file, or nothing (it polls).
#[derive(Debug, Default)]
pub(crate) struct Wake(Option<OwnedFd>);

impl Wake {
    /// Watches `path` for modification, attribute changes and deletion; polls instead where
    /// inotify is not available (no inotify, out of watches, a filesystem without it).
    pub fn watch(path: &Path) -> Self {
        Self(watch(path))
    }

    /// Sleeps until the watched file changes or `max` passes; without a watch, at most
    /// [`POLL_INTERVAL`].
    pub fn sleep(&self, max: Duration) {
        let Some(fd) = &self.0 else {
            std::thread::sleep(max.min(POLL_INTERVAL));
            return;
        };
        let timeout = Timespec { tv_sec: max.as_secs() as i64, tv_nsec: i64::from(max.subsec_nanos()) };
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        if rustix::event::poll(&mut fds, Some(&timeout)).is_ok_and(|n| n > 0) {
            // Drain the queued events; what they say does not matter, the file does.
            let mut buf = [0u8; 4096];
            while rustix::io::read(fd, &mut buf).is_ok_and(|n| n > 0) {}
        }
    }
}

fn watch(path: &Path) -> Option<OwnedFd> {
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
    let events = inotify::WatchFlags::MODIFY | inotify::WatchFlags::ATTRIB | inotify::WatchFlags::DELETE_SELF;
    inotify::add_watch(&fd, path, events).ok()?;
    Some(fd)
}
