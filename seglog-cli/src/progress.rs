//! Progress bars on stderr that appear only for work that takes over a second.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before its bar appears: quick commands stay quiet.
const DELAY: Duration = Duration::from_secs(1);

/// A progress bar (or spinner) drawn on stderr once [`DELAY`] has passed, and only when
/// stderr is a terminal. Cleared when dropped.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    /// Dropping the sender wakes the thread that would reveal the bar.
    reveal: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    /// A bar over `len` bytes of work.
    pub fn bytes(len: u64, message: &str) -> Self {
        let style = ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        Self::start(ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden()).with_style(style), message)
    }

    /// A bar over `len` items (records).
    pub fn items(len: u64, message: &str) -> Self {
        let style = ProgressStyle::with_template("{msg} [{bar:40}] {human_pos}/{human_len} eta {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        Self::start(ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden()).with_style(style), message)
    }

    /// A spinner, for one library call that reports no progress of its own.
    pub fn spinner(message: &str) -> Self {
        let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Self::start(ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(style), message)
    }

    /// A bar that is never drawn, for output that would interleave with it.
    pub fn hidden() -> Self {
        Self { bar: ProgressBar::hidden(), reveal: None }
    }

    /// Records how far the work has got.
    pub fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    fn start(bar: ProgressBar, message: &str) -> Self {
        bar.set_message(message.to_string());
        if !std::io::stderr().is_terminal() {
            return Self { bar, reveal: None };
        }
        let (done, wait) = mpsc::channel::<()>();
        let shown = bar.clone();
        let thread = std::thread::spawn(move || {
            if wait.recv_timeout(DELAY) == Err(RecvTimeoutError::Timeout) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(100));
                // Returns when the sender is dropped: the work is done.
                let _ = wait.recv();
            }
        });
        Self { bar, reveal: Some((done, thread)) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((done, thread)) = self.reveal.take() {
            drop(done);
            // The thread only draws; if it panicked there is nothing to undo.
            let _ = thread.join();
        }
        self.bar.finish_and_clear();
    }
}
