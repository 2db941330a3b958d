//! Words for numbers in messages and reports.

/// `n` and the noun, plural unless `n` is 1: `1 cell`, `5 cells`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::count(1, "cell"), "1 cell");
        assert_eq!(super::count(0, "sample"), "0 samples");
        assert_eq!(super::count(12, "cell"), "12 cells");
    }
}
