//! The q = 2 Wasserstein matching of two persistence diagrams (SHAPR's topological
//! loss): each point of one diagram is matched to a point of the other or to its
//! projection on the diagonal, minimising the sum of squared Euclidean distances. Solved
//! exactly as an assignment problem on the diagrams augmented with each other's diagonal
//! projections (the standard construction), by the Hungarian algorithm.
//!
//! Points must be finite: the caller caps infinite deaths (e.g. at the filtration's
//! maximum) before matching.

/// Where a point of the first diagram goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Partner {
    /// The point of the second diagram with this index.
    Point(usize),
    /// Its own projection on the diagonal, ((b + d)/2, (b + d)/2).
    Diagonal,
}

/// An optimal matching and its cost.
#[derive(Clone, Debug)]
pub struct Matching {
    /// Partner of each point of the first diagram, in order.
    pub partners: Vec<Partner>,
    /// Points of the second diagram left to the diagonal.
    pub unmatched: Vec<usize>,
    /// Σ of squared distances: the squared 2-Wasserstein distance W₂².
    pub cost: f64,
}

/// Squared distance of a point to the diagonal, (d − b)² / 2.
pub fn diagonal_cost(p: (f32, f32)) -> f64 {
    let d = p.1 as f64 - p.0 as f64;
    d * d / 2.0
}

fn point_cost(a: (f32, f32), b: (f32, f32)) -> f64 {
    let (x, y) = (a.0 as f64 - b.0 as f64, a.1 as f64 - b.1 as f64);
    x * x + y * y
}

/// The optimal q = 2 matching of diagram `a` to diagram `b`.
pub fn matching(a: &[(f32, f32)], b: &[(f32, f32)]) -> Matching {
    let (n, m) = (a.len(), b.len());
    let size = n + m;
    // Rows: points of a, then the diagonal slots of b's points. Columns: points of b,
    // then the diagonal slots of a's points. A point may only use its own slot.
    const FORBIDDEN: f64 = 1e18;
    let cost = |i: usize, j: usize| -> f64 {
        match (i < n, j < m) {
            (true, true) => point_cost(a[i], b[j]),
            (true, false) if j - m == i => diagonal_cost(a[i]),
            (false, true) if i - n == j => diagonal_cost(b[j]),
            (false, false) => 0.0,
            _ => FORBIDDEN,
        }
    };
    let column_of_row = hungarian(size, cost);
    let mut partners = Vec::with_capacity(n);
    let mut total = 0.0;
    for (i, &j) in column_of_row.iter().enumerate() {
        total += cost(i, j);
        if i < n {
            partners.push(if j < m {
                Partner::Point(j)
            } else {
                Partner::Diagonal
            });
        }
    }
    let matched: Vec<bool> = {
        let mut v = vec![false; m];
        for p in &partners {
            if let Partner::Point(j) = p {
                v[*j] = true;
            }
        }
        v
    };
    Matching {
        partners,
        unmatched: (0..m).filter(|&j| !matched[j]).collect(),
        cost: total,
    }
}

/// Minimum-cost perfect assignment of an n × n cost matrix (Hungarian algorithm with
/// potentials, O(n³)); returns the column of each row.
fn hungarian(n: usize, cost: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    // 1-based arrays; column 0 is the virtual start.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut row_of = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        let mut min_to = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if used[j] {
                    continue;
                }
                let reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
                if reduced < min_to[j] {
                    min_to[j] = reduced;
                    way[j] = j0;
                }
                if min_to[j] < delta {
                    delta = min_to[j];
                    j1 = j;
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_to[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut column_of = vec![0usize; n];
    for j in 1..=n {
        if row_of[j] > 0 {
            column_of[row_of[j] - 1] = j - 1;
        }
    }
    column_of
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_diagrams_cost_nothing() {
        let d = [(0.0, 1.0), (0.2, 0.5), (0.3, 0.9)];
        let m = matching(&d, &d);
        assert!(m.cost.abs() < 1e-12);
        assert_eq!(
            m.partners,
            vec![Partner::Point(0), Partner::Point(1), Partner::Point(2)]
        );
    }

    #[test]
    fn a_short_pair_goes_to_the_diagonal() {
        // (0.4, 0.5) is 0.005 from the diagonal but 0.37 from (0, 1): diagonal wins.
        let m = matching(&[(0.0, 1.0), (0.4, 0.5)], &[(0.0, 0.9)]);
        assert_eq!(m.partners, vec![Partner::Point(0), Partner::Diagonal]);
        assert!((m.cost - (0.01 + 0.005)).abs() < 1e-6, "{}", m.cost);
        // Against an empty diagram everything goes to the diagonal.
        let e = matching(&[(0.0, 1.0)], &[]);
        assert!((e.cost - 0.5).abs() < 1e-12);
        let f = matching(&[], &[(0.0, 1.0)]);
        assert_eq!(f.unmatched, vec![0]);
        assert!((f.cost - 0.5).abs() < 1e-12);
    }
}
