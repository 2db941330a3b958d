//! Choosing where tensors live at run time: `cpu` (burn's pure-Rust flex backend,
//! always available), `cuda` and `wgpu` when dispr is built with those features.

use burn::prelude::{Device, Module};

/// Where a network runs, as `--device` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DeviceKind {
    /// burn's pure-Rust flex backend on the CPU (always available).
    #[default]
    Cpu,
    /// The first CUDA GPU (builds with `--features cuda`).
    Cuda,
    /// The default wgpu adapter: Vulkan, Metal, DX12 (builds with `--features wgpu`).
    Wgpu,
}

impl DeviceKind {
    /// `cpu`, `cuda` or `wgpu`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Wgpu => "wgpu",
        }
    }

    /// The device; the error says when this build lacks its backend.
    pub fn open(self) -> crate::Result<Device> {
        parse(self.name())
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// The device names this build accepts.
pub fn available() -> Vec<&'static str> {
    let mut names = vec!["cpu"];
    if cfg!(feature = "cuda") {
        names.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    names
}

/// The device called `name`; the error (a bad setting: `dispr` exits 2) says which
/// names this build supports.
pub fn parse(name: &str) -> crate::Result<Device> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::prelude::DeviceKind::DefaultDevice)),
        // A GPU this build lacks (with both features, the arms above take both names).
        other if other == "cuda" || other == "wgpu" => Err(crate::Error::BadSetting(format!(
            "device '{other}' needs dispr built with `--features {other}` (this build has: {})",
            available().join(", ")
        ))),
        other => Err(crate::Error::BadSetting(format!(
            "unknown device '{other}' (expected one of: {})",
            available().join(", ")
        ))),
    }
}

/// Held while a network's initial weights are drawn ([`seeded_init`]).
static DRAWING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A network's initial weights, drawn from `seed` on the CPU and loaded onto `device`:
/// one seed gives the same weights on every device (a GPU backend's own generator draws
/// other numbers from the same seed). `init` builds the network on a device; burn draws
/// a parameter only when it is first used, so the CPU's network is drawn (turned into a
/// record) before it is loaded into the one built on `device`.
pub fn seeded_init<M: Module>(seed: u64, device: &Device, init: impl Fn(&Device) -> M) -> M {
    // The backends' generators are global to the process: two networks drawn at once
    // (e.g. `dispr reproduce --jobs 2` starting two trainings) would interleave their
    // draws, and neither would be the one its seed gives. One network is drawn at a time.
    let _drawing = DRAWING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // What the device itself draws later (e.g. dropout) follows the seed too; seeded
    // first, so on the CPU the draws are those of a network built there directly.
    device.seed(seed);
    let cpu = Device::flex();
    cpu.seed(seed);
    let drawn = init(&cpu).into_record();
    init(device).load_record(drawn)
}

/// Threads the CPU backend uses: rayon's global pool, which burn's flex backend runs on
/// (`RAYON_NUM_THREADS` sets it; by default one per core).
pub fn cpu_threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_or_absent_device_is_a_bad_setting_naming_what_this_build_has() {
        assert!(parse("cpu").is_ok());
        let absent = ["tpu", "cuda", "wgpu"]
            .into_iter()
            .filter(|name| !available().contains(name));
        for name in absent {
            let err = parse(name).expect_err("a device this build lacks");
            assert!(matches!(err, crate::Error::BadSetting(_)), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert!(err.to_string().contains("cpu"), "{err}");
        }
    }
}
