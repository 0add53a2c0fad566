//! Human byte sizes: parsing `1GiB`, `64MiB`, `100B`, `4k`, and printing them back.

/// Multipliers by unit, compared case-insensitively. One letter, or the IEC `KiB` form,
/// means a power of 1024, as in `dd` and `fio` (`4k` is 4096); the SI `kB`/`MB` forms mean
/// powers of 1000, since that is what they are on a disk's label.
const UNITS: &[(&str, u64)] = &[
    ("", 1),
    ("b", 1),
    ("k", 1 << 10),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("kb", 1_000),
    ("m", 1 << 20),
    ("mi", 1 << 20),
    ("mib", 1 << 20),
    ("mb", 1_000_000),
    ("g", 1 << 30),
    ("gi", 1 << 30),
    ("gib", 1 << 30),
    ("gb", 1_000_000_000),
    ("t", 1 << 40),
    ("ti", 1 << 40),
    ("tib", 1 << 40),
    ("tb", 1_000_000_000_000),
];

/// Parses a byte count: digits (`_` allowed between them), optional spaces, then an
/// optional unit from [`UNITS`]. Used as a clap `value_parser`, so the error is a
/// sentence clap prints after the argument's name.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: String = number.chars().filter(|&c| c != '_').collect();
    if number.is_empty() {
        return Err(format!("`{text}` is not a size: expected a whole number with an optional unit, like 64MiB or 4k"));
    }
    let unit = unit.trim_start();
    let Some(&(_, multiplier)) = UNITS.iter().find(|(name, _)| name.eq_ignore_ascii_case(unit)) else {
        return Err(format!(
            "unknown size unit `{unit}`: use B, k/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or kB, MB, GB, TB"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is too large: sizes go up to {} bytes", u64::MAX))
}

/// Formats `bytes` in the largest binary unit that keeps the number at least 1, with one
/// decimal where it is not whole: `4 KiB`, `1.5 MiB`, `100 B`.
pub fn format_size(bytes: u64) -> String {
    const NAMES: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit + 1 < NAMES.len() && bytes >= 1u64 << (10 * (unit + 1)) {
        unit += 1;
    }
    let name = NAMES.get(unit).copied().unwrap_or("B");
    let scale = 1u64 << (10 * unit);
    if bytes.is_multiple_of(scale) {
        format!("{} {name}", bytes / scale)
    } else {
        format!("{:.1} {name}", bytes as f64 / scale as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_bytes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("200_000"), Ok(200_000));
        assert_eq!(parse_size(" 42 "), Ok(42));
    }

    #[test]
    fn units_from_the_brief() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("4k"), Ok(4096));
    }

    #[test]
    fn units_ignore_case_and_allow_a_space() {
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("4kib"), Ok(4096));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert_eq!(parse_size("3gi"), Ok(3 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("7b"), Ok(7));
    }

    #[test]
    fn si_units_are_decimal() {
        assert_eq!(parse_size("1kB"), Ok(1_000));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
    }

    #[test]
    fn malformed_sizes_are_refused_with_a_reason() {
        for bad in ["", "MiB", "-1", "1.5GiB", "12 parsecs", "0x10", "1 k b"] {
            let err = parse_size(bad).expect_err(bad);
            assert!(err.contains("size") || err.contains("unit"), "{bad}: {err}");
        }
        assert_eq!(
            parse_size("1.5GiB"),
            Err("unknown size unit `.5GiB`: use B, k/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or kB, MB, GB, TB"
                .to_string())
        );
    }

    #[test]
    fn overflow_is_refused_not_wrapped() {
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("16777216TiB").is_err());
        assert_eq!(parse_size("16777215TiB"), Ok(16_777_215 << 40));
    }

    #[test]
    fn formats_in_the_largest_whole_unit() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(100), "100 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(4096), "4 KiB");
        assert_eq!(format_size(1536 << 10), "1.5 MiB");
        assert_eq!(format_size(1 << 30), "1 GiB");
        assert_eq!(format_size(3 << 40), "3 TiB");
        assert_eq!(format_size(1 << 50), "1024 TiB");
    }

    #[test]
    fn formatted_whole_sizes_parse_back() {
        for n in [0, 7, 4096, 64 << 20, 1 << 30] {
            assert_eq!(parse_size(&format_size(n)), Ok(n));
        }
    }
}
