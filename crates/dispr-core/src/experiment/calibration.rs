//! Is a predicted distribution honest? For a method that gives several samples per cell,
//! and for each measure (volume, surface area, roughness, curvature): how often the
//! truth lies within the range of a cell's samples (a sample equal to the truth counts
//! as below or above it at random, seeded) (coverage; (S − 1)/(S + 1) if the
//! samples and the truth were drawn from one distribution, 0.67 for S = 5), and the rank
//! histogram — how many of a cell's samples lie below the truth, counted over cells
//! (flat if calibrated; piled at 0 or S if the samples sit to one side). n is cells.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::experiment::evaluation::{Prediction, Record};

/// Seed of the random placement of ties (fixed: the same report twice is the same).
const TIE_SEED: u64 = 0;
use crate::shape::metrics::Measure;

/// Calibration of one method on one measure.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Calibration {
    /// Method name.
    pub method: String,
    /// Measure name.
    pub measure: String,
    /// Samples per cell (cells with another count are left out).
    pub samples: usize,
    /// Cells counted.
    pub cells: usize,
    /// Share of cells whose truth lies within the range of their samples (strictly
    /// inside, ties with a sample placed at random).
    pub coverage: f64,
    /// The coverage a calibrated method has: (S − 1) / (S + 1).
    pub expected: f64,
    /// `ranks[r]`: cells with exactly r samples below the truth (r = 0 ..= S); one
    /// space-separated field in CSV.
    #[serde(serialize_with = "space_separated")]
    pub ranks: Vec<usize>,
}

fn space_separated<S: serde::Serializer>(v: &[usize], s: S) -> Result<S::Ok, S::Error> {
    let text: Vec<String> = v.iter().map(usize::to_string).collect();
    s.serialize_str(&text.join(" "))
}

/// The calibration of every method with several samples per cell, per measure, in the
/// order methods first appear.
pub fn calibration(records: &[Record]) -> Vec<Calibration> {
    let mut methods: Vec<&str> = Vec::new();
    for r in records {
        if matches!(r.prediction, Prediction::Sample(_)) && !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let mut out = Vec::new();
    for method in methods {
        // cell → its sample records, in order of appearance.
        let mut cells: Vec<(&str, Vec<&Record>)> = Vec::new();
        for r in records
            .iter()
            .filter(|r| r.method == method && matches!(r.prediction, Prediction::Sample(_)))
        {
            match cells.iter_mut().find(|(c, _)| *c == r.cell) {
                Some((_, v)) => v.push(r),
                None => cells.push((&r.cell, vec![r])),
            }
        }
        let s = most_common(cells.iter().map(|(_, v)| v.len()));
        let mut rng = ChaCha8Rng::seed_from_u64(TIE_SEED);
        for measure in Measure::ALL {
            let mut ranks = vec![0usize; s + 1];
            let (mut counted, mut covered) = (0usize, 0usize);
            for (_, samples) in cells.iter().filter(|(_, v)| v.len() == s) {
                let Some(truth) = measure.of(&samples[0].truth) else {
                    continue;
                };
                let values: Option<Vec<f64>> =
                    samples.iter().map(|r| measure.of(&r.predicted)).collect();
                let Some(values) = values else { continue };
                // Samples equal to the truth (volume and roughness are integers) are
                // put below or above it at random, so ties bias neither the ranks nor
                // the coverage; inside the range = neither rank 0 nor rank S.
                let below = values.iter().filter(|&&v| v < truth).count();
                let equal = values.iter().filter(|&&v| v == truth).count();
                let rank = below + rng.random_range(0..=equal);
                ranks[rank] += 1;
                counted += 1;
                covered += (0 < rank && rank < s) as usize;
            }
            if counted == 0 {
                continue;
            }
            out.push(Calibration {
                method: method.to_string(),
                measure: measure.name().to_string(),
                samples: s,
                cells: counted,
                coverage: covered as f64 / counted as f64,
                expected: (s as f64 - 1.0) / (s as f64 + 1.0),
                ranks,
            });
        }
    }
    out
}

/// The most frequent value (the largest of equally frequent ones); 0 when empty.
fn most_common(values: impl Iterator<Item = usize>) -> usize {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(x, _)| *x == v) {
            Some((_, c)) => *c += 1,
            None => counts.push((v, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(v, c)| (c, v))
        .map(|(v, _)| v)
        .unwrap_or(0)
}

/// The calibration table in Markdown: coverage against the calibrated value, and the
/// rank histogram.
pub fn calibration_markdown(rows: &[Calibration]) -> String {
    let mut s = String::from(
        "| method | measure | cells | samples | truth within the samples' range | calibrated | rank histogram (samples below the truth: 0 … S) |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let ranks: Vec<String> = r.ranks.iter().map(usize::to_string).collect();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} |\n",
            r.method,
            r.measure,
            r.cells,
            r.samples,
            r.coverage,
            r.expected,
            ranks.join(" ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::metrics::{Comparison, Measurements};

    fn m(volume: u64) -> Measurements {
        Measurements {
            volume,
            surface_area: volume as f64,
            roughness: volume,
            curvature: Some(volume as f64),
            mesh_volume: volume as f64,
        }
    }

    fn record(cell: &str, k: usize, predicted: u64, truth: u64) -> Record {
        Record {
            method: "m".into(),
            cell: cell.into(),
            class: "c".into(),
            prediction: Prediction::Sample(k),
            predicted: m(predicted),
            truth: m(truth),
            errors: Comparison {
                volume: None,
                surface_area: None,
                roughness: None,
                curvature: None,
                iou: 0.0,
                dice: 0.0,
            },
        }
    }

    #[test]
    fn coverage_and_ranks_count_cells() {
        let mut records = Vec::new();
        // Cell a: samples 1, 2, 3 and truth 2.5 → inside, rank 2.
        for (k, v) in [10, 20, 30].iter().enumerate() {
            records.push(record("a", k, *v, 25));
        }
        // Cell b: all samples below the truth → outside, rank 3.
        for (k, v) in [10, 20, 30].iter().enumerate() {
            records.push(record("b", k, *v, 99));
        }
        let c = calibration(&records);
        assert_eq!(c.len(), 4);
        let volume = &c[0];
        assert_eq!(volume.measure, "volume");
        assert_eq!((volume.cells, volume.samples), (2, 3));
        assert_eq!(volume.coverage, 0.5);
        assert_eq!(volume.ranks, vec![0, 0, 1, 1]);
        assert!((volume.expected - 0.5).abs() < 1e-12);
        assert!(
            calibration_markdown(&c).contains("| m | volume | 2 | 3 | 0.50 | 0.50 | 0 0 1 1 |")
        );
    }
}
