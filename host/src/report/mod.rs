//! Reports: the result model (`model`), what a scenario reports while it runs
//! (`builder`, `binding`), one pure writer per format, and the manager that
//! owns the report files (`manager`). Writers read a `RunReport` and never
//! run probes.

pub mod binding;
pub mod builder;
pub mod compare;
pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod manager;
pub mod markdown;
pub mod merge;
pub mod model;
pub mod ndjson;
pub mod progress;
pub mod shared;
pub mod units;
mod write;

pub use write::write_atomically;
