//! How a soft sample becomes a shape: scaled about its centre, then thresholded.
//!
//! A DISPR sample leaves the sampler as soft values on the data grid (about −1 outside,
//! +1 inside). Its shape is the voxels above a level, 0 by default. The samples of the
//! models trained so far are too small at that level (the shipped model's median cell
//! gets 0.85 of its true volume, docs/accuracy.md), so a model can carry a correction
//! of their size, learnt on its own training cells (`dispr model calibrate`,
//! `dispr_nn::calibration`): either a lower level, or a scale by which each sample is
//! enlarged about its centroid before the threshold. The level lets the network's noisy
//! fringes through; the scale keeps the surface the network drew.

use serde::{Deserialize, Serialize};

use crate::grid::Volume;

/// How a model's size correction was learnt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeFit {
    /// None: level 0, scale 1.
    #[default]
    None,
    /// The level at which the median volume ratio on training cells is 1.
    Level,
    /// The scale at which the median volume ratio on training cells is 1.
    Scale,
}

impl SizeFit {
    /// Its name as flags and files spell it: `none`, `level`, `scale`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Level => "level",
            Self::Scale => "scale",
        }
    }
}

/// The size correction applied to a model's soft samples: its level and scale, and
/// how they were learnt. Written flat into `predict.json` and the calibration files
/// (`level`, `scale`, `size_fit`), so that files from before the scale still read.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SizeCorrection {
    /// How it was learnt.
    #[serde(default, rename = "size_fit")]
    pub fit: SizeFit,
    /// The threshold of the soft samples (0: their midpoint).
    #[serde(default)]
    pub level: f32,
    /// The factor each sample is enlarged by about its centroid (1: as sampled).
    #[serde(default = "one")]
    pub scale: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for SizeCorrection {
    fn default() -> Self {
        Self::NONE
    }
}

impl SizeCorrection {
    /// No correction: level 0, scale 1.
    pub const NONE: Self = Self {
        fit: SizeFit::None,
        level: 0.0,
        scale: 1.0,
    };

    /// A learnt level.
    pub fn level(level: f32) -> Self {
        Self {
            fit: SizeFit::Level,
            level,
            scale: 1.0,
        }
    }

    /// A learnt scale.
    pub fn scale(scale: f32) -> Self {
        Self {
            fit: SizeFit::Scale,
            level: 0.0,
            scale,
        }
    }

    /// Checks the values: a finite level within −1 … 1, a finite scale within
    /// 0.5 … 2.
    pub fn check(&self) -> Result<(), String> {
        if !self.level.is_finite() || self.level.abs() > 1.0 {
            return Err(format!("level {} is outside −1 … 1", self.level));
        }
        if !self.scale.is_finite() || !(0.5..=2.0).contains(&self.scale) {
            return Err(format!("scale {} is outside 0.5 … 2", self.scale));
        }
        Ok(())
    }

    /// The shape of one soft sample: enlarged by the scale about the centroid of its
    /// voxels above the level (trilinear), then the voxels above the level.
    pub fn apply(&self, soft: &Volume<f32>) -> Volume<bool> {
        let above = soft.map(|v| v > self.level);
        if self.scale == 1.0 {
            return above;
        }
        match above.centroid() {
            Some(centre) => soft
                .scaled_about(centre, self.scale as f64)
                .map(|v| v > self.level),
            None => above,
        }
    }

    /// True when predictions drawn with `other` were drawn by the same rule: the same
    /// kind of learnt correction (each model has its own values), or the same values
    /// when none was learnt.
    pub fn same_rule(&self, other: &Self) -> bool {
        self.fit == other.fit && (self.fit != SizeFit::None || self == other)
    }

    /// How users read it: `level 0`, `level −0.50 (learnt)`, `scale 1.058 (learnt)`.
    pub fn describe(&self) -> String {
        match self.fit {
            SizeFit::None if self.scale == 1.0 => format!("level {}", self.level),
            SizeFit::None => format!("level {} scale {:.3}", self.level, self.scale),
            SizeFit::Level => format!("level {:+.2} (learnt)", self.level),
            SizeFit::Scale => format!("scale {:.3} (learnt)", self.scale),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A soft ball of `radius` about `centre`: +1 inside, −1 outside, a linear ramp of
    /// one voxel between.
    fn ball(centre: [f64; 3], radius: f64) -> Volume<f32> {
        Volume::from_fn([24, 24, 24], |[z, y, x]| {
            let d = ((z as f64 - centre[0]).powi(2)
                + (y as f64 - centre[1]).powi(2)
                + (x as f64 - centre[2]).powi(2))
            .sqrt();
            (radius - d).clamp(-1.0, 1.0) as f32
        })
    }

    #[test]
    fn no_correction_is_the_midpoint_threshold() {
        let s = ball([12.0, 11.0, 10.0], 5.0);
        assert_eq!(SizeCorrection::NONE.apply(&s), s.map(|v| v > 0.0));
    }

    #[test]
    fn a_scale_enlarges_a_ball_about_its_own_centre() {
        // An off-centre ball of radius 5 scaled by 1.2 is the ball of radius 6 there.
        let centre = [10.0, 13.0, 11.0];
        let scaled = SizeCorrection::scale(1.2).apply(&ball(centre, 5.0));
        let target = ball(centre, 6.0).map(|v| v > 0.0);
        let differ = scaled
            .data()
            .iter()
            .zip(target.data())
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            differ * 50 < target.count(),
            "{differ} of {}",
            target.count()
        );
        let ratio = scaled.count() as f64 / target.count() as f64;
        assert!((ratio - 1.0).abs() < 0.02, "{ratio}");
        let c = scaled.centroid().unwrap();
        assert!((0..3).all(|a| (c[a] - centre[a]).abs() < 0.05), "{c:?}");
    }

    #[test]
    fn an_empty_sample_stays_empty() {
        let s = Volume::filled([8, 8, 8], -1.0f32);
        assert_eq!(SizeCorrection::scale(1.3).apply(&s).count(), 0);
    }

    #[test]
    fn rules_match_by_kind_when_learnt_and_by_value_when_not() {
        let a = SizeCorrection::scale(1.05);
        assert!(a.same_rule(&SizeCorrection::scale(1.10)));
        assert!(!a.same_rule(&SizeCorrection::level(-0.5)));
        assert!(!a.same_rule(&SizeCorrection::NONE));
        assert!(SizeCorrection::NONE.same_rule(&SizeCorrection::default()));
    }

    #[test]
    fn files_from_before_the_scale_still_read() {
        let old: SizeCorrection = serde_json::from_str(r#"{"level": 0.0}"#).unwrap();
        assert_eq!(old, SizeCorrection::NONE);
        let new = SizeCorrection::scale(1.06);
        let text = serde_json::to_string(&new).unwrap();
        assert!(text.contains(r#""size_fit":"scale""#), "{text}");
        assert_eq!(serde_json::from_str::<SizeCorrection>(&text).unwrap(), new);
    }

    #[test]
    fn values_out_of_range_are_refused() {
        assert!(SizeCorrection::scale(f32::NAN).check().is_err());
        assert!(SizeCorrection::scale(3.0).check().is_err());
        assert!(SizeCorrection::level(-1.5).check().is_err());
        assert!(SizeCorrection::scale(1.06).check().is_ok());
    }
}
