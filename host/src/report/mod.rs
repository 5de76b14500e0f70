//! Reports: the result model (`model`), what a scenario reports while it runs
//! (`builder`, `binding`), and one pure writer per format. Writers read a
//! finished `RunReport` and never run probes.

pub mod binding;
pub mod builder;
pub mod console;
pub mod json;
pub mod model;
pub mod units;
mod write;

pub use write::write_atomically;
