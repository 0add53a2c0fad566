//! Saying what a [`RecoveryReport`] means, for people and for scripts.

use seglog::{Damage, RecoveryReport, ValidAfter};
use serde::Serialize;

use crate::exit;

/// How a segment's records end, which decides `verify`'s exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The records end cleanly and only zeros follow.
    Clean,
    /// Damage with no valid record after it: a torn last write, erased without loss.
    Torn,
    /// Damage with valid records after it, or ones the scan could not rule out.
    Damaged,
}

impl Tail {
    /// Classifies `report`.
    pub fn of(report: &RecoveryReport) -> Self {
        match report.damage {
            None => Tail::Clean,
            Some(Damage { valid_after: ValidAfter::None, .. }) => Tail::Torn,
            Some(_) => Tail::Damaged,
        }
    }

    /// The word scripts see: `clean`, `torn` or `damaged`.
    pub fn name(self) -> &'static str {
        match self {
            Tail::Clean => "clean",
            Tail::Torn => "torn",
            Tail::Damaged => "damaged",
        }
    }

    /// `verify`'s exit code for this tail.
    pub fn exit_code(self) -> u8 {
        match self {
            Tail::Clean => exit::OK,
            Tail::Torn => exit::TORN,
            Tail::Damaged => exit::DAMAGED,
        }
    }
}

/// `1 record`, `2 records`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// One line: the records, where they end, and the state of what follows them.
pub fn describe(report: &RecoveryReport) -> String {
    format!("{}, end {}: {}", count(report.records, "record"), report.end, tail_state(report))
}

/// What follows the records: `clean`, or the damage, its reason and the bytes at risk.
pub fn tail_state(report: &RecoveryReport) -> String {
    let Some(damage) = report.damage else {
        return "clean".to_string();
    };
    let at_risk = count(report.discarded_bytes, "byte");
    let (offset, reason) = (damage.offset, damage.reason);
    match damage.valid_after {
        ValidAfter::None => format!("torn tail at offset {offset} ({reason}), {at_risk} at risk"),
        ValidAfter::Found { offset: next } => format!(
            "damaged mid-log at offset {offset} ({reason}), a valid record follows at offset {next}, {at_risk} at risk"
        ),
        ValidAfter::Unknown => format!(
            "damaged mid-log at offset {offset} ({reason}), valid records after it cannot be ruled out, {at_risk} at risk"
        ),
    }
}

/// One line: what `seglog recover` would do to this segment.
pub fn plan(report: &RecoveryReport) -> String {
    let (bytes, end) = (count(report.discarded_bytes, "byte"), report.end);
    let kept = if report.records == 0 { "no records".to_string() } else { count(report.records, "record") };
    match Tail::of(report) {
        Tail::Clean => "recover would change nothing".to_string(),
        Tail::Torn if report.records == 0 => {
            format!("recover would erase the {bytes} from offset {end}, leaving no records; --strict would do the same")
        }
        Tail::Torn => {
            format!(
                "recover would erase the {bytes} from offset {end} and keep the {kept} before it; --strict would do the same"
            )
        }
        Tail::Damaged => format!(
            "recover would refuse and change nothing; recover --force would erase the {bytes} from offset {end}, keeping {kept} before it and discarding the valid records past the damage"
        ),
    }
}

/// One line: what a writer's recovery did, given the report it returned.
pub fn done(report: &RecoveryReport) -> String {
    let (bytes, end) = (count(report.discarded_bytes, "byte"), report.end);
    match Tail::of(report) {
        Tail::Clean => "nothing to erase".to_string(),
        Tail::Torn => format!("erased the {bytes} from offset {end}"),
        Tail::Damaged => format!("erased the {bytes} from offset {end}, discarding the valid records past the damage"),
    }
}

/// The summary object that ends `dump --format json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Always `"summary"`, to tell it from the record objects.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where the records start.
    pub start_offset: u64,
    /// The end of the valid records: where the next append goes.
    pub end: u64,
    /// Valid records in `[start_offset, end)`.
    pub records: u64,
    /// `clean`, `torn` or `damaged`.
    pub tail: &'static str,
    /// Bytes from `end` to the last non-zero byte, which recovery erases.
    pub discarded_bytes: u64,
    /// The damage at `end`, or `null` when the tail is clean.
    pub damage: Option<DamageJson>,
}

/// [`Damage`] for JSON.
#[derive(Debug, Serialize)]
pub struct DamageJson {
    /// Where the damage is: the end of the valid records.
    pub offset: u64,
    /// What is wrong there, in words.
    pub reason: String,
    /// `none`, `found` or `unknown`.
    pub valid_after: &'static str,
    /// The first valid record found past the damage, when `valid_after` is `found`.
    pub valid_after_offset: Option<u64>,
}

impl Summary {
    /// The summary of `report`.
    pub fn of(report: &RecoveryReport) -> Self {
        Self {
            kind: "summary",
            start_offset: report.start_offset,
            end: report.end,
            records: report.records,
            tail: Tail::of(report).name(),
            discarded_bytes: report.discarded_bytes,
            damage: report.damage.map(|d| {
                let (valid_after, valid_after_offset) = match d.valid_after {
                    ValidAfter::None => ("none", None),
                    ValidAfter::Found { offset } => ("found", Some(offset)),
                    ValidAfter::Unknown => ("unknown", None),
                };
                DamageJson { offset: d.offset, reason: d.reason.to_string(), valid_after, valid_after_offset }
            }),
        }
    }
}
