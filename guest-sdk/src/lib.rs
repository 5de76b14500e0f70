//! # rigor-guest: write Rigor scenarios in Rust
//!
//! A scenario is a WebAssembly component that decides *what* to do and *what
//! counts as passing*; the Rigor host does everything timed or concurrent
//! natively. This crate wraps the `rigor:scenario` contract in typed handles.
//!
//! ```no_run
//! use rigor_guest::prelude::*;
//!
//! struct Ping;
//!
//! impl Scenario for Ping {
//!     fn describe() -> Info {
//!         Info::new("ping", "Round trip of PING against the default Redis target")
//!             .param("ops", "100", "number of timed PINGs")
//!     }
//!
//!     fn run(params: &Params) -> Result<()> {
//!         let ops: u64 = params.get("ops")?;
//!         let redis = Redis::open("default")?;
//!         let latency = Histogram::latency("ping");
//!         for _ in 0..ops {
//!             redis.command_timed(&[b"PING"], &latency)?;
//!         }
//!         threshold("ping", "p(99) < 1ms")?;
//!         Ok(())
//!     }
//! }
//!
//! rigor_guest::scenario!(Ping);
//! ```
//!
//! Build with `rigor build` (or `cargo build --target wasm32-wasip2`), run with
//! `rigor run`.

#![deny(missing_docs)]

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scenario",
        pub_export_macro: true,
        export_macro_name: "__export_scenario_world",
        default_bindings_module: "rigor_guest::bindings",
    });
}

#[doc(hidden)]
#[allow(missing_docs)]
pub mod vu_bindings {
    // The same imports as `bindings` (reused, not generated twice); only
    // the exports differ. A component exports one world or the other.
    wit_bindgen::generate!({
        path: "../wit",
        world: "vu-scenario",
        pub_export_macro: true,
        export_macro_name: "__export_vu_scenario_world",
        default_bindings_module: "rigor_guest::vu_bindings",
        with: {
            "rigor:scenario/types@0.1.0": crate::bindings::rigor::scenario::types,
            "rigor:scenario/clock@0.1.0": crate::bindings::rigor::scenario::clock,
            "rigor:scenario/metrics@0.1.0": crate::bindings::rigor::scenario::metrics,
            "rigor:scenario/report@0.1.0": crate::bindings::rigor::scenario::report,
            "rigor:scenario/redis@0.1.0": crate::bindings::rigor::scenario::redis,
            "rigor:scenario/process@0.1.0": crate::bindings::rigor::scenario::process,
            "rigor:scenario/http@0.1.0": crate::bindings::rigor::scenario::http,
            "rigor:scenario/fs@0.1.0": crate::bindings::rigor::scenario::fs,
            "rigor:scenario/memory@0.1.0": crate::bindings::rigor::scenario::memory,
            "rigor:scenario/websocket@0.1.0": crate::bindings::rigor::scenario::websocket,
        },
    });
}

pub mod clock;
mod error;
pub mod fs;
pub mod http;
pub mod load;
pub mod memory;
pub mod metrics;
mod params;
pub mod process;
pub mod redis;
pub mod report;
pub mod vu;
pub mod websocket;

pub use error::{Error, ProbeError, Result};
pub use params::Params;

use bindings::rigor::scenario::types as wit_types;

/// What a scenario says about itself: name, description, parameters.
#[derive(Debug, Clone)]
pub struct Info {
    name: String,
    description: String,
    params: Vec<(String, String, String)>,
}

impl Info {
    /// A scenario named `name` (kebab-case; the prefix of its metrics in reports).
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            params: Vec::new(),
        }
    }

    /// Declares a parameter with its default (as text) and one line of help.
    pub fn param(
        mut self,
        name: impl Into<String>,
        default: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.params
            .push((name.into(), default.into(), description.into()));
        self
    }

    #[doc(hidden)]
    pub fn into_wit(self) -> wit_types::ScenarioInfo {
        wit_types::ScenarioInfo {
            name: self.name,
            description: self.description,
            params: self
                .params
                .into_iter()
                .map(|(name, default_value, description)| wit_types::ParamInfo {
                    name,
                    default_value,
                    description,
                })
                .collect(),
        }
    }
}

/// A scenario: implement this and export it with [`scenario!`].
pub trait Scenario {
    /// Name, description and parameters; no side effects.
    fn describe() -> Info;

    /// Runs the scenario once. Return `Ok` when it ran to the end (checks and
    /// thresholds decide pass or fail); an `Err` ends it as errored.
    fn run(params: &Params) -> Result<()>;
}

#[doc(hidden)]
pub fn __run<S: Scenario>(params: Vec<(String, String)>) -> core::result::Result<(), String> {
    S::run(&Params::new(params)).map_err(|e| e.to_string())
}

/// Exports a type implementing [`Scenario`] as the component's scenario.
#[macro_export]
macro_rules! scenario {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __RigorScenarioExport;

        impl $crate::bindings::Guest for __RigorScenarioExport {
            fn describe() -> $crate::bindings::rigor::scenario::types::ScenarioInfo {
                <$ty as $crate::Scenario>::describe().into_wit()
            }
            fn run(
                params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::__run::<$ty>(params)
            }
        }

        $crate::bindings::__export_scenario_world!(__RigorScenarioExport with_types_in $crate::bindings);
    };
}

/// Everything a scenario usually needs, in one import.
pub mod prelude {
    pub use crate::clock::{now, sleep};
    pub use crate::fs::{Dir, DumpFormat, FsyncPolicy, IoLoad, RecordSet};
    pub use crate::http::{HttpLoad, HttpVersion, Request};
    pub use crate::load::Load;
    pub use crate::memory::{Criteria, Target, Watcher};
    pub use crate::metrics::{Histogram, Unit, counter, gauge};
    pub use crate::process::{self, Child, Command, OutputStream};
    pub use crate::redis::Redis;
    pub use crate::report::{Severity, check, finding, log, threshold};
    pub use crate::vu::{Vu, VuScenario};
    pub use crate::websocket::{Incoming, WebSocket, WsLoad};
    pub use crate::{Error, Info, Params, ProbeError, Result, Scenario};
}
