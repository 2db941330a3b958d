//! Direct least-squares ellipse fitting (Fitzgibbon, Pilu & Fisher 1999, in the
//! numerically stable form of Halíř & Flusser 1998 — the method of scikit-image's
//! `EllipseModel`), and the outline of a mask to fit it to.

use crate::grid::Image;
use crate::shape::filters::fill_holes;

/// An ellipse in pixel coordinates (x = column, y = row, pixel centres at integers).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Ellipse {
    /// Centre x.
    pub xc: f64,
    /// Centre y.
    pub yc: f64,
    /// Major semi-axis (a ≥ b).
    pub a: f64,
    /// Minor semi-axis.
    pub b: f64,
    /// Angle of the major axis from the x axis, radians in (−π/2, π/2].
    pub theta: f64,
}

/// Centres of the mask's outline pixels after hole filling: foreground pixels with a
/// 4-neighbour in the background or on the image border. As (x, y).
pub fn mask_outline(mask: &Image<bool>) -> Vec<[f64; 2]> {
    let filled = fill_holes(mask);
    let [h, w] = filled.shape();
    let at = |y: isize, x: isize| {
        y >= 0
            && x >= 0
            && (y as usize) < h
            && (x as usize) < w
            && filled.at([y as usize, x as usize])
    };
    let mut points = Vec::new();
    for y in 0..h as isize {
        for x in 0..w as isize {
            if at(y, x) && !(at(y - 1, x) && at(y + 1, x) && at(y, x - 1) && at(y, x + 1)) {
                points.push([x as f64, y as f64]);
            }
        }
    }
    points
}

/// Fits an ellipse to points (x, y); `None` when fewer than 5 points or no ellipse
/// fits (e.g. collinear points).
pub fn fit_ellipse(points: &[[f64; 2]]) -> Option<Ellipse> {
    if points.len() < 5 {
        return None;
    }
    // Centre and scale for conditioning; undone at the end.
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p[0]).sum::<f64>() / n;
    let my = points.iter().map(|p| p[1]).sum::<f64>() / n;
    let scale = points
        .iter()
        .map(|p| ((p[0] - mx).powi(2) + (p[1] - my).powi(2)).sqrt())
        .sum::<f64>()
        / n;
    if scale == 0.0 {
        return None;
    }
    let (mut s1, mut s2, mut s3) = ([[0.0; 3]; 3], [[0.0; 3]; 3], [[0.0; 3]; 3]);
    for p in points {
        let (x, y) = ((p[0] - mx) / scale, (p[1] - my) / scale);
        let d1 = [x * x, x * y, y * y];
        let d2 = [x, y, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                s1[i][j] += d1[i] * d1[j];
                s2[i][j] += d1[i] * d2[j];
                s3[i][j] += d2[i] * d2[j];
            }
        }
    }
    // T = −S3⁻¹ S2ᵀ; M = S1 + S2 T; then M ← C1⁻¹ M with C1 = [[0,0,2],[0,−1,0],[2,0,0]].
    let s3_inv = invert3(s3)?;
    let s2t = transpose3(s2);
    let t = mul3(s3_inv, s2t).map(|row| row.map(|v| -v));
    let m_full = add3(s1, mul3(s2, t));
    let m = [
        m_full[2].map(|v| v / 2.0),
        m_full[1].map(|v| -v),
        m_full[0].map(|v| v / 2.0),
    ];
    let conic1 = real_eigenvectors(m)
        .into_iter()
        .find(|v| 4.0 * v[0] * v[2] - v[1] * v[1] > 0.0)?;
    let conic2 = mul3v(t, conic1);
    let [a, b, c] = conic1;
    let [d, e, f] = conic2;
    let ellipse = conic_to_ellipse([a, b, c, d, e, f])?;
    Some(Ellipse {
        xc: ellipse.xc * scale + mx,
        yc: ellipse.yc * scale + my,
        a: ellipse.a * scale,
        b: ellipse.b * scale,
        theta: ellipse.theta,
    })
}

/// Centre, semi-axes and angle of the conic A x² + B xy + C y² + D x + E y + F = 0.
fn conic_to_ellipse([a, b, c, d, e, f]: [f64; 6]) -> Option<Ellipse> {
    let den = b * b - 4.0 * a * c;
    if den >= 0.0 {
        return None;
    }
    let xc = (2.0 * c * d - b * e) / den;
    let yc = (2.0 * a * e - b * d) / den;
    let num = 2.0 * (a * e * e + c * d * d - b * d * e + den * f);
    let root = ((a - c).powi(2) + b * b).sqrt();
    let major = -(num * (a + c + root)).sqrt() / den;
    let minor = -(num * (a + c - root)).sqrt() / den;
    if !(major.is_finite() && minor.is_finite()) || minor <= 0.0 {
        return None;
    }
    // Angle from the x axis to the major axis.
    let mut theta = 0.5 * (-b).atan2(c - a);
    if theta <= -std::f64::consts::FRAC_PI_2 {
        theta += std::f64::consts::PI;
    }
    Some(Ellipse {
        xc,
        yc,
        a: major,
        b: minor,
        theta,
    })
}

type M3 = [[f64; 3]; 3];

fn transpose3(m: M3) -> M3 {
    std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))
}

fn mul3(a: M3, b: M3) -> M3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn mul3v(a: M3, v: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| (0..3).map(|k| a[i][k] * v[k]).sum())
}

fn add3(a: M3, b: M3) -> M3 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[i][j] + b[i][j]))
}

fn det3(m: M3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn invert3(m: M3) -> Option<M3> {
    let det = det3(m);
    if det.abs() < 1e-300 {
        return None;
    }
    let cof =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    Some([
        [
            cof(1, 2, 1, 2) / det,
            -cof(0, 2, 1, 2) / det,
            cof(0, 1, 1, 2) / det,
        ],
        [
            -cof(1, 2, 0, 2) / det,
            cof(0, 2, 0, 2) / det,
            -cof(0, 1, 0, 2) / det,
        ],
        [
            cof(1, 2, 0, 1) / det,
            -cof(0, 2, 0, 1) / det,
            cof(0, 1, 0, 1) / det,
        ],
    ])
}

/// Eigenvectors of the real eigenvalues of a 3×3 matrix (roots of the characteristic
/// cubic; each vector from the largest cross product of two rows of M − λI).
fn real_eigenvectors(m: M3) -> Vec<[f64; 3]> {
    // λ³ − tr λ² + c1 λ − det = 0.
    let tr = m[0][0] + m[1][1] + m[2][2];
    let c1 = m[0][0] * m[1][1] - m[0][1] * m[1][0] + m[0][0] * m[2][2] - m[0][2] * m[2][0]
        + m[1][1] * m[2][2]
        - m[1][2] * m[2][1];
    let det = det3(m);
    cubic_roots(-tr, c1, -det)
        .into_iter()
        .filter_map(|lambda| {
            let a: M3 = std::array::from_fn(|i| {
                std::array::from_fn(|j| m[i][j] - if i == j { lambda } else { 0.0 })
            });
            let candidates = [cross3(a[0], a[1]), cross3(a[0], a[2]), cross3(a[1], a[2])];
            let best = candidates
                .into_iter()
                .max_by(|u, v| norm3(*u).total_cmp(&norm3(*v)))?;
            let len = norm3(best);
            (len > 0.0).then(|| best.map(|x| x / len))
        })
        .collect()
}

fn cross3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm3(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// Real roots of x³ + a x² + b x + c, polished by Newton steps.
fn cubic_roots(a: f64, b: f64, c: f64) -> Vec<f64> {
    let q = (a * a - 3.0 * b) / 9.0;
    let r = (2.0 * a * a * a - 9.0 * a * b + 27.0 * c) / 54.0;
    let mut roots = if r * r < q * q * q {
        let theta = (r / q.powf(1.5)).clamp(-1.0, 1.0).acos();
        let s = -2.0 * q.sqrt();
        vec![
            s * (theta / 3.0).cos() - a / 3.0,
            s * ((theta + 2.0 * std::f64::consts::PI) / 3.0).cos() - a / 3.0,
            s * ((theta - 2.0 * std::f64::consts::PI) / 3.0).cos() - a / 3.0,
        ]
    } else {
        let big_a = -r.signum() * (r.abs() + (r * r - q * q * q).sqrt()).cbrt();
        let big_b = if big_a != 0.0 { q / big_a } else { 0.0 };
        vec![big_a + big_b - a / 3.0]
    };
    for x in &mut roots {
        for _ in 0..3 {
            let f = ((*x + a) * *x + b) * *x + c;
            let df = (3.0 * *x + 2.0 * a) * *x + b;
            if df != 0.0 {
                *x -= f / df;
            }
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_ellipse() {
        let (xc, yc, a, b, theta) = (30.0, 25.0, 12.0, 7.0, 0.6f64);
        let points: Vec<[f64; 2]> = (0..40)
            .map(|i| {
                let t = i as f64 * std::f64::consts::TAU / 40.0;
                let (u, v) = (a * t.cos(), b * t.sin());
                [
                    xc + u * theta.cos() - v * theta.sin(),
                    yc + u * theta.sin() + v * theta.cos(),
                ]
            })
            .collect();
        let e = fit_ellipse(&points).unwrap();
        for (got, want) in [(e.xc, xc), (e.yc, yc), (e.a, a), (e.b, b), (e.theta, theta)] {
            assert!((got - want).abs() < 1e-9, "{e:?}");
        }
    }

    #[test]
    fn degenerate_inputs() {
        assert!(fit_ellipse(&[[0.0, 0.0]; 4]).is_none());
        let line: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, 2.0 * i as f64]).collect();
        assert!(fit_ellipse(&line).is_none());
    }

    #[test]
    fn outline_of_a_filled_disc() {
        let disc = Image::from_fn([21, 21], |[y, x]| {
            let (dy, dx) = (y as f64 - 10.0, x as f64 - 10.0);
            dy * dy + dx * dx <= 64.0 && !(y == 10 && x == 10)
        });
        let outline = mask_outline(&disc);
        // The hole at the centre is filled, so no outline point is near it.
        assert!(
            outline
                .iter()
                .all(|p| (p[0] - 10.0).abs() + (p[1] - 10.0).abs() > 5.0)
        );
        let e = fit_ellipse(&outline).unwrap();
        assert!((e.xc - 10.0).abs() < 1e-9 && (e.yc - 10.0).abs() < 1e-9);
        assert!((e.a - e.b).abs() < 0.3 && (e.a - 7.6).abs() < 0.5, "{e:?}");
    }
}
