//! Paired comparisons per cell: is a method better than a baseline on the same cells?
//! n is cells, not pooled samples: a method's value for a cell is the mean over its
//! samples (or its one prediction). For each cell, d = method − baseline; reported are
//! the median of d with a 95 % bootstrap interval (cells resampled with replacement), the
//! share of cells where the method is better, and the two-sided Wilcoxon signed-rank p
//! (normal approximation with the tie correction, zero differences dropped: scipy's
//! `wilcoxon(d, method="approx", correction=False)`).

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::experiment::evaluation::{Record, median};

/// Bootstrap rounds of the interval.
pub const BOOTSTRAP_ROUNDS: usize = 2000;
/// Seed of the bootstrap (fixed: the same report twice gives the same intervals).
pub const BOOTSTRAP_SEED: u64 = 0;

/// One paired comparison of a method with a baseline on one metric.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairedComparison {
    /// The method.
    pub method: String,
    /// The baseline it is compared with.
    pub baseline: String,
    /// Table 1 column (`volume`, …, `iou`, `dice`).
    pub metric: String,
    /// Cells both have a value for.
    pub cells: usize,
    /// Median over cells of (method − baseline).
    pub median_difference: f64,
    /// 2.5th percentile of the bootstrap medians.
    pub ci_low: f64,
    /// 97.5th percentile of the bootstrap medians.
    pub ci_high: f64,
    /// Share of cells where the method is better (lower error, higher overlap).
    pub better_share: f64,
    /// Two-sided Wilcoxon signed-rank p.
    pub wilcoxon_p: f64,
}

impl PairedComparison {
    /// True when the interval lies entirely on the method's better side of zero.
    pub fn significantly_better(&self) -> bool {
        if higher_is_better(&self.metric) {
            self.ci_low > 0.0
        } else {
            self.ci_high < 0.0
        }
    }
}

/// IoU and Dice are better high; errors are better low.
pub fn higher_is_better(metric: &str) -> bool {
    matches!(metric, "iou" | "dice")
}

/// A method's value per cell on `metric`: the mean of its records of that cell.
pub fn per_cell(records: &[Record], method: &str, metric: &str) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for r in records.iter().filter(|r| r.method == method) {
        if let Some(v) = r.metric(metric) {
            let e = sums.entry(r.cell.clone()).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(c, (s, n))| (c, s / n as f64))
        .collect()
}

/// Two-sided p of the Wilcoxon signed-rank test of `d` against 0 (see the module docs);
/// 1 when every difference is zero.
pub fn wilcoxon_p(d: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return 1.0;
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let (mut w_plus, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        for x in &nonzero[i..=j] {
            if *x > 0.0 {
                w_plus += rank;
            }
        }
        i = j + 1;
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = (w_plus - mean) / var.sqrt();
    libm::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// The 95 % bootstrap interval of `statistic` over `values` (not empty): the 2.5th and
/// 97.5th percentiles of the statistic of [`BOOTSTRAP_ROUNDS`] resamples with
/// replacement (seed [`BOOTSTRAP_SEED`]; percentiles interpolated at q·(B − 1), as
/// numpy does).
pub fn bootstrap_interval(values: &[f64], statistic: impl Fn(&mut [f64]) -> f64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut stats: Vec<f64> = (0..BOOTSTRAP_ROUNDS)
        .map(|_| {
            let mut pick: Vec<f64> = (0..values.len())
                .map(|_| values[rng.random_range(0..values.len())])
                .collect();
            statistic(&mut pick)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (BOOTSTRAP_ROUNDS - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos.fract());
        let hi = (lo + 1).min(BOOTSTRAP_ROUNDS - 1);
        stats[lo] + frac * (stats[hi] - stats[lo])
    };
    (at(0.025), at(0.975))
}

/// Two-sided exact p of McNemar's test for paired right/wrong outcomes: `gained` cells
/// wrong before and right after, `lost` the reverse (scipy's
/// `binomtest(min(gained, lost), gained + lost, 0.5).pvalue`); 1 with no discordant cell.
pub fn mcnemar_exact_p(gained: usize, lost: usize) -> f64 {
    let n = gained + lost;
    if n == 0 {
        return 1.0;
    }
    let k = gained.min(lost);
    // log C(n, i) summed in the log domain, so a thousand cells do not overflow.
    let ln_choose = |i: usize| {
        libm::lgamma(n as f64 + 1.0)
            - libm::lgamma(i as f64 + 1.0)
            - libm::lgamma((n - i) as f64 + 1.0)
    };
    let tail: f64 = (0..=k)
        .map(|i| (ln_choose(i) - n as f64 * std::f64::consts::LN_2).exp())
        .sum();
    (2.0 * tail).min(1.0)
}

/// Compares `method` with `baseline` on `metric` over the cells both have; `None` when
/// they share no cell.
pub fn compare(
    records: &[Record],
    method: &str,
    baseline: &str,
    metric: &str,
) -> Option<PairedComparison> {
    let a = per_cell(records, method, metric);
    let b = per_cell(records, baseline, metric);
    let d: Vec<f64> = a
        .iter()
        .filter_map(|(cell, x)| b.get(cell).map(|y| x - y))
        .collect();
    if d.is_empty() {
        return None;
    }
    let (ci_low, ci_high) = bootstrap_interval(&d, median);
    let higher = higher_is_better(metric);
    let better = d
        .iter()
        .filter(|&&x| if higher { x > 0.0 } else { x < 0.0 })
        .count();
    Some(PairedComparison {
        method: method.to_string(),
        baseline: baseline.to_string(),
        metric: metric.to_string(),
        cells: d.len(),
        median_difference: median(&mut d.clone()),
        ci_low,
        ci_high,
        better_share: better as f64 / d.len() as f64,
        wilcoxon_p: wilcoxon_p(&d),
    })
}

/// Every method (not a baseline) against every baseline on every Table 1 metric.
pub fn compare_all(
    records: &[Record],
    methods: &[&str],
    baselines: &[&str],
) -> Vec<PairedComparison> {
    let mut out = Vec::new();
    for m in methods.iter().filter(|m| !baselines.contains(m)) {
        for b in baselines {
            for metric in crate::experiment::evaluation::TABLE_METRICS {
                out.extend(compare(records, m, b, metric));
            }
        }
    }
    out
}

/// The paired comparisons in Markdown.
pub fn paired_markdown(rows: &[PairedComparison]) -> String {
    let mut s = String::from(
        "| method | baseline | metric | cells | median difference [95 % bootstrap interval] | method better in | Wilcoxon p |\n|---|---|---|---:|---|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:+.3} [{:+.3}, {:+.3}]{} | {:.0} % | {:.2e} |\n",
            r.method,
            r.baseline,
            r.metric,
            r.cells,
            r.median_difference,
            r.ci_low,
            r.ci_high,
            if r.significantly_better() {
                " **better**"
            } else {
                ""
            },
            100.0 * r.better_share,
            r.wilcoxon_p
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_scipy_binomtest() {
        // scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue
        for (gained, lost, p) in [
            (1, 6, 0.125),
            (0, 5, 0.0625),
            (3, 3, 1.0),
            (25, 10, 0.01667384780012071),
            (40, 60, 0.05688793364098079),
            (0, 0, 1.0),
        ] {
            let got = mcnemar_exact_p(gained, lost);
            assert!((got - p).abs() < 1e-9, "{gained}/{lost}: {got} vs {p}");
        }
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        // scipy.stats.wilcoxon(d, method="approx", correction=False).pvalue
        // (scripts/fixtures/make_paired_fixtures.py prints these).
        let cases: [(&[f64], f64); 3] = [
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -8.0],
                0.16142946236708333,
            ),
            (
                &[0.5, -0.5, 1.5, 2.0, 2.0, -3.0, 0.0, 4.0, 4.0, 4.0],
                0.07402254292538106,
            ),
            (
                &[
                    -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0, -10.0, -11.0, -12.0,
                ],
                0.002217721464237049,
            ),
        ];
        for (d, p) in cases {
            assert!(
                (wilcoxon_p(d) - p).abs() < 1e-12,
                "{d:?}: {} vs {p}",
                wilcoxon_p(d)
            );
        }
        assert_eq!(wilcoxon_p(&[0.0, 0.0]), 1.0);
    }
}
