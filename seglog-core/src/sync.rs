//! Every atomic and lock core shares between threads, from one place: `std`'s normally,
//! `loom`'s under `cfg(loom)`, so the model tests in `tests/loom.rs` check the real code.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Lets other threads run while this one waits for them (a truncation waiting for readers).
#[cfg(not(loom))]
pub(crate) fn backoff(spins: u32) {
    if spins < 64 {
        std::thread::yield_now();
    } else {
        // A reader may hold a record for long: stop burning a core on it.
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Lets other threads run while this one waits for them: the model must schedule them.
#[cfg(loom)]
pub(crate) fn backoff(_spins: u32) {
    loom::thread::yield_now();
}

/// Locks `m`, ignoring poisoning: what it guards stays consistent across a panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
