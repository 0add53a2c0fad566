#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

pub mod batches;
pub mod conformance;
pub mod corruption;
pub mod crash;
mod decorate;
pub mod durability;
mod faulty;
pub mod files;
pub mod fuzz;
mod harness;
pub mod interleave;
pub mod log;
pub mod log_damage;
pub mod log_faults;
pub mod log_follow;
pub mod logcrash;
mod mem;
pub mod model;
pub mod recovery_rules;
pub mod scan;
pub mod simdir;
mod sparse;
pub mod truncation;
pub mod util;

pub use decorate::Decorator;
pub use faulty::{Faulty, Op, Plan};
pub use harness::{FileHarness, Harness, MemHarness};
pub use mem::MemIo;
pub use sparse::{Counted, Sparse, SparseHarness};

/// What the exported macros name, so a crate using them needs no import of its own.
#[doc(hidden)]
pub mod __private {
    pub use seglog_core::{Cached, SegmentIo};
}

/// Generates one `#[test]` per check of the suites, for one backend, in a module `$name`:
/// `backend_tests!(mem, MemHarness::new());`. `cargo test mem` then selects it.
///
/// It runs every check of [`conformance`], [`corruption`], [`batches`], [`truncation`] and
/// [`durability`], each as `$name::<suite>::<check>` on a harness made fresh by `$harness`
/// (an expression evaluated once per test). It does not run the [`files`] checks (see
/// [`file_backend_tests!`]), the [`crash`] explorer, the [`model`] test or the [`fuzz`]
/// targets: call those from tests of your own. The crate documentation says what passing
/// proves and what it cannot.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $harness:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__suites!($harness);
        }
    };
}

/// Everything [`backend_tests!`] runs, plus the [`files`] checks (the writer lock,
/// all-or-nothing `create`, opening by path, followers, zero-filled segments) as
/// `$name::files::<check>`; `$harness` must be a [`FileHarness`] of the backend.
#[macro_export]
macro_rules! file_backend_tests {
    ($name:ident, $harness:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__suites!($harness);
            mod files {
                #[allow(unused_imports)]
                use super::*;
                $crate::__checks!(files, $harness;
                    second_writer_is_locked_out,
                    create_is_all_or_nothing,
                    open_by_path,
                    follower_yields_only_durable_records,
                    follower_sees_truncation,
                    follower_survives_writer_crash,
                    zeroed_preallocation_makes_the_same_segment,
                    sidecar_never_claims_more_than_is_durable,
                    follower_rechecks_the_sidecar_after_reading,
                    follower_follows_a_recreated_segment,
                    hostile_sidecar_is_refused_cleanly,
                    application_header_survives_the_writer,
                    failed_create_leaves_nothing_behind,
                    follower_treats_a_replaced_sidecar_as_a_cut,
                    follower_poll_many_yields_each_durable_record_once,
                    follower_poll_many_rechecks_the_sidecar,
                );
            }
            mod interleave_files {
                #[allow(unused_imports)]
                use super::*;
                $crate::__checks!(interleave, $harness;
                    read_past_end_of_file_is_an_error_not_a_signal,
                    path_opened_handles_take_attached_hooks,
                );
            }
            mod log {
                #[allow(unused_imports)]
                use super::*;
                $crate::__checks!(log, $harness;
                    log_round_trip_across_rolls,
                    log_batches_are_never_split,
                    log_second_open_is_locked,
                    log_reads_outside_are_errors,
                    log_truncate_into_older_segment,
                    log_purge_keeps_the_rest,
                    log_reader_in_another_thread,
                    log_reader_outliving_the_log_does_not_lock_it,
                    log_reads_alternating_segments_return_each_segments_bytes,
                    log_iterator_carries_on_across_rolls,
                );
            }
            mod log_follow {
                #[allow(unused_imports)]
                use super::*;
                $crate::__checks!(log_follow, $harness;
                    log_follower_across_a_roll,
                    log_follower_across_a_truncation,
                    log_follower_across_a_purge,
                    log_follower_sees_only_durable_records,
                );
            }
            mod log_damage {
                #[allow(unused_imports)]
                use super::*;
                $crate::__checks!(log_damage, $harness;
                    log_stray_files_are_defined,
                    log_bad_files_are_named,
                    log_crash_leftovers_never_resurrect,
                    log_strict_refuses_tail_damage,
                    log_default_erases_only_a_torn_tail,
                    log_verify_walks_every_segment,
                    log_unaligned_segment_size_is_refused,
                );
            }
        }
    };
}

/// The one list of checks in the two suites.
#[doc(hidden)]
#[macro_export]
macro_rules! __suites {
    ($harness:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(conformance, $harness;
                append_sync_read,
                offsets_chain_for_all_sizes,
                start_offset_and_segment_header,
                unsynced_records_are_invisible,
                live_iterator_sees_later_syncs,
                reopen_keeps_synced_records,
                full_segment_refuses_and_stays_usable,
                oversized_record_is_refused,
                bad_read_offsets_are_errors,
                concurrent_readers_see_only_synced_records,
                closed_reader_is_bounded_by_valid_records,
                start_offset_past_end_is_refused,
                verify_reports_without_writing,
                reads_batch_backend_calls,
            );
        }
        mod corruption {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(corruption, $harness;
                torn_tail_at_every_byte,
                no_resurrection_after_aligned_append,
                strict_refuses_and_changes_nothing,
                mid_log_flip_is_reported,
                lost_write_is_reported,
                hostile_headers,
                random_bytes_never_panic,
                read_error_during_recovery_is_returned,
                failed_sync_poisons,
                failed_write_poisons,
                recovery_erases_then_syncs,
                garbage_beyond_budget_is_unknown,
            );
        }
        mod batches {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(batches, $harness;
                batch_round_trip,
                oversized_batch_is_refused_whole,
                torn_batch_is_all_or_nothing,
                batch_with_lost_middle_is_reported,
            );
        }
        mod truncation {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(truncation, $harness;
                truncate_then_append_lands_at_cut,
                truncate_rejects_non_boundaries,
                readers_follow_a_truncation,
                failed_truncation_poisons,
            );
        }
        mod durability {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(durability, $harness;
                sync_leaves_no_dirty_pages,
                power_loss_keeps_synced_records,
            );
        }
        mod interleave {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(interleave, $harness;
                reader_never_returns_unsynced_record_after_truncate,
                iterator_reports_truncation_during_read,
                mapped_record_survives_truncation,
                readers_see_only_durable_records_under_stress,
            );
        }
        mod recovery_rules {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(recovery_rules, $harness;
                default_refuses_damage_below_durable_end,
                zeroed_durable_records_are_not_reported_clean,
                default_erases_what_a_crash_leaves,
                text_is_not_a_segment,
                empty_file_is_not_a_segment,
                wrong_start_offset_is_named,
                scan_reads_only_what_may_hold_data,
                valid_record_past_a_hole_is_found,
                scan_leaves_the_page_cache_as_it_found_it,
                cached_zeros_past_the_records_are_not_read,
            );
        }
        mod scan {
            #[allow(unused_imports)]
            use super::*;
            $crate::__checks!(scan, $harness;
                scan_notices_truncation_between_records_of_one_window,
                scan_sees_truncation_at_every_point,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __checks {
    ($suite:ident, $harness:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let mut harness = $harness;
                $crate::$suite::$check(&mut harness);
            }
        )*
    };
}
