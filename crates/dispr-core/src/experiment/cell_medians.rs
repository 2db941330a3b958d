//! Table 1 per cell, with intervals: for each method (and its ensemble) and each Table 1
//! column, the median over cells of the cell's value — the mean over its samples — with
//! the 95 % bootstrap interval of that median over cells. n is cells, not pooled
//! samples, so the interval says how sure the median is for a new cell of this kind.
//! (Table 1 itself pools every sample, as the paper does: [`super::evaluation`].)

use crate::experiment::evaluation::{Record, TABLE_METRICS, column_title, describe};
use crate::experiment::paired::{bootstrap_interval, per_cell};

/// One method's median over cells on one metric, with its interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CellMedian {
    /// Method (ensembles are `METHOD ensemble`).
    pub method: String,
    /// Table 1 column: `volume`, `surface_area`, `roughness`, `curvature`, `iou`, `dice`.
    pub metric: String,
    /// Cells with a value.
    pub cells: usize,
    /// Median over cells of each cell's mean over its samples.
    pub median: f64,
    /// Lower end of the median's 95 % bootstrap interval over cells.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// Every method of `records` (in their order) on every Table 1 column with a value.
pub fn cell_medians(records: &[Record]) -> Vec<CellMedian> {
    let mut methods: Vec<&str> = Vec::new();
    for r in records {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let mut rows = Vec::new();
    for method in methods {
        for metric in TABLE_METRICS {
            let values: Vec<f64> = per_cell(records, method, metric).into_values().collect();
            if values.is_empty() {
                continue;
            }
            let (median, _, _) = describe(&mut values.clone());
            let (low, high) = bootstrap_interval(&values, |v| describe(v).0);
            rows.push(CellMedian {
                method: method.to_string(),
                metric: metric.to_string(),
                cells: values.len(),
                median,
                low,
                high,
            });
        }
    }
    rows
}

/// The rows as a Markdown table: one line per method, `median [low, high]` per column
/// (cells: the most of any column; the CSV has each column's count).
pub fn cell_medians_markdown(rows: &[CellMedian]) -> String {
    let mut s = String::from("| method | cells |");
    let mut rule = String::from("|---|---:|");
    for m in TABLE_METRICS {
        s.push_str(&format!(" {} |", column_title(m)));
        rule.push_str("---:|");
    }
    s.push('\n');
    s.push_str(&rule);
    s.push('\n');
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    for method in methods {
        let of = |metric: &str| {
            rows.iter()
                .find(|r| r.method == method && r.metric == metric)
        };
        let cells = TABLE_METRICS
            .iter()
            .filter_map(|m| of(m))
            .map(|r| r.cells)
            .max()
            .unwrap_or(0);
        s.push_str(&format!("| {method} | {cells} |"));
        for m in TABLE_METRICS {
            match of(m) {
                Some(r) => s.push_str(&format!(" {:.3} [{:.3}, {:.3}] |", r.median, r.low, r.high)),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::evaluation::Prediction;
    use crate::shape::metrics::{Comparison, Measurements};

    fn record(method: &str, cell: &str, k: usize, volume: f64) -> Record {
        let m = Measurements {
            volume: 1,
            surface_area: 1.0,
            roughness: 1,
            curvature: Some(1.0),
            mesh_volume: 1.0,
        };
        Record {
            method: method.into(),
            cell: cell.into(),
            class: "sde".into(),
            prediction: Prediction::Sample(k),
            predicted: m,
            truth: m,
            errors: Comparison {
                volume: Some(volume),
                surface_area: Some(volume),
                roughness: None,
                curvature: None,
                iou: 1.0 - volume,
                dice: 1.0,
            },
        }
    }

    #[test]
    fn the_median_is_over_cells_of_their_sample_means() {
        // Cell a: samples 0.1 and 0.3 (mean 0.2); b: 0.4; c: 0.5 and 0.7 (0.6).
        let records = vec![
            record("dispr", "a", 0, 0.1),
            record("dispr", "a", 1, 0.3),
            record("dispr", "b", 0, 0.4),
            record("dispr", "c", 0, 0.5),
            record("dispr", "c", 1, 0.7),
            record("cylinder", "a", 0, 0.9),
        ];
        let rows = cell_medians(&records);
        let volume = rows
            .iter()
            .find(|r| r.method == "dispr" && r.metric == "volume")
            .unwrap();
        assert_eq!(volume.cells, 3);
        assert!((volume.median - 0.4).abs() < 1e-12);
        assert!(volume.low >= 0.2 - 1e-12 && volume.high <= 0.6 + 1e-12);
        assert!(volume.low <= volume.median && volume.median <= volume.high);
        // Metrics without values have no row; methods keep their order.
        assert!(!rows.iter().any(|r| r.metric == "roughness"));
        assert_eq!(rows[0].method, "dispr");
        assert_eq!(rows.last().unwrap().method, "cylinder");
        let md = cell_medians_markdown(&rows);
        assert!(md.contains("| dispr | 3 | 0.400 ["), "{md}");
        assert!(
            md.contains("| cylinder | 1 | 0.900 [0.900, 0.900] |"),
            "{md}"
        );
    }
}
