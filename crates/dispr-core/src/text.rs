//! Words for numbers, and dates, in messages and reports.

/// `n` and the noun, plural unless `n` is 1: `1 cell`, `5 cells`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

/// The first three of `names`, comma-separated, with ", …" when there are more (for a
/// message that names a few of many).
pub fn first_few<S: AsRef<str>>(names: &[S]) -> String {
    let shown: Vec<&str> = names.iter().take(3).map(AsRef::as_ref).collect();
    let more = if names.len() > 3 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// A moment as UTC ISO 8601, `2026-12-02T06:11:17Z`.
pub fn utc_iso8601(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_iso_8601() {
        let at =
            |s: u64| super::utc_iso8601(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // date -u -d @1796192477 +%FT%TZ
        assert_eq!(at(1_796_192_477), "2026-12-02T06:21:17Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn one_is_singular() {
        assert_eq!(super::count(1, "cell"), "1 cell");
        assert_eq!(super::count(0, "sample"), "0 samples");
        assert_eq!(super::count(12, "cell"), "12 cells");
    }

    #[test]
    fn a_few_of_many_names() {
        assert_eq!(super::first_few(&["a", "b"]), "a, b");
        assert_eq!(super::first_few(&["a", "b", "c"]), "a, b, c");
        assert_eq!(super::first_few(&["a", "b", "c", "d"]), "a, b, c, …");
    }
}
