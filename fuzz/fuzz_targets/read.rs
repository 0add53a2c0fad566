//! Reads the input as a closed segment, at boundaries and at offsets it names; see
//! `seglog_testkit::fuzz::read`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| seglog_testkit::fuzz::read(data));
