//! Shape models of the six red-blood-cell classes (PHANTOMS.md, "Geometry"), as signed
//! distance fields in µm built from parts joined by smooth unions.

use rand::{Rng, RngExt};

use super::sdf::{
    M3, V3, add, ellipsoid, euler_zxz, frame_along, length, normalize, rotate, round_cone, scale,
    smooth_subtract, smooth_union, sphere, sub,
};
use crate::data::class::{CellClass, SdeShape};

/// Uniform sample in [lo, hi).
pub fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Standard normal sample (Box–Muller with libm, identical on every platform).
pub fn normal(rng: &mut impl Rng, mean: f64, sd: f64) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    mean + sd * libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// An Evans–Fung disc in its own frame (plane xy, axis z), with the variations the
/// classes need: bend into a cup, lobed outline, central ridge.
#[derive(Clone, Debug)]
pub struct Disc {
    /// Radius (µm).
    pub radius: f64,
    /// Evans–Fung coefficients (c0, c1, c2), already scaled by the thickness factor.
    pub c: [f64; 3],
    /// Cup bend: the mid-surface rises by κ·R·u.
    pub bend: f64,
    /// Outline R(φ) = R(1 + ε cos k(φ − φ0)) with (ε, k, φ0).
    pub lobes: (f64, f64, f64),
    /// x stretch of the outline (elliptic discs), ≥ 1.
    pub aspect: f64,
    /// Knizocyte ridge: height A, width w, direction ψ of the ridge in the plane.
    pub ridge: (f64, f64, f64),
}

impl Disc {
    /// A plain discocyte of radius `r`.
    pub fn plain(radius: f64) -> Disc {
        Disc {
            radius,
            c: [0.2072, 2.0026, -1.1228],
            bend: 0.0,
            lobes: (0.0, 3.0, 0.0),
            aspect: 1.0,
            ridge: (0.0, 1.0, 0.0),
        }
    }

    /// Outline radius in direction φ.
    fn rim(&self, x: f64, y: f64) -> f64 {
        let (eps, k, phi0) = self.lobes;
        let phi = libm::atan2(y, x / self.aspect);
        self.radius * (1.0 + eps * libm::cos(k * (phi - phi0)))
    }

    /// Approximate signed distance in the disc's frame.
    pub fn distance(&self, p: V3) -> f64 {
        let (x, y, z) = (p[0] / self.aspect, p[1], p[2]);
        let rho = (x * x + y * y).sqrt();
        let rim = self.rim(p[0], p[1]);
        let u = (rho / rim).powi(2);
        let bend = |u: f64| self.bend * self.radius * u;
        if u >= 1.0 {
            // Outside the outline: distance to the rim circle.
            return ((rho - rim).powi(2) + (z - bend(1.0)).powi(2)).sqrt();
        }
        let root = (1.0 - u).sqrt();
        let [c0, c1, c2] = self.c;
        let mut h = rim * root * (c0 + c1 * u + c2 * u * u);
        let (a, w, psi) = self.ridge;
        if a > 0.0 {
            let across = -x * libm::sin(psi) + y * libm::cos(psi);
            h += a * libm::exp(-(across / w).powi(2)) * root;
        }
        let vertical = (z - bend(u)).abs() - h / 2.0;
        vertical.max(rho - rim)
    }

    /// Height of the disc's mid-surface at the rim (for placing rim bumps).
    pub fn rim_height(&self) -> f64 {
        self.bend * self.radius
    }
}

/// One building block of a cell, placed in the cell's frame (µm).
#[derive(Clone, Debug)]
pub enum Part {
    /// A disc: world point = rot · local point + centre.
    Disc {
        /// Centre.
        centre: V3,
        /// Rotation from the disc's frame to the cell's.
        rot: M3,
        /// The disc in its own frame.
        disc: Disc,
    },
    /// An ellipsoid.
    Ellipsoid {
        /// Centre.
        centre: V3,
        /// Rotation from the ellipsoid's axes to the cell's frame.
        rot: M3,
        /// Semi-axes.
        radii: V3,
    },
    /// A sphere.
    Sphere {
        /// Centre.
        centre: V3,
        /// Radius.
        radius: f64,
    },
    /// A round cone (a spicule).
    Cone {
        /// Centre of the base sphere.
        base: V3,
        /// Frame whose third axis is the cone's axis.
        frame: M3,
        /// Base radius.
        r1: f64,
        /// Tip radius.
        r2: f64,
        /// Distance from base to tip centre.
        length: f64,
    },
    /// An infinite cylinder (for cuts).
    Cylinder {
        /// A point on the axis.
        centre: V3,
        /// Frame whose third axis is the cylinder's axis.
        frame: M3,
        /// Radius.
        radius: f64,
    },
}

impl Part {
    /// Signed distance (µm).
    pub fn distance(&self, p: V3) -> f64 {
        match self {
            Part::Disc { centre, rot, disc } => {
                disc.distance(super::sdf::rotate_back(rot, sub(p, *centre)))
            }
            Part::Ellipsoid { centre, rot, radii } => {
                ellipsoid(super::sdf::rotate_back(rot, sub(p, *centre)), *radii)
            }
            Part::Sphere { centre, radius } => sphere(sub(p, *centre), *radius),
            Part::Cone {
                base,
                frame,
                r1,
                r2,
                length,
            } => round_cone(rotate(frame, sub(p, *base)), *r1, *r2, *length),
            Part::Cylinder {
                centre,
                frame,
                radius,
            } => {
                let q = rotate(frame, sub(p, *centre));
                (q[0] * q[0] + q[1] * q[1]).sqrt() - radius
            }
        }
    }

    /// A sphere (centre, radius) holding the part (for skipping far parts).
    pub fn bounds(&self) -> (V3, f64) {
        match self {
            Part::Disc { centre, disc, .. } => {
                let r = disc.radius * (1.0 + disc.lobes.0) * disc.aspect;
                (*centre, r + disc.rim_height().abs() + 2.0 + disc.ridge.0)
            }
            Part::Ellipsoid { centre, radii, .. } => {
                (*centre, radii[0].max(radii[1]).max(radii[2]))
            }
            Part::Sphere { centre, radius } => (*centre, *radius),
            Part::Cone {
                base,
                frame,
                r1,
                r2,
                length,
            } => (
                add(*base, scale(frame[2], length / 2.0)),
                length / 2.0 + r1.max(*r2),
            ),
            Part::Cylinder { .. } => ([0.0; 3], f64::INFINITY),
        }
    }
}

/// A cell: parts joined by a smooth union, minus cut parts.
#[derive(Clone, Debug)]
pub struct CellShape {
    /// Joined parts, largest first.
    pub parts: Vec<Part>,
    /// Subtracted parts.
    pub cuts: Vec<Part>,
    /// Smooth-union blend width (µm).
    pub blend: f64,
    bounds: Vec<(V3, f64)>,
}

impl CellShape {
    /// A shape from its parts.
    pub fn new(parts: Vec<Part>, cuts: Vec<Part>, blend: f64) -> CellShape {
        let bounds = parts.iter().map(Part::bounds).collect();
        CellShape {
            parts,
            cuts,
            blend,
            bounds,
        }
    }

    /// Signed distance (µm); parts that cannot change the result are skipped.
    pub fn distance(&self, p: V3) -> f64 {
        let mut d = f64::INFINITY;
        for (part, (c, r)) in self.parts.iter().zip(&self.bounds) {
            let lower = length(sub(p, *c)) - r;
            if lower > d + self.blend {
                continue;
            }
            d = if d.is_infinite() {
                part.distance(p)
            } else {
                smooth_union(d, part.distance(p), self.blend)
            };
        }
        for cut in &self.cuts {
            d = smooth_subtract(d, cut.distance(p), self.blend);
        }
        d
    }

    /// Distance from the origin-relative point `from` to the surface along `dir` (unit),
    /// by bisection; `from` must be inside.
    pub fn extent(&self, from: V3, dir: V3) -> f64 {
        let (mut lo, mut hi) = (0.0, 0.5);
        while self.distance(add(from, scale(dir, hi))) < 0.0 && hi < 40.0 {
            lo = hi;
            hi *= 2.0;
        }
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.distance(add(from, scale(dir, mid))) < 0.0 {
                lo = mid
            } else {
                hi = mid
            }
        }
        0.5 * (lo + hi)
    }

    /// Moves every part by `offset`.
    pub fn translated(&self, offset: V3) -> CellShape {
        self.transformed(&IDENTITY, offset)
    }

    /// Turns every part about the origin by `rot`.
    pub fn rotated(&self, rot: &M3) -> CellShape {
        self.transformed(rot, [0.0; 3])
    }

    /// The rigid motion p ↦ rot · p + offset applied to every part.
    fn transformed(&self, rot: &M3, offset: V3) -> CellShape {
        let place = |p: V3| add(rotate(rot, p), offset);
        let turn = |part: &Part| match part.clone() {
            Part::Disc {
                centre,
                rot: r,
                disc,
            } => Part::Disc {
                centre: place(centre),
                rot: compose(rot, &r),
                disc,
            },
            Part::Ellipsoid {
                centre,
                rot: r,
                radii,
            } => Part::Ellipsoid {
                centre: place(centre),
                rot: compose(rot, &r),
                radii,
            },
            Part::Sphere { centre, radius } => Part::Sphere {
                centre: place(centre),
                radius,
            },
            Part::Cone {
                base,
                frame,
                r1,
                r2,
                length,
            } => Part::Cone {
                base: place(base),
                frame: frame_along(rotate(rot, frame[2])),
                r1,
                r2,
                length,
            },
            Part::Cylinder {
                centre,
                frame,
                radius,
            } => Part::Cylinder {
                centre: place(centre),
                frame: frame_along(rotate(rot, frame[2])),
                radius,
            },
        };
        CellShape::new(
            self.parts.iter().map(turn).collect(),
            self.cuts.iter().map(turn).collect(),
            self.blend,
        )
    }
}

/// A random orientation: α, γ uniform; β as PHANTOMS.md says per class (cells prefer to
/// lie flat).
pub fn orientation(rng: &mut impl Rng, class: CellClass) -> M3 {
    let alpha = uniform(rng, 0.0, std::f64::consts::TAU);
    let gamma = uniform(rng, 0.0, std::f64::consts::TAU);
    let deg = std::f64::consts::PI / 180.0;
    let beta = if class == CellClass::Keratocyte {
        let pick = rng.random::<f64>();
        if pick < 0.5 {
            uniform(rng, 0.0, 20.0) * deg
        } else if pick < 0.5 + 1.0 / 3.0 {
            uniform(rng, 20.0, 45.0) * deg
        } else {
            uniform(rng, 45.0, 90.0) * deg
        }
    } else if rng.random::<f64>() < 0.5 {
        normal(rng, 0.0, 15.0).abs().min(90.0) * deg
    } else {
        libm::acos(uniform(rng, -1.0, 1.0))
    };
    euler_zxz(alpha, beta, gamma)
}

/// Directions spread evenly over the sphere (Fibonacci lattice) with jitter.
fn fibonacci_directions(rng: &mut impl Rng, n: usize, jitter: f64) -> Vec<V3> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            let r = (1.0 - z * z).max(0.0).sqrt();
            let phi = golden * i as f64;
            let d = [r * libm::cos(phi), r * libm::sin(phi), z];
            let j = [
                normal(rng, 0.0, jitter),
                normal(rng, 0.0, jitter),
                normal(rng, 0.0, jitter),
            ];
            normalize(add(d, j))
        })
        .collect()
}

/// Outward normal of a shape at `p` (central differences).
fn surface_normal(shape: &CellShape, p: V3) -> V3 {
    let e = 1e-3;
    normalize(std::array::from_fn(|a| {
        let mut hi = p;
        let mut lo = p;
        hi[a] += e;
        lo[a] -= e;
        shape.distance(hi) - shape.distance(lo)
    }))
}

/// Spicules (round cones along the surface normal) on `body`, in random directions.
fn spicules(
    rng: &mut impl Rng,
    body: &CellShape,
    centre: V3,
    dirs: &[V3],
    len: (f64, f64),
    base: (f64, f64),
    knob: Option<(f64, f64, f64)>,
) -> Vec<Part> {
    let mut parts = Vec::new();
    for &dir in dirs {
        let at = add(centre, scale(dir, body.extent(centre, dir)));
        let normal = surface_normal(body, at);
        let (r1, length) = (uniform(rng, base.0, base.1), uniform(rng, len.0, len.1));
        let r2 = (r1 * 0.4).max(0.1);
        let start = sub(at, scale(normal, r1 * 0.5));
        parts.push(Part::Cone {
            base: start,
            frame: frame_along(normal),
            r1,
            r2,
            length: length + r1 * 0.5,
        });
        if let Some((p, k_lo, k_hi)) = knob
            && rng.random::<f64>() < p
        {
            parts.push(Part::Sphere {
                centre: add(start, scale(normal, length + r1 * 0.5)),
                radius: uniform(rng, k_lo, k_hi),
            });
        }
    }
    parts
}

/// An axis-aligned ellipsoid at the origin: the body of spheroidal cells.
fn core_ellipsoid(radii: V3) -> Part {
    Part::Ellipsoid {
        centre: [0.0; 3],
        rot: IDENTITY,
        radii,
    }
}

/// `core` and spicules on it in the directions `dirs` (`body_blend` joins the core for
/// finding where the spicules stand).
fn spiky(
    rng: &mut impl Rng,
    core: Part,
    body_blend: f64,
    dirs: &[V3],
    len: (f64, f64),
    base: (f64, f64),
    knob: Option<(f64, f64, f64)>,
) -> Vec<Part> {
    let body = CellShape::new(vec![core.clone()], vec![], body_blend);
    let mut parts = vec![core];
    parts.extend(spicules(rng, &body, [0.0; 3], dirs, len, base, knob));
    parts
}

/// The geometry of one SDE cell at the origin, unrotated (disc plane xy).
pub fn sde_body(rng: &mut impl Rng, shape: SdeShape) -> CellShape {
    let blend = uniform(rng, 0.1, 0.3);
    let disc_part = |disc: Disc| Part::Disc {
        centre: [0.0; 3],
        rot: IDENTITY,
        disc,
    };
    match shape {
        SdeShape::Spherocyte => {
            let r = normal(rng, 6.0, 0.3) / 2.0;
            let ratio = uniform(rng, 0.7, 1.0);
            CellShape::new(vec![core_ellipsoid([r, r, r * ratio])], vec![], blend)
        }
        SdeShape::StomatocyteII | SdeShape::StomatocyteI => {
            let mut disc = Disc::plain(normal(rng, 7.8, 0.5) / 2.0);
            disc.c[0] = uniform(rng, 0.3, 0.6);
            disc.bend = if shape == SdeShape::StomatocyteII {
                uniform(rng, 0.35, 0.7)
            } else {
                uniform(rng, 0.15, 0.35)
            };
            CellShape::new(vec![disc_part(disc)], vec![], blend)
        }
        SdeShape::Discocyte => CellShape::new(vec![disc_part(discocyte_disc(rng))], vec![], blend),
        SdeShape::EchinocyteI => {
            let disc = discocyte_disc(rng);
            let n = rng.random_range(8..=20);
            let phase = uniform(rng, 0.0, std::f64::consts::TAU);
            let mut parts = vec![];
            for i in 0..n {
                let phi =
                    phase + std::f64::consts::TAU * i as f64 / n as f64 + normal(rng, 0.0, 0.1);
                let rim = disc.radius
                    * (1.0 + disc.lobes.0 * libm::cos(disc.lobes.1 * (phi - disc.lobes.2)));
                let r = uniform(rng, 0.2, 0.4);
                let at = [
                    rim * libm::cos(phi) * disc.aspect,
                    rim * libm::sin(phi),
                    disc.rim_height(),
                ];
                parts.push(Part::Sphere {
                    centre: scale(at, (rim + r * 0.3) / rim),
                    radius: r + 0.2,
                });
            }
            parts.insert(0, disc_part(disc));
            CellShape::new(parts, vec![], blend)
        }
        SdeShape::EchinocyteII => {
            let mut disc = discocyte_disc(rng);
            disc.c[0] *= 2.5; // flattened: no central pallor
            let n = rng.random_range(10..=30);
            let dirs = fibonacci_directions(rng, n, 0.15);
            let parts = spiky(
                rng,
                disc_part(disc),
                blend,
                &dirs,
                (0.4, 1.0),
                (0.25, 0.4),
                None,
            );
            CellShape::new(parts, vec![], blend)
        }
        SdeShape::EchinocyteIII => {
            let r = normal(rng, 6.2, 0.4) / 2.0;
            let radii = [r, r, r * uniform(rng, 0.6, 0.9)];
            let core = core_ellipsoid(radii);
            let n = rng.random_range(30..=50);
            let dirs = fibonacci_directions(rng, n, 0.1);
            let parts = spiky(rng, core, blend, &dirs, (0.4, 1.0), (0.25, 0.4), None);
            CellShape::new(parts, vec![], blend)
        }
    }
}

/// A discocyte's disc: diameter N(7.8, 0.5), thickness ×U(0.85, 1.15), c0 ×U(0.7, 1.5),
/// slightly elliptic outline.
fn discocyte_disc(rng: &mut impl Rng) -> Disc {
    let mut disc = Disc::plain(normal(rng, 7.8, 0.5) / 2.0);
    let thickness = uniform(rng, 0.85, 1.15);
    disc.c = [
        disc.c[0] * uniform(rng, 0.7, 1.5) * thickness,
        disc.c[1] * thickness,
        disc.c[2] * thickness,
    ];
    disc.aspect = uniform(rng, 1.0, 1.08);
    disc
}

/// The SDE shapes in the paper's proportions (93 / 12 / 30 / 176 / 47 / 77 / 168).
pub fn sample_sde_shape(rng: &mut impl Rng) -> SdeShape {
    const WEIGHTS: [f64; 7] = [93.0, 12.0, 30.0, 176.0, 47.0, 77.0, 168.0];
    let total: f64 = WEIGHTS.iter().sum();
    let mut pick = rng.random::<f64>() * total;
    for (shape, w) in SdeShape::ALL.into_iter().zip(WEIGHTS) {
        if pick < w {
            return shape;
        }
        pick -= w;
    }
    SdeShape::EchinocyteIII
}

/// The identity rotation.
const IDENTITY: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// a · b.
fn compose(a: &M3, b: &M3) -> M3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

/// A random cell of `class` (with its SDE shape for SDE cells), centred at the origin,
/// oriented. Units: µm.
pub fn sample_cell(rng: &mut impl Rng, class: CellClass, sde: Option<SdeShape>) -> CellShape {
    let rot = orientation(rng, class);
    let body = match class {
        CellClass::Sde => {
            let shape = sde.unwrap_or_else(|| sample_sde_shape(rng));
            sde_body(rng, shape)
        }
        CellClass::Keratocyte => {
            let mut disc = Disc::plain(uniform(rng, 6.5, 8.5) / 2.0);
            disc.bend = uniform(rng, 0.0, 0.3);
            let r = disc.radius;
            let phi = uniform(rng, 0.0, std::f64::consts::TAU);
            // A cylinder along the disc's axis bites a notch out of the rim, leaving two
            // horns. PHANTOMS.md suggests radius U(0.25, 0.5)·D with its axis
            // U(0.25, 0.6)·R inside the rim; that often punches a hole instead of a notch
            // and leaves too little cell (mask area 670 px against the real 1100). Here
            // the radius is U(0.3, 0.7)·R and the axis sits within 0.2–0.8 of that radius
            // of the rim, so the bite always opens outward.
            let cut_r = uniform(rng, 0.3, 0.7) * r;
            let inside = uniform(rng, 0.2, 0.8) * cut_r;
            let c = scale([libm::cos(phi), libm::sin(phi), 0.0], r - inside);
            let blend = uniform(rng, 0.1, 0.3);
            CellShape::new(
                vec![Part::Disc {
                    centre: [0.0; 3],
                    rot: IDENTITY,
                    disc,
                }],
                vec![Part::Cylinder {
                    centre: c,
                    frame: frame_along([0.0, 0.0, 1.0]),
                    radius: cut_r,
                }],
                blend,
            )
        }
        CellClass::Knizocyte => {
            // Smaller than a discocyte (real knizocyte masks: 950 px against 1100 for
            // keratocytes), thicker and more bowl-shaped than PHANTOMS.md's estimates,
            // which gave only 38 of the real 47 slices in z.
            let mut disc = Disc::plain(normal(rng, 7.0, 0.5) / 2.0);
            disc.c = disc.c.map(|c| c * 1.6);
            disc.ridge = (
                uniform(rng, 0.5, 1.2),
                uniform(rng, 0.6, 1.0),
                uniform(rng, 0.0, std::f64::consts::PI),
            );
            disc.lobes = (
                uniform(rng, 0.05, 0.15),
                3.0,
                uniform(rng, 0.0, std::f64::consts::TAU),
            );
            disc.bend = uniform(rng, 0.4, 0.8);
            CellShape::new(
                vec![Part::Disc {
                    centre: [0.0; 3],
                    rot: IDENTITY,
                    disc,
                }],
                vec![],
                uniform(rng, 0.1, 0.3),
            )
        }
        CellClass::Multilobate => {
            // PHANTOMS.md's core semi-axes ×1.15: real multilobate cells span 46 voxels
            // in xy and 50 in z, the estimates 40 and 41.
            let radii = [
                uniform(rng, 2.6, 3.6) * 1.15,
                uniform(rng, 2.4, 3.3) * 1.15,
                uniform(rng, 2.2, 3.0) * 1.15,
            ];
            let core = core_ellipsoid(radii);
            let n = rng.random_range(3..=7);
            let dirs = fibonacci_directions(rng, n, 0.4);
            let mut parts = vec![core];
            for d in dirs {
                let reach = length([d[0] * radii[0], d[1] * radii[1], d[2] * radii[2]]);
                parts.push(Part::Sphere {
                    centre: scale(d, reach * uniform(rng, 0.6, 0.95)),
                    radius: uniform(rng, 0.8, 1.8),
                });
            }
            CellShape::new(parts, vec![], uniform(rng, 0.2, 0.4))
        }
        CellClass::Acanthocyte => {
            let r = uniform(rng, 5.8, 7.2) / 2.0;
            let radii = [r, r, r * uniform(rng, 0.6, 1.0)];
            let core = core_ellipsoid(radii);
            let n = rng.random_range(3..=12);
            let dirs: Vec<V3> = (0..n)
                .map(|_| {
                    normalize([
                        normal(rng, 0.0, 1.0),
                        normal(rng, 0.0, 1.0),
                        normal(rng, 0.0, 1.0),
                    ])
                })
                .collect();
            let parts = spiky(
                rng,
                core,
                0.2,
                &dirs,
                (0.5, 2.0),
                (0.15, 0.3),
                Some((0.5, 0.3, 0.5)),
            );
            CellShape::new(parts, vec![], uniform(rng, 0.1, 0.3))
        }
        CellClass::Cluster => return sample_cluster(rng),
    };
    body.rotated(&rot)
}

/// 2 (60 %), 3 (30 %) or 4 (10 %) SDE cells touching with 1–2 µm overlap, each
/// oriented independently; 15 % stacked face to face (rouleaux).
fn sample_cluster(rng: &mut impl Rng) -> CellShape {
    let pick = rng.random::<f64>();
    let count = if pick < 0.6 {
        2
    } else if pick < 0.9 {
        3
    } else {
        4
    };
    let rouleaux = rng.random::<f64>() < 0.15;
    let shared = orientation(rng, CellClass::Sde);
    let mut cluster: Option<CellShape> = None;
    let mut centroid = [0.0; 3];
    for i in 0..count {
        let kind = if rouleaux {
            SdeShape::Discocyte
        } else {
            sample_sde_shape(rng)
        };
        let body = sde_body(rng, kind);
        let rot = if rouleaux {
            shared
        } else {
            orientation(rng, CellClass::Sde)
        };
        let cell = body.rotated(&rot);
        let Some(current) = cluster.take() else {
            cluster = Some(cell);
            continue;
        };
        // Direction from the cluster's centroid: along the shared axis for rouleaux,
        // otherwise often steep: real clusters' central slices cut about one cell (mask
        // area 1580 px), so their cells lie at different heights more than side by side.
        let dir = if rouleaux {
            rotate(&shared, [0.0, 0.0, 1.0])
        } else {
            let a = uniform(rng, 0.0, std::f64::consts::TAU);
            normalize([libm::cos(a), libm::sin(a), normal(rng, 0.0, 0.8)])
        };
        let from = centroid;
        let reach = current.extent(from, dir) + cell.extent([0.0; 3], scale(dir, -1.0));
        // PHANTOMS.md's 0–0.5 µm overlap spreads clusters wider than the real ones
        // (mask area 2200 px against 1580): cells overlap by 1–2 µm.
        let offset = add(from, scale(dir, reach - uniform(rng, 1.0, 2.0)));
        let moved = cell.translated(offset);
        let mut parts = current.parts.clone();
        parts.extend(moved.parts);
        let mut cuts = current.cuts.clone();
        cuts.extend(moved.cuts);
        centroid = scale(
            add(scale(centroid, i as f64), offset),
            1.0 / (i as f64 + 1.0),
        );
        cluster = Some(CellShape::new(parts, cuts, current.blend.min(0.15)));
    }
    let cluster = cluster.expect("at least two cells");
    cluster.translated(scale(centroid, -1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(11)
    }

    /// Full thickness of an unrotated shape along z at in-plane radius ρ (µm).
    fn thickness(shape: &CellShape, rho: f64) -> f64 {
        let inside: Vec<f64> = (-400..=400)
            .map(|i| i as f64 * 0.01)
            .filter(|&z| shape.distance([rho, 0.0, z]) < 0.0)
            .collect();
        inside.len() as f64 * 0.01
    }

    fn cones(shape: &CellShape) -> usize {
        shape
            .parts
            .iter()
            .filter(|p| matches!(p, Part::Cone { .. }))
            .count()
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn discocytes_have_evans_fung_dimensions() {
        // Evans & Fung (1972): diameter 7.8 ± 0.5 µm, 0.81 µm thick at the centre,
        // 2.57 µm at the thickest.
        let mut r = rng();
        let cells: Vec<CellShape> = (0..40)
            .map(|_| sde_body(&mut r, SdeShape::Discocyte))
            .collect();
        let diameters: Vec<f64> = cells
            .iter()
            .map(|c| c.extent([0.0; 3], [0.0, 1.0, 0.0]) * 2.0)
            .collect();
        assert!(
            (median(diameters.clone()) - 7.8).abs() < 0.3,
            "{diameters:?}"
        );
        let centre = median(cells.iter().map(|c| thickness(c, 0.0)).collect());
        let rim = median(
            cells
                .iter()
                .map(|c| {
                    (10..40)
                        .map(|i| thickness(c, i as f64 * 0.1))
                        .fold(0.0, f64::max)
                })
                .collect(),
        );
        assert!((0.6..1.3).contains(&centre), "centre {centre}");
        assert!((2.2..2.9).contains(&rim), "rim {rim}");
        assert!(rim > 2.0 * centre, "a biconcave disc");
    }

    #[test]
    fn spherocytes_and_echinocytes() {
        let mut r = rng();
        for _ in 0..20 {
            let s = sde_body(&mut r, SdeShape::Spherocyte);
            let d = s.extent([0.0; 3], [1.0, 0.0, 0.0]) * 2.0;
            assert!((5.0..7.0).contains(&d), "spherocyte diameter {d}");
            let e2 = sde_body(&mut r, SdeShape::EchinocyteII);
            assert!((10..=30).contains(&cones(&e2)));
            let e3 = sde_body(&mut r, SdeShape::EchinocyteIII);
            assert!((30..=50).contains(&cones(&e3)));
            // Spicules stick out: their tips are part of the cell, beyond the spheroid.
            let Part::Ellipsoid { radii, .. } = e3.parts[0] else {
                panic!("core first")
            };
            for part in &e3.parts[1..] {
                let Part::Cone {
                    base,
                    frame,
                    length,
                    ..
                } = part
                else {
                    continue;
                };
                let tip = add(*base, scale(frame[2], *length));
                assert!(e3.distance(tip) < 0.05, "tip inside the cell");
                assert!(
                    super::super::sdf::length(tip) > radii[2] + 0.3,
                    "tip beyond the body"
                );
            }
        }
        let e1 = sde_body(&mut r, SdeShape::EchinocyteI);
        let bumps = e1
            .parts
            .iter()
            .filter(|p| matches!(p, Part::Sphere { .. }))
            .count();
        assert!((8..=20).contains(&bumps));
    }

    #[test]
    fn stomatocytes_are_cups() {
        let mut r = rng();
        for shape in [SdeShape::StomatocyteI, SdeShape::StomatocyteII] {
            let s = sde_body(&mut r, shape);
            let Part::Disc { disc, .. } = &s.parts[0] else {
                panic!("a disc")
            };
            assert!(disc.bend > 0.1, "{shape:?} bend {}", disc.bend);
            // The rim sits above the centre: the mid-surface is a cup.
            assert!(disc.rim_height() > 0.4);
        }
    }

    #[test]
    fn acanthocytes_keratocytes_knizocytes_multilobates() {
        let mut r = rng();
        for _ in 0..20 {
            let a = sample_cell(&mut r, CellClass::Acanthocyte, None);
            assert!((3..=24).contains(&cones(&a)), "3–12 spicules (+ knobs)");
            let Part::Ellipsoid { radii, .. } = a.parts[0] else {
                panic!("core first")
            };
            assert!((2.9..=3.6).contains(&radii[0]), "diameter 5.8–7.2 µm");
            let k = sample_cell(&mut r, CellClass::Keratocyte, None);
            assert_eq!(k.cuts.len(), 1, "one notch");
            let m = sample_cell(&mut r, CellClass::Multilobate, None);
            assert!((4..=8).contains(&m.parts.len()), "core and 3–7 lobes");
            let c = sample_cell(&mut r, CellClass::Cluster, None);
            assert!(c.parts.len() >= 2);
        }
    }
}
