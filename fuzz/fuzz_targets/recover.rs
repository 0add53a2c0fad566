//! Recovers the input as a whole segment, in every mode; see `seglog_testkit::fuzz::recover`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| seglog_testkit::fuzz::recover(data));
