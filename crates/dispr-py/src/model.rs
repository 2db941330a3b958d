//! `dispr._dispr.Model`: a trained model loaded once, predicting cells given as numpy
//! arrays exactly as `dispr predict IMAGE MASK` and `dispr predict --image FIELD
//! --labels LABELS` predict them.

use std::path::PathBuf;
use std::sync::Mutex;

use dispr_core::data::dataset::Cell;
use dispr_core::data::field::{FieldCell, FieldImage, cut_field, cut_one, mask_of};
use dispr_core::data::framing::Fit;
use dispr_core::data::intensity::unit_image;
use dispr_core::experiment::uncertainty::MEASURES;
use dispr_core::grid::Image;
use dispr_core::scale::VoxelSize;
use dispr_nn::device::DeviceKind;
use dispr_nn::pipeline::{
    LoadedModel, PredictedCell, SamplerRequest, SamplerSettings, frame_cell, predict_framed,
};
use numpy::IntoPyArray;
use numpy::ndarray::Array2;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{labels, stack_2d, stacked, to_numpy};
use crate::error;

/// The sampler settings a call asks for (each or none), as `dispr predict`'s flags.
fn request(
    sampler: Option<&str>,
    steps: Option<usize>,
    eta: Option<f64>,
    from_prior: Option<f64>,
) -> PyResult<SamplerRequest> {
    if let Some(Err(e)) = from_prior.map(dispr_nn::sampler::begin_fraction) {
        return Err(error(format!("from_prior: {e}")));
    }
    Ok(SamplerRequest {
        kind: sampler.map(str::parse).transpose().map_err(error)?,
        steps,
        eta,
        from_prior,
    })
}

/// A trained DISPR (or SHAPR) model with its sampler, ready to predict.
#[pyclass(module = "dispr._dispr", frozen)]
pub struct Model {
    // Boxed: burn's tensors ask for 64-byte alignment, more than Python's allocator gives
    // the objects it makes (PyO3 would dereference a misaligned pointer).
    inner: Box<LoadedModel>,
}

/// What one prediction call asks for, shared by its cells.
#[derive(Clone, Copy)]
struct Ask {
    samples: usize,
    seed: u64,
    pixel_size: Option<f64>,
    downscale: bool,
}

/// The progress callback of a call and the first error it raised.
struct Progress {
    callback: Option<Py<PyAny>>,
    total: usize,
    failed: Mutex<Option<PyErr>>,
}

impl Progress {
    fn new(callback: Option<Py<PyAny>>, total: usize) -> Self {
        Self {
            callback,
            total,
            failed: Mutex::new(None),
        }
    }

    /// Reports `done` of `total` network evaluations to the callback (with the GIL, and
    /// letting Ctrl-C through); remembers the first exception it raises.
    fn report(&self, done: usize) {
        if self.stopped() {
            return;
        }
        Python::attach(|py| {
            let result = py.check_signals().and_then(|()| match &self.callback {
                Some(f) => f.call1(py, (done, self.total)).map(drop),
                None => Ok(()),
            });
            if let Err(e) = result {
                *self.failed.lock().expect("progress lock") = Some(e);
            }
        });
    }

    /// True once the callback (or Ctrl-C) raised: the call stops after the current cell.
    fn stopped(&self) -> bool {
        self.failed.lock().expect("progress lock").is_some()
    }

    /// The exception to raise, if any.
    fn into_error(self) -> Option<PyErr> {
        self.failed.into_inner().expect("progress lock")
    }
}

impl Model {
    /// How this model fits cells of the call.
    fn fit(&self, ask: Ask) -> Fit {
        Fit {
            model_pixel_um: self.inner.header.pixel_size_um,
            pixel_size_um: ask.pixel_size,
            downscale: ask.downscale,
        }
    }

    /// The model's field (height, width).
    fn field(&self) -> [usize; 2] {
        let [_, h, w] = self.inner.header.model.data_grid();
        [h, w]
    }

    /// Predicts cut-out cells one after another, as `dispr predict` does; stops after
    /// the cell during which the progress callback raised.
    fn predict_cut(
        &self,
        cells: &[FieldCell],
        ask: Ask,
        progress: &Progress,
    ) -> PyResult<Vec<PredictedCell>> {
        let network = &self.inner.header.model;
        let fit = self.fit(ask);
        let evaluations = self.inner.predictor.evaluations();
        let mut out = Vec::with_capacity(cells.len());
        for (i, field_cell) in cells.iter().enumerate() {
            if progress.stopped() {
                break;
            }
            let cell: &Cell = &field_cell.cell;
            let (framed, framing) = frame_cell(cell, network, fit)
                .map_err(|p| error(named("cell", format!("cell '{}': {p}", cell.name))))?;
            let scale = ask.pixel_size.or(cell.pixel_size).map(VoxelSize::cube);
            let base = i * evaluations;
            let predicted = predict_framed(
                &self.inner,
                &framed,
                &framing,
                ask.samples,
                ask.seed,
                scale,
                &mut |done| progress.report(base + done),
            )
            .map_err(error)?;
            out.push(predicted);
        }
        Ok(out)
    }
}

/// One predicted cell as a dict of numpy arrays and numbers.
fn cell_dict<'py>(
    py: Python<'py>,
    cut: &FieldCell,
    predicted: &PredictedCell,
    pixel_size: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let shapes = &predicted.shapes;
    d.set_item("name", &cut.cell.name)?;
    d.set_item("label", cut.label)?;
    d.set_item("origin", (cut.origin[0], cut.origin[1]))?;
    d.set_item("area", cut.area)?;
    d.set_item("edge_px", cut.edge_px)?;
    d.set_item("parts", cut.parts.clone())?;
    d.set_item("notes", cut.notes())?;
    d.set_item("samples", stacked(py, &shapes.samples))?;
    d.set_item("probability", to_numpy(py, &shapes.probability))?;
    d.set_item("std", shapes.std.as_ref().map(|s| to_numpy(py, s)))?;
    d.set_item("ensemble", to_numpy(py, &shapes.ensemble))?;
    let rows = predicted.sample_measures.len();
    let values: Vec<f64> = predicted
        .sample_measures
        .iter()
        .flatten()
        .copied()
        .collect();
    let table =
        Array2::from_shape_vec((rows, MEASURES.len()), values).expect("five measures per sample");
    d.set_item("sample_measures", table.into_pyarray(py))?;
    let u = &predicted.uncertainty;
    let summary = PyDict::new(py);
    for ((name, _), spread) in MEASURES.iter().zip(&u.measures) {
        let s = PyDict::new(py);
        s.set_item("mean", spread.mean)?;
        s.set_item("sd", spread.sd)?;
        s.set_item("p05", spread.low)?;
        s.set_item("p95", spread.high)?;
        s.set_item("lo90", spread.calibrated.map(|c| c[0]))?;
        s.set_item("hi90", spread.calibrated.map(|c| c[1]))?;
        summary.set_item(*name, s)?;
    }
    d.set_item("summary", summary)?;
    d.set_item("pairwise_1_minus_iou", u.pairwise_distance)?;
    d.set_item("units", crate::shapes::units_name(u.units))?;
    d.set_item("pixel_size", pixel_size.or(cut.cell.pixel_size))?;
    d.set_item("seconds", predicted.seconds)?;
    Ok(d)
}

#[pymethods]
impl Model {
    /// Loads a checkpoint file or run folder (`None`: the model built into dispr) with
    /// its calibration, and a sampler: each of `sampler`, `steps`, `eta` given replaces
    /// that setting of the model's own sampler (the one its calibration was learnt with,
    /// else DDIM 10 η 0), as `dispr predict`'s flags do.
    #[new]
    #[pyo3(signature = (path=None, sampler=None, steps=None, eta=None, from_prior=None))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        sampler: Option<&str>,
        steps: Option<usize>,
        eta: Option<f64>,
        from_prior: Option<f64>,
    ) -> PyResult<Self> {
        let request = request(sampler, steps, eta, from_prior)?;
        let inner = py
            .detach(|| LoadedModel::load_drawing(path.as_deref(), request, DeviceKind::Cpu))
            .map_err(error)?;
        Ok(Self {
            inner: Box::new(inner),
        })
    }

    /// The model's card as JSON: what it was trained on, its input, its calibration.
    fn card_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.card()).map_err(error)
    }

    /// The model's card as the lines `dispr model info` prints.
    fn card_text(&self) -> String {
        self.inner.card().text()
    }

    /// The model file (or the built-in model's label).
    #[getter]
    fn source(&self) -> String {
        self.inner.source.display().to_string()
    }

    /// The model file's SHA-256.
    #[getter]
    fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// The sampler and its settings, e.g. `ddim-10-eta0`.
    #[getter]
    fn method(&self) -> String {
        self.inner.predictor.method()
    }

    /// True when asking for `sampler`, `steps`, `eta`, `from_prior` (each or none) over
    /// the sampler this model draws with gives that same sampler.
    #[pyo3(signature = (sampler=None, steps=None, eta=None, from_prior=None))]
    fn draws_as(
        &self,
        sampler: Option<&str>,
        steps: Option<usize>,
        eta: Option<f64>,
        from_prior: Option<f64>,
    ) -> PyResult<bool> {
        let asked = request(sampler, steps, eta, from_prior)?;
        Ok(
            match SamplerSettings::from_name(&self.inner.predictor.method()) {
                Some(now) => asked.over(now).map_err(error)? == now,
                None => asked == SamplerRequest::default(),
            },
        )
    }

    /// Network evaluations per cell.
    #[getter]
    fn evaluations(&self) -> usize {
        self.inner.predictor.evaluations()
    }

    /// The threshold of its soft samples (its calibrated level, else 0).
    #[getter]
    fn level(&self) -> f32 {
        self.inner.size().level
    }

    /// The factor its samples are enlarged by about their centroid (its calibrated
    /// scale, else 1).
    #[getter]
    fn scale(&self) -> f32 {
        self.inner.size().scale
    }

    /// The crop (height, width) the network sees.
    #[getter]
    fn field_size(&self) -> (usize, usize) {
        let [h, w] = self.field();
        (h, w)
    }

    /// A note when the calibration was measured with another sampler, else `None`.
    fn calibration_note(&self) -> Option<String> {
        self.inner.calibration_note()
    }

    /// Predicts one cell from its image and mask (2D arrays of one size, any size): a
    /// dict of numpy arrays over the crop around the cell.
    #[pyo3(signature = (image, mask, name, samples, seed, pixel_size=None, downscale=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn predict_cell<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        mask: &Bound<'py, PyAny>,
        name: &str,
        samples: usize,
        seed: u64,
        pixel_size: Option<f64>,
        downscale: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let image = stack_2d(image, "image")?;
        let mask = stack_2d(mask, "mask")?;
        check_samples(samples)?;
        let ask = Ask {
            samples,
            seed,
            pixel_size: check_pixel_size(pixel_size)?,
            downscale,
        };
        let progress = Progress::new(progress, self.inner.predictor.evaluations());
        let (cut, predicted) = py.detach(|| -> PyResult<_> {
            let image = unit_image(&image).map_err(|p| error(format!("image: {p}")))?;
            let mask = mask_of(&mask).map_err(|p| error(named("mask", p)))?;
            let field_image = FieldImage {
                image: &image,
                pixel_size: ask.pixel_size,
                name,
            };
            let cut = cut_one(field_image, &mask, self.field(), self.fit(ask))
                .map_err(|p| error(named("mask", p)))?;
            let predicted = self.predict_cut(std::slice::from_ref(&cut), ask, &progress)?;
            Ok((cut, predicted))
        })?;
        if let Some(e) = progress.into_error() {
            return Err(e);
        }
        cell_dict(py, &cut, &predicted[0], ask.pixel_size)
    }

    /// Predicts every labelled cell of a field (a 2D image and a label image: 0
    /// background, k for cell k), skipping cells cut by the border or too large: a dict
    /// with `cells` (one dict each, named `{name}_{label}`) and `skipped` (label, name,
    /// reason).
    #[pyo3(signature = (image, labels_image, name, samples, seed, pixel_size=None, downscale=false, skip_border=true, only=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn predict_field<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        labels_image: &Bound<'py, PyAny>,
        name: &str,
        samples: usize,
        seed: u64,
        pixel_size: Option<f64>,
        downscale: bool,
        skip_border: bool,
        only: Option<Vec<u32>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let image = stack_2d(image, "image")?;
        let label_values: Image<u32> = labels(labels_image, "labels")?;
        check_samples(samples)?;
        let ask = Ask {
            samples,
            seed,
            pixel_size: check_pixel_size(pixel_size)?,
            downscale,
        };
        let (mut cut, predicted, progress) = py.detach(|| -> PyResult<_> {
            let image = unit_image(&image).map_err(|p| error(format!("image: {p}")))?;
            let field_image = FieldImage {
                image: &image,
                pixel_size: ask.pixel_size,
                name,
            };
            let mut cut = cut_field(
                field_image,
                &label_values,
                self.field(),
                skip_border,
                self.fit(ask),
            )
            .map_err(|p| error(format!("labels: {p}")))?;
            if let Some(only) = &only {
                cut.keep_labels(only)
                    .map_err(|missing| error(format!("labels: no cell labelled {missing}")))?;
            }
            let total = cut.cells.len() * self.inner.predictor.evaluations();
            let progress = Progress::new(progress, total);
            let predicted = self.predict_cut(&cut.cells, ask, &progress)?;
            Ok((cut, predicted, progress))
        })?;
        // Interrupted (the progress callback raised): the cells finished so far come back
        // with the exception, which the Python side raises with them attached.
        cut.cells.truncate(predicted.len());
        let out = PyDict::new(py);
        out.set_item(
            "interrupted",
            progress.into_error().map(|e| e.into_value(py)),
        )?;
        let cells = PyList::empty(py);
        for (c, p) in cut.cells.iter().zip(&predicted) {
            cells.append(cell_dict(py, c, p, ask.pixel_size)?)?;
        }
        out.set_item("cells", cells)?;
        let skipped: Vec<(u32, String, String)> = cut
            .skipped
            .iter()
            .map(|s| (s.label, s.name.clone(), s.reason.clone()))
            .collect();
        out.set_item("skipped", skipped)?;
        Ok(out)
    }
}

/// `problem` about the argument `what`, named unless it already starts with the name,
/// in Python's words (`downscale=True` for the command line's `--downscale`).
fn named(what: &str, problem: String) -> String {
    let problem = problem.replace("pass --downscale", "pass downscale=True");
    if problem.starts_with(what) {
        problem
    } else {
        format!("{what}: {problem}")
    }
}

/// Samples per cell: 1 to 100, as `dispr predict --samples`.
fn check_samples(samples: usize) -> PyResult<()> {
    if (1..=100).contains(&samples) {
        Ok(())
    } else {
        Err(error(format!("samples: {samples} is not in 1..=100")))
    }
}

/// A pixel size in µm, if given: positive and finite.
fn check_pixel_size(pixel_size: Option<f64>) -> PyResult<Option<f64>> {
    pixel_size
        .map(|p| dispr_core::scale::check_length("the", p))
        .transpose()
        .map_err(|p| error(format!("pixel_size: {p}")))
}
