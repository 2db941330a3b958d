//! numpy arrays to dispr's grids and back.

use dispr_core::grid::{Grid, Image, Volume};
use dispr_core::io::tiff::Stack;
use numpy::ndarray::{Array, IxDyn};
use numpy::{Element, IntoPyArray, PyArrayDyn, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::prelude::*;

use crate::error;

/// A 2D array of one of the pixel types dispr reads, as a one-plane [`Stack`]; `what`
/// names the argument in errors.
pub fn stack_2d(array: &Bound<'_, PyAny>, what: &str) -> PyResult<Stack> {
    fn plane<T: Element + Copy>(a: PyReadonlyArray2<'_, T>) -> Volume<T> {
        let view = a.as_array();
        let (h, w) = view.dim();
        Volume::new([1, h, w], view.iter().copied().collect()).expect("h × w values")
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, u8>>() {
        return Ok(Stack::U8(plane(a)));
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, u16>>() {
        return Ok(Stack::U16(plane(a)));
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, u32>>() {
        return Ok(Stack::U32(plane(a)));
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, f32>>() {
        return Ok(Stack::F32(plane(a)));
    }
    Err(error(format!(
        "{what}: a 2D array of uint8, uint16, uint32 or float32 is needed, not {}",
        describe(array)
    )))
}

/// A 3D boolean array as a volume; `what` names the argument in errors.
pub fn volume_bool(array: &Bound<'_, PyAny>, what: &str) -> PyResult<Volume<bool>> {
    let a = array.extract::<PyReadonlyArray3<'_, bool>>().map_err(|_| {
        error(format!(
            "{what}: a 3D boolean array (z, y, x) is needed, not {}",
            describe(array)
        ))
    })?;
    let view = a.as_array();
    let (d, h, w) = view.dim();
    Ok(Volume::new([d, h, w], view.iter().copied().collect()).expect("d × h × w values"))
}

/// A 2D array of label values (uint32) as an image.
pub fn labels(array: &Bound<'_, PyAny>, what: &str) -> PyResult<Image<u32>> {
    let a = array.extract::<PyReadonlyArray2<'_, u32>>().map_err(|_| {
        error(format!(
            "{what}: a 2D array of whole numbers ≥ 0 is needed, not {}",
            describe(array)
        ))
    })?;
    let view = a.as_array();
    let (h, w) = view.dim();
    Ok(Image::new([h, w], view.iter().copied().collect()).expect("h × w values"))
}

/// `dtype shape` of an array, or the Python type of anything else.
fn describe(value: &Bound<'_, PyAny>) -> String {
    let dtype = value.getattr("dtype").map(|d| d.to_string());
    let shape = value.getattr("shape").map(|s| s.to_string());
    match (dtype, shape) {
        (Ok(d), Ok(s)) => format!("an array of {d} with shape {s}"),
        _ => format!(
            "a {}",
            value
                .get_type()
                .name()
                .map_or_else(|_| "value".to_string(), |n| n.to_string())
        ),
    }
}

/// A grid as a numpy array of its shape.
pub fn to_numpy<'py, T: Element + Copy, const N: usize>(
    py: Python<'py>,
    grid: &Grid<T, N>,
) -> Bound<'py, PyArrayDyn<T>> {
    Array::from_shape_vec(IxDyn(&grid.shape()), grid.data().to_vec())
        .expect("a grid's values fill its shape")
        .into_pyarray(py)
}

/// Volumes of one shape stacked along a new first axis.
pub fn stacked<'py, T: Element + Copy>(
    py: Python<'py>,
    volumes: &[Volume<T>],
) -> Bound<'py, PyArrayDyn<T>> {
    let mut shape = vec![volumes.len()];
    shape.extend(volumes.first().map_or([0, 0, 0], Volume::shape));
    let data: Vec<T> = volumes
        .iter()
        .flat_map(|v| v.data().iter().copied())
        .collect();
    Array::from_shape_vec(IxDyn(&shape), data)
        .expect("equal volumes fill the stack")
        .into_pyarray(py)
}
