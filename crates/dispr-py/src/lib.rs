//! dispr's Python bindings: the extension module `dispr._dispr`, which the Python
//! package `dispr` (python/dispr) wraps with numpy-friendly functions and result
//! classes.
//!
//! Everything here is a thin layer over the library: images arrive as numpy arrays of
//! one of the four pixel types dispr reads (`uint8`, `uint16`, `uint32`, `float32`; the
//! Python side casts others as the TIFF reader does), go through the same intensity
//! rule, framing and prediction as `dispr predict`, and come back as numpy arrays. The
//! GIL is released while Rust computes; errors become `dispr.DisprError` with the
//! command line's one-line message.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

mod convert;
mod model;
mod shapes;

create_exception!(
    _dispr,
    DisprError,
    PyValueError,
    "A problem with dispr's inputs or files, in one line (as the command line says it)."
);

/// Any error of the library as a `DisprError` with its one-line message.
pub(crate) fn error(e: impl std::fmt::Display) -> PyErr {
    DisprError::new_err(e.to_string())
}

/// The extension module.
#[pymodule]
fn _dispr(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DisprError", m.py().get_type::<DisprError>())?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(shapes::measure_shape, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::mesh, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::synth, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::read_tiff, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::unit_image, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::cell_columns, m)?)?;
    m.add_function(wrap_pyfunction!(shapes::intensity_note, m)?)?;
    m.add("MEASURES", shapes::measure_names())?;
    Ok(())
}
