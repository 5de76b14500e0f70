//! C and Zig scenarios: C bindings generated from the contract, compiled
//! with the Zig toolchain (PyPI `ziglang`, which carries clang and a
//! current wasi-libc), so neither language needs a system C toolchain.

use super::BuildError;
use super::native::NativeBuild;
use super::toolchain::Toolchain;
use crate::catalog::Language;

/// PyPI `ziglang`: `zig cc` for C scenarios and `zig build-exe` for Zig.
pub const ZIGLANG_VERSION: &str = "0.17.1";

/// The C bindings generator, with the world always named `scenario` so the
/// generated names (`scenario_string_t`, `exports_scenario_run`) do not
/// depend on which world the scenario exports.
pub(super) fn bindings_generator() -> Box<dyn wit_bindgen_core::WorldGenerator> {
    wit_bindgen_c::Opts {
        rename_world: Some("scenario".into()),
        ..Default::default()
    }
    .build()
}

/// The Zig toolchain, installed on first use.
pub(super) fn toolchain() -> Result<Toolchain, BuildError> {
    Err(BuildError::ToolchainMissing {
        tool: "zig".into(),
        install: "C and Zig scenarios are not supported by this build yet".into(),
    })
}

/// Whether C or Zig sources export the `vu-scenario` world.
pub(super) fn exports_vu_scenario(_language: Language, sources: &str) -> bool {
    sources.contains("exports_scenario_iteration")
}

/// Compiles the folder and the bindings into a core module that carries
/// its component type.
pub(super) fn compile(ctx: &NativeBuild) -> Result<Vec<u8>, BuildError> {
    Err(ctx.failed("zig", "not implemented"))
}
