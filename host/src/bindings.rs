//! The one place the WIT contract is turned into Rust. Everything else uses
//! the re-exports below, never the generated modules directly. Each
//! interface's `add_to_linker` is called on its own (`engine::state`), with
//! the view its binding implements the generated traits on; a WIT
//! `result<T, probe-error>` is `Result<T, probes::BindingError>` in Rust.

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "scenario",
        // Every import is async (probes await network and timers) and
        // trappable (a host bug or a bad resource handle traps the guest
        // instead of panicking the host). Probe failures are *values*: they
        // are `probe-error` in the WIT results, not traps.
        imports: { default: async | trappable },
        // A binding returns `Result<T, BindingError>`: a `probe-error` value
        // or a trap, told apart once in `probes::types`.
        trappable_error_type: {
            "rigor:scenario/types.probe-error" => crate::probes::BindingError,
        },
        exports: { default: async },
        with: {
            "rigor:scenario/metrics.histogram": crate::metrics::HistogramHandle,
            "rigor:scenario/redis.connection": crate::probes::redis::Connection,
            "rigor:scenario/process.child": crate::probes::process::ChildProcess,
            "rigor:scenario/fs.dir": crate::probes::fs::Root,
            "rigor:scenario/memory.watcher": crate::probes::memory::WatcherHandle,
            "rigor:scenario/websocket.connection": crate::probes::websocket::binding::Connection,
        },
        require_store_data_send: true,
        // Each interface is linked to its own view of the store's state
        // (`engine::state`), never to `&mut HostState`, so the `&mut T`
        // forwarding impls are not needed; without them `probes::types` can
        // implement the probe-error conversion once for every view.
        skip_mut_forwarding_impls: true,
    });
}

/// The `vu-scenario` world: the same imports, mapped onto the modules
/// generated above so one `Linker` serves both worlds, and its own exports.
mod generated_vu {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "vu-scenario",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "rigor:scenario/types": super::generated::rigor::scenario::types,
            "rigor:scenario/clock": super::generated::rigor::scenario::clock,
            "rigor:scenario/metrics": super::generated::rigor::scenario::metrics,
            "rigor:scenario/report": super::generated::rigor::scenario::report,
            "rigor:scenario/redis": super::generated::rigor::scenario::redis,
            "rigor:scenario/process": super::generated::rigor::scenario::process,
            "rigor:scenario/http": super::generated::rigor::scenario::http,
            "rigor:scenario/fs": super::generated::rigor::scenario::fs,
            "rigor:scenario/memory": super::generated::rigor::scenario::memory,
            "rigor:scenario/websocket": super::generated::rigor::scenario::websocket,
        },
        require_store_data_send: true,
        skip_mut_forwarding_impls: true,
    });
}

pub use generated::Scenario;
pub use generated::ScenarioPre;
pub use generated::rigor::scenario::websocket;
pub use generated::rigor::scenario::{
    clock, fs, http, memory, metrics, process, redis, report, types,
};
pub use generated_vu::{VuScenario, VuScenarioPre};

/// The contract version this host implements, as it appears in import names.
pub const CONTRACT_PACKAGE: &str = "rigor:scenario";
/// The contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.0";
