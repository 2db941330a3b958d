//! One of N parts of a prediction run (`dispr predict --shard K/N`), for clusters: the
//! cells are sorted by name and dealt out in turn, so a shard's cells depend only on the
//! names (never on file order) and the N shards differ in size by at most one cell.
//! Each cell's random draws are seeded by its name and the run seed alone, so a cell's
//! prediction is the same whichever shard predicts it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (1 ≤ index ≤ count), written `K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, from 1 (SLURM's `$SLURM_ARRAY_TASK_ID` of `--array=1-N`).
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`; the problem when `index` is not in 1..=count.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("a run has at least one shard (K/N with N ≥ 1)".into());
        }
        if index == 0 || index > count {
            return Err(format!(
                "shard {index}/{count} does not exist: K/N needs 1 ≤ K ≤ N"
            ));
        }
        Ok(Self { index, count })
    }

    /// The name of the shard's folder inside the run's output folder, `shard-K-of-N`.
    pub fn folder(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// The shard a folder name such as `shard-2-of-4` stands for.
    pub fn from_folder(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("shard-")?;
        let (k, n) = rest.split_once("-of-")?;
        Self::new(k.parse().ok()?, n.parse().ok()?).ok()
    }

    /// Which of `names` (all the run's cells) this shard predicts, in their given order:
    /// the cells at positions K − 1, K − 1 + N, … of the names sorted.
    pub fn take(self, names: &[&str]) -> Vec<bool> {
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(names[b]));
        let mut mine = vec![false; names.len()];
        for (position, &i) in order.iter().enumerate() {
            mine[i] = position % self.count == self.index - 1;
        }
        mine
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `K/N`, e.g. `3/4`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not a shard: write K/N, e.g. 1/4"))?;
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{s}' is not a shard: K and N of K/N are whole numbers"))
        };
        Self::new(number(k)?, number(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_cells_by_name_whatever_their_order() {
        let names: Vec<String> = (0..23).map(|i| format!("cell{i:02}")).collect();
        let forward: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let mut seen = vec![0; names.len()];
        for k in 1..=4 {
            let shard = Shard::new(k, 4).unwrap();
            let a: Vec<&str> = forward
                .iter()
                .zip(shard.take(&forward))
                .filter_map(|(n, m)| m.then_some(*n))
                .collect();
            let mut b: Vec<&str> = backward
                .iter()
                .zip(shard.take(&backward))
                .filter_map(|(n, m)| m.then_some(*n))
                .collect();
            b.reverse();
            assert_eq!(a, b, "shard {shard} depends on the order");
            assert!((5..=6).contains(&a.len()), "{shard}: {} cells", a.len());
            for n in a {
                seen[forward.iter().position(|x| *x == n).unwrap()] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
    }

    #[test]
    fn shards_parse_and_name_their_folders() {
        let s: Shard = "3/4".parse().unwrap();
        assert_eq!(s, Shard { index: 3, count: 4 });
        assert_eq!(s.folder(), "shard-3-of-4");
        assert_eq!(Shard::from_folder("shard-3-of-4"), Some(s));
        assert_eq!(Shard::from_folder("shard-5-of-4"), None);
        assert_eq!(Shard::from_folder("probability"), None);
        for bad in ["0/4", "5/4", "1/0", "a/4", "3", "-1/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("0/4".parse::<Shard>().unwrap_err().contains("1 ≤ K ≤ N"));
    }
}
