//! Gaussian noise from a seeded ChaCha8 stream, generated on the CPU so that training
//! and sampling are reproducible bit for bit whatever the backend (and a resumed run
//! draws exactly the noise the uninterrupted one would have).

use burn::prelude::*;
use rand::{Rng, RngExt};

/// `n` standard normal values (Box–Muller with `libm`, identical on every platform).
pub fn gaussian(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 in (0, 1]: never log(0).
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let r = libm::sqrt(-2.0 * libm::log(u1));
        let angle = 2.0 * std::f64::consts::PI * u2;
        out.push((r * libm::cos(angle)) as f32);
        out.push((r * libm::sin(angle)) as f32);
    }
    out.truncate(n);
    out
}

/// A tensor of standard normal values.
pub fn gaussian_tensor(rng: &mut impl Rng, shape: [usize; 5], device: &Device) -> Tensor<5> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(gaussian(rng, n), shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn moments_are_standard_normal() {
        let v = gaussian(&mut ChaCha8Rng::seed_from_u64(1), 200_001);
        assert_eq!(v.len(), 200_001);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
        let tail = v.iter().filter(|x| x.abs() > 1.96).count() as f64 / n;
        assert!((tail - 0.05).abs() < 0.003, "{tail}");
    }
}
