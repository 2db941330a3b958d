//! 3D shapes: filters ([`filters`]), surface meshes ([`mesh`]), the measurements and
//! comparisons of Table 1 ([`metrics`]) and the ellipse fit of a 2D mask ([`ellipse`]).

pub mod ellipse;
pub mod filters;
pub mod mesh;
pub mod metrics;
