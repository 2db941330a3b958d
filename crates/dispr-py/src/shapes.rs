//! Shapes without a network: measure, mesh, synthesise, evaluate, read a TIFF.

use std::path::PathBuf;

use dispr_core::data::class::CellClass;
use dispr_core::experiment::evaluation::{TABLE_METRICS, evaluate_shapes};
use dispr_core::experiment::uncertainty::MEASURES;
use dispr_core::grid::format_shape;
use dispr_core::io::tiff::{Stack, read_pixel_size, read_stack};
use dispr_core::phantom::{class_plan, generate};
use dispr_core::scale::{Units, VoxelSize, check_length};
use dispr_core::shape::metrics::{measure, measure_at};
use numpy::IntoPyArray;
use numpy::ndarray::Array2;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{to_numpy, volume_bool};
use crate::error;

/// `voxels` or `um`.
pub fn units_name(units: Units) -> &'static str {
    match units {
        Units::Voxels => "voxels",
        Units::Micrometres => "um",
    }
}

/// The names of the measures `predict` reports per sample, in column order.
pub fn measure_names() -> Vec<&'static str> {
    MEASURES.iter().map(|(name, _)| *name).collect()
}

/// A voxel size (z, y, x) in µm, checked.
fn voxel(spacing: Option<(f64, f64, f64)>) -> PyResult<Option<VoxelSize>> {
    spacing
        .map(|(z, y, x)| {
            Ok(VoxelSize {
                z: check_length("spacing z", z)?,
                y: check_length("spacing y", y)?,
                x: check_length("spacing x", x)?,
            })
        })
        .transpose()
        .map_err(|e: String| error(e))
}

/// Measures a 3D shape (boolean z, y, x): volume, surface area, roughness, curvature,
/// mesh volume and sphericity, in µm when `spacing` (z, y, x) is given, else voxels.
#[pyfunction(name = "measure")]
#[pyo3(signature = (volume, spacing=None))]
pub fn measure_shape<'py>(
    py: Python<'py>,
    volume: &Bound<'py, PyAny>,
    spacing: Option<(f64, f64, f64)>,
) -> PyResult<Bound<'py, PyDict>> {
    let shape = volume_bool(volume, "volume")?;
    let voxel = voxel(spacing)?;
    let (m, _) = py.detach(|| measure_at(&shape, voxel));
    let d = PyDict::new(py);
    d.set_item("volume", m.volume)?;
    d.set_item("surface_area", m.surface_area)?;
    d.set_item("roughness", m.roughness)?;
    d.set_item("curvature", m.curvature)?;
    d.set_item("mesh_volume", m.mesh_volume)?;
    d.set_item("sphericity", m.sphericity())?;
    d.set_item("units", units_name(m.units))?;
    Ok(d)
}

/// The marching-cubes surface of a 3D shape: vertices (n × 3, in z, y, x order and in
/// µm when `spacing` is given) and triangles (m × 3 vertex indices).
#[pyfunction]
#[pyo3(signature = (volume, spacing=None))]
pub fn mesh<'py>(
    py: Python<'py>,
    volume: &Bound<'py, PyAny>,
    spacing: Option<(f64, f64, f64)>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let shape = volume_bool(volume, "volume")?;
    let voxel = voxel(spacing)?;
    let (_, mesh) = py.detach(|| measure_at(&shape, voxel));
    // The mesh is (x, y, z); numpy's axes are (z, y, x).
    let vertices: Vec<f64> = mesh
        .vertices
        .iter()
        .flat_map(|&[x, y, z]| [z, y, x])
        .collect();
    let faces: Vec<u32> = mesh.faces.iter().flatten().copied().collect();
    let v = Array2::from_shape_vec((mesh.vertices.len(), 3), vertices).expect("3 per vertex");
    let f = Array2::from_shape_vec((mesh.faces.len(), 3), faces).expect("3 per face");
    Ok((v.into_pyarray(py).into_any(), f.into_pyarray(py).into_any()))
}

/// `n` synthetic cells (dispr synth's phantoms) of `classes` (all six when `None`):
/// a list of dicts with name, class, image (uint8), mask (bool) and shape (bool 3D).
#[pyfunction]
#[pyo3(signature = (n, seed=0, classes=None))]
pub fn synth<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    classes: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyList>> {
    if !(1..=100_000).contains(&n) {
        return Err(error(format!("n: {n} is not in 1..=100000")));
    }
    let classes: Vec<CellClass> = match classes {
        None => CellClass::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|c| {
                c.parse::<CellClass>().map_err(|_| {
                    error(format!(
                        "classes: unknown class '{c}' (expected {})",
                        CellClass::ALL.map(CellClass::name).join(", ")
                    ))
                })
            })
            .collect::<PyResult<_>>()?,
    };
    if classes.is_empty() {
        return Err(error("classes: at least one class is needed"));
    }
    let plan = class_plan(n, &classes);
    let cells = py.detach(|| {
        use rayon::prelude::*;
        plan.par_iter()
            .enumerate()
            .map(|(index, &class)| generate(seed, index, class))
            .collect::<Vec<_>>()
    });
    let out = PyList::empty(py);
    for p in &cells {
        let d = PyDict::new(py);
        d.set_item("name", &p.name)?;
        d.set_item("class", p.class.name())?;
        d.set_item("image", to_numpy(py, &p.image))?;
        d.set_item("mask", to_numpy(py, &p.mask))?;
        d.set_item("shape", to_numpy(py, &p.obj))?;
        out.append(d)?;
    }
    Ok(out)
}

/// One cell's predicted shapes (a list of 3D boolean arrays) against its true shape:
/// one row per shape (and the ensemble when several) with the paper's relative errors,
/// IoU and Dice, as a list of dicts.
#[pyfunction]
#[pyo3(signature = (shapes, truth, method="dispr", cell="cell", class_name=""))]
pub fn evaluate<'py>(
    py: Python<'py>,
    shapes: Vec<Bound<'py, PyAny>>,
    truth: &Bound<'py, PyAny>,
    method: &str,
    cell: &str,
    class_name: &str,
) -> PyResult<Bound<'py, PyList>> {
    let truth = volume_bool(truth, "truth")?;
    let shapes = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let v = volume_bool(s, &format!("prediction {k} of cell '{cell}'"))?;
            if v.shape() != truth.shape() {
                return Err(error(format!(
                    "prediction {k} of cell '{cell}' is {} but its truth is {}",
                    format_shape(&v.shape()),
                    format_shape(&truth.shape())
                )));
            }
            Ok(v)
        })
        .collect::<PyResult<Vec<_>>>()?;
    if shapes.is_empty() {
        return Err(error(format!("cell '{cell}': no predicted shape")));
    }
    let evaluation = py.detach(|| {
        let truth_m = measure(&truth);
        evaluate_shapes(method, cell, class_name, &truth, &truth_m, &shapes)
    });
    let out = PyList::empty(py);
    for r in &evaluation.records {
        let d = PyDict::new(py);
        d.set_item("method", &r.method)?;
        d.set_item("cell", &r.cell)?;
        d.set_item("class", &r.class)?;
        d.set_item("prediction", r.prediction.label())?;
        for name in TABLE_METRICS {
            d.set_item(name, r.metric(name))?;
        }
        d.set_item("predicted_volume", r.predicted.volume)?;
        d.set_item("true_volume", r.truth.volume)?;
        out.append(d)?;
    }
    Ok(out)
}

/// Reads a TIFF as dispr reads it: its values as a numpy array (z, y, x; one page:
/// y, x) and its pixel size (µm, x, y and z when stated), as (array, dict or None).
#[pyfunction]
pub fn read_tiff<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyDict>>)> {
    let (stack, scale) = py
        .detach(|| Ok::<_, dispr_core::Error>((read_stack(&path)?, read_pixel_size(&path)?)))
        .map_err(error)?;
    let array = match &stack {
        Stack::U8(v) => to_numpy(py, v).into_any(),
        Stack::U16(v) => to_numpy(py, v).into_any(),
        Stack::U32(v) => to_numpy(py, v).into_any(),
        Stack::F32(v) => to_numpy(py, v).into_any(),
    };
    let array = if stack.shape()[0] == 1 {
        array.get_item(0)?
    } else {
        array
    };
    let scale = match scale {
        Some(s) => {
            let d = PyDict::new(py);
            d.set_item("x", s.x)?;
            d.set_item("y", s.y)?;
            d.set_item("z", s.z)?;
            Some(d)
        }
        None => None,
    };
    Ok((array, scale))
}

/// The column names of a prediction's per-cell summary in `cells.csv` for `units`
/// (`voxels` or `um`): `samples`, then `M_U_mean`, `_sd`, `_p05`, `_p95`, `_lo90`,
/// `_hi90` per measure, then `pairwise_1_minus_iou`.
#[pyfunction]
pub fn cell_columns(units: &str) -> PyResult<Vec<String>> {
    let units = match units {
        "voxels" => Units::Voxels,
        "um" => Units::Micrometres,
        other => return Err(error(format!("units: '{other}' is not voxels or um"))),
    };
    Ok(dispr_core::experiment::uncertainty::CellUncertainty::columns(units))
}

/// What `dispr data info` notes about an image read by an unusual encoding (a float
/// image beyond 0–1, a uint16 image using only 8 or 12 bits) or with a few stray
/// pixels above its bit depth, read as saturated; or `None`.
#[pyfunction]
pub fn intensity_note(image: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let stack = crate::convert::stack_2d(image, "image")?;
    Ok(dispr_core::data::intensity::reading_of(&stack)
        .ok()
        .and_then(|r| r.note()))
}

/// A 2D image's intensities in [0, 1] by dispr's rule (value / the full scale of the
/// bit depth its values use), or a `DisprError` saying what is wrong with it.
#[pyfunction]
pub fn unit_image<'py>(py: Python<'py>, image: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let stack = crate::convert::stack_2d(image, "image")?;
    let unit = py
        .detach(|| dispr_core::data::intensity::unit_image(&stack))
        .map_err(|p| error(format!("image: {p}")))?;
    Ok(to_numpy(py, &unit).into_any())
}
