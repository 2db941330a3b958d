//! Choosing where tensors live at run time: `cpu` (burn's pure-Rust flex backend,
//! always available), `cuda` and `wgpu` when dispr is built with those features.

use burn::prelude::Device;

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

/// The device called `name`; the error says which names this build supports.
pub fn parse(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::prelude::DeviceKind::DefaultDevice)),
        "cuda" | "wgpu" => Err(format!(
            "device '{name}' needs dispr built with `--features {name}` (this build has: {})",
            available().join(", ")
        )),
        other => Err(format!(
            "unknown device '{other}' (expected one of: {})",
            available().join(", ")
        )),
    }
}

/// Threads the CPU backend uses: rayon's global pool, which burn's flex backend runs on
/// (`RAYON_NUM_THREADS` sets it; by default one per core).
pub fn cpu_threads() -> usize {
    rayon::current_num_threads()
}
