//! Stratified k-fold cross-validation splits (the paper's 5-fold protocol).
//!
//! Every cell lands in exactly one test fold; each class is spread over the folds as
//! evenly as its count allows; fold sizes differ by at most one. The assignment depends
//! only on the cells' names, their strata, k and the seed — not on the order in which
//! files were listed — and uses ChaCha8, whose output is the same on every platform.

use std::collections::BTreeMap;

use rand::SeedableRng;

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The test-fold index (0..k) of each item, given as `(name, stratum)` pairs.
pub fn stratified_folds(items: &[(&str, &str)], k: usize, seed: u64) -> Result<Vec<usize>> {
    if k < 2 {
        return Err(Error::invalid(format!("need at least 2 folds, got {k}")));
    }
    if items.len() < k {
        return Err(Error::invalid(format!(
            "cannot split {} cells into {k} folds",
            items.len()
        )));
    }
    let mut strata: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, (_, stratum)) in items.iter().enumerate() {
        strata.entry(stratum).or_default().push(index);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![usize::MAX; items.len()];
    let mut next = 0;
    for members in strata.values_mut() {
        members.sort_by_key(|&i| items[i].0);
        members.shuffle(&mut rng);
        // Dealing continues where the previous stratum stopped, so fold sizes stay even.
        for &member in members.iter() {
            folds[member] = next;
            next = (next + 1) % k;
        }
    }
    Ok(folds)
}

/// Indices of the items in test fold `fold` and of the rest (the training set).
pub fn fold_indices(folds: &[usize], fold: usize) -> (Vec<usize>, Vec<usize>) {
    (0..folds.len()).partition(|&i| folds[i] == fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n_per_class: &[usize]) -> Vec<(String, String)> {
        n_per_class
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| (0..n).map(move |i| (format!("c{c}_{i:03}"), format!("class{c}"))))
            .collect()
    }

    fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }

    #[test]
    fn every_item_once_and_classes_balanced() {
        let v = items(&[55, 25, 18, 10]);
        let folds = stratified_folds(&refs(&v), 5, 42).unwrap();
        let mut sizes = [0usize; 5];
        for &f in &folds {
            sizes[f] += 1;
        }
        assert_eq!(sizes.iter().sum::<usize>(), 108);
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        for (class, n) in [(0, 55usize), (1, 25), (2, 18), (3, 10)] {
            let mut per_fold = [0usize; 5];
            for (i, (_, s)) in v.iter().enumerate() {
                if s == &format!("class{class}") {
                    per_fold[folds[i]] += 1;
                }
            }
            let (lo, hi) = (n / 5, n.div_ceil(5));
            assert!(
                per_fold.iter().all(|&c| c == lo || c == hi),
                "{class}: {per_fold:?}"
            );
        }
        let (test, train) = fold_indices(&folds, 3);
        assert_eq!(test.len() + train.len(), 108);
        assert!(test.iter().all(|i| !train.contains(i)));
    }

    #[test]
    fn independent_of_input_order_and_seeded() {
        let v = items(&[7, 5, 3]);
        let a = stratified_folds(&refs(&v), 3, 7).unwrap();
        let mut reversed: Vec<_> = refs(&v);
        reversed.reverse();
        let b = stratified_folds(&reversed, 3, 7).unwrap();
        let b: Vec<usize> = b.into_iter().rev().collect();
        assert_eq!(a, b);
        assert_ne!(a, stratified_folds(&refs(&v), 3, 8).unwrap());
    }

    /// Golden values: the same seed must give the same folds on every machine and in
    /// every release (a change here changes every published cross-validation result).
    #[test]
    fn golden_assignment() {
        let v = items(&[6, 4, 3]);
        let folds = stratified_folds(&refs(&v), 3, 2023).unwrap();
        assert_eq!(folds, GOLDEN);
    }
    const GOLDEN: [usize; 13] = [2, 1, 0, 0, 2, 1, 1, 2, 0, 0, 0, 2, 1];

    #[test]
    fn rejects_impossible_splits() {
        let v = items(&[2]);
        assert!(
            stratified_folds(&refs(&v), 1, 0)
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
        assert!(
            stratified_folds(&refs(&v), 5, 0)
                .unwrap_err()
                .to_string()
                .contains("cannot split 2 cells")
        );
    }
}
