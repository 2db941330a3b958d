//! Signed-distance building blocks for synthetic cells (µm; negative inside).
//!
//! Transcendental functions come from the `libm` crate, a pure-Rust port of musl's, so
//! that a seed gives the same bytes on every platform (the system libm differs in the
//! last bit between glibc, musl and macOS).

/// A point or vector (x, y, z) in µm.
pub type V3 = [f64; 3];

/// a + b.
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// a − b.
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// a · k.
pub fn scale(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

/// a · b.
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// |a|.
pub fn length(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// a / |a| (zero stays zero).
pub fn normalize(a: V3) -> V3 {
    let l = length(a);
    if l > 0.0 { scale(a, 1.0 / l) } else { a }
}

/// A rotation matrix (rows), applied as `R · p`.
pub type M3 = [[f64; 3]; 3];

/// R · p.
pub fn rotate(m: &M3, p: V3) -> V3 {
    [dot(m[0], p), dot(m[1], p), dot(m[2], p)]
}

/// Rᵀ · p (the inverse rotation).
pub fn rotate_back(m: &M3, p: V3) -> V3 {
    [
        m[0][0] * p[0] + m[1][0] * p[1] + m[2][0] * p[2],
        m[0][1] * p[0] + m[1][1] * p[1] + m[2][1] * p[2],
        m[0][2] * p[0] + m[1][2] * p[1] + m[2][2] * p[2],
    ]
}

/// Rz(α) · Rx(β) · Rz(γ) (PHANTOMS.md's orientation).
pub fn euler_zxz(alpha: f64, beta: f64, gamma: f64) -> M3 {
    let rz = |t: f64| -> M3 {
        let (s, c) = (libm::sin(t), libm::cos(t));
        [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
    };
    let (s, c) = (libm::sin(beta), libm::cos(beta));
    let rx: M3 = [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]];
    mul(&mul(&rz(alpha), &rx), &rz(gamma))
}

fn mul(a: &M3, b: &M3) -> M3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

/// Polynomial smooth minimum (smooth union) with blend width `k` (Quílez).
pub fn smooth_union(a: f64, b: f64, k: f64) -> f64 {
    if k <= 0.0 {
        return a.min(b);
    }
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - h * h * k * 0.25
}

/// Smooth subtraction of `b` from `a`.
pub fn smooth_subtract(a: f64, b: f64, k: f64) -> f64 {
    -smooth_union(-a, b, k)
}

/// Sphere of radius `r` at the origin.
pub fn sphere(p: V3, r: f64) -> f64 {
    length(p) - r
}

/// Ellipsoid with semi-axes `r` at the origin (Quílez's bound: exact on the surface,
/// close to a distance nearby).
pub fn ellipsoid(p: V3, r: V3) -> f64 {
    let k0 = length([p[0] / r[0], p[1] / r[1], p[2] / r[2]]);
    let k1 = length([
        p[0] / (r[0] * r[0]),
        p[1] / (r[1] * r[1]),
        p[2] / (r[2] * r[2]),
    ]);
    if k1 == 0.0 {
        return -r[0].min(r[1]).min(r[2]);
    }
    k0 * (k0 - 1.0) / k1
}

/// Cone with rounded ends along +z from the origin: radius `r1` at the base, `r2` at
/// height `h` (Quílez's exact round cone).
pub fn round_cone(p: V3, r1: f64, r2: f64, h: f64) -> f64 {
    let b = (r1 - r2) / h;
    let a = (1.0 - b * b).max(0.0).sqrt();
    let q = [(p[0] * p[0] + p[1] * p[1]).sqrt(), p[2]];
    let k = -b * q[0] + a * q[1];
    if k < 0.0 {
        return (q[0] * q[0] + q[1] * q[1]).sqrt() - r1;
    }
    if k > a * h {
        return (q[0] * q[0] + (q[1] - h) * (q[1] - h)).sqrt() - r2;
    }
    a * q[0] + b * q[1] - r1
}

/// A frame whose third axis is `axis` (unit): rows are the frame's axes.
pub fn frame_along(axis: V3) -> M3 {
    let helper = if axis[0].abs() < 0.9 {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    let u = normalize(cross(helper, axis));
    let v = cross(axis, u);
    [u, v, axis]
}

/// a × b.
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives() {
        assert!((sphere([3.0, 4.0, 0.0], 2.0) - 3.0).abs() < 1e-12);
        assert!(ellipsoid([2.0, 0.0, 0.0], [2.0, 1.0, 1.0]).abs() < 1e-12);
        assert!(ellipsoid([0.0, 0.0, 0.0], [2.0, 1.0, 1.0]) < 0.0);
        // A round cone with equal radii is a capsule.
        assert!((round_cone([1.0, 0.0, 0.5], 0.5, 0.5, 1.0) - 0.5).abs() < 1e-12);
        assert!((round_cone([0.0, 0.0, 3.0], 0.5, 0.25, 2.0) - 0.75).abs() < 1e-12);
        assert!(smooth_union(1.0, 1.0, 0.2) < 1.0);
        assert_eq!(smooth_union(1.0, 3.0, 0.2), 1.0);
    }

    #[test]
    fn rotations_are_orthonormal() {
        let m = euler_zxz(0.3, 1.1, -2.0);
        let p = [0.3, -1.2, 2.5];
        let back = rotate_back(&m, rotate(&m, p));
        assert!(length(sub(back, p)) < 1e-12);
        assert!((length(rotate(&m, p)) - length(p)).abs() < 1e-12);
        let f = frame_along(normalize([1.0, 2.0, 3.0]));
        assert!(dot(f[0], f[2]).abs() < 1e-12 && dot(f[1], f[2]).abs() < 1e-12);
    }
}
