#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod index;
mod meta;
mod state;
mod store;
mod worker;

pub use meta::META_FILE;
pub use store::{LogStore, LogStoreReader};
