//! Decodes a record header at every byte of the input; see `seglog_testkit::fuzz::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| seglog_testkit::fuzz::decode(data));
