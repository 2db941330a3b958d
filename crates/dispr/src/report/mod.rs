//! An evaluation's report folder around the tables of
//! [`dispr_core::experiment::study`]: box plots of Table 1's columns, the
//! steps-versus-quality plot of a sampler study, and the HTML page that shows them all.
//! [`plot`] also draws the PNGs of other commands (galleries, confusion matrices);
//! [`predictions`] is the page of a prediction folder.

pub mod page;
pub mod plot;
pub mod predictions;
pub mod steps;

use std::path::Path;

use dispr_core::experiment::study::Study;

pub use plot::{draw_confusion, encode_png, register_font};

/// Writes a whole report into `out`: the study's tables, a box plot per Table 1 column,
/// the steps plot when the study compares sampler settings (a stale one is removed) and
/// the page [`page::PAGE`]. Returns the page's content (its tables, pictures embedded),
/// which `dispr reproduce` shows again in its own page.
pub fn write_report(out: &Path, study: &Study) -> anyhow::Result<serde_json::Value> {
    study.write_tables(out)?;
    let plots = plot::box_plots(&study.records, out)?;
    if !steps::steps_plot(&study.rows, out)? {
        let _ = std::fs::remove_file(out.join(steps::STEPS_PLOT));
        let _ = std::fs::remove_file(out.join(steps::STEPS_PLOT).with_extension("svg"));
    }
    let content = page::content(out, study, &plots)?;
    page::write_html(out, &content)?;
    Ok(content)
}
