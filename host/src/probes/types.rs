//! The WIT `types` interface: how a binding's failure reaches the guest.
//! Bindgen maps `probe-error` to `BindingError`, so a binding method returns
//! `Result<T, BindingError>` and uses `?` for both a probe's refusal and a
//! host failure; `convert_probe_error` below is the one place that tells
//! them apart.

use wasmtime::component::{HasData, ResourceTableError};

use super::ProbeError;
use crate::bindings::types::{self as wit, ProbeError as WitProbeError};

/// How a binding call fails: a `probe-error` value the guest receives, or a
/// trap that ends the scenario (a bad resource handle, a host bug, an
/// `abort-on-fail` threshold).
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    #[error("{0}")]
    Probe(#[from] ProbeError),
    #[error("{0:#}")]
    Trap(wasmtime::Error),
}

/// What a binding method returns for a WIT `result<T, probe-error>`.
pub type BindingResult<T> = Result<T, BindingError>;

impl BindingError {
    /// A failure that ends the scenario instead of reaching the guest.
    pub fn trap(error: impl Into<wasmtime::Error>) -> Self {
        BindingError::Trap(error.into())
    }
}

impl From<ResourceTableError> for BindingError {
    /// A handle the guest does not hold (or of the wrong type) is a broken
    /// guest, not a probe failure.
    fn from(e: ResourceTableError) -> Self {
        BindingError::trap(e)
    }
}

impl From<crate::policy::Denied> for BindingError {
    fn from(d: crate::policy::Denied) -> Self {
        BindingError::Probe(d.into())
    }
}

impl From<ProbeError> for WitProbeError {
    fn from(e: ProbeError) -> Self {
        match e {
            ProbeError::Denied(m) => WitProbeError::Denied(m),
            ProbeError::Timeout(m) => WitProbeError::Timeout(m),
            ProbeError::Connection(m) => WitProbeError::Connection(m),
            ProbeError::Io(m) => WitProbeError::Io(m),
            ProbeError::Invalid(m) => WitProbeError::Invalid(m),
            ProbeError::Server(m) => WitProbeError::Server(m),
        }
    }
}

/// What the `types` binding may touch: nothing. The interface has no
/// functions; it is linked so components that import its types instantiate.
pub struct TypesView;

/// Links `types` to a `TypesView`.
pub struct TypesBinding;

impl HasData for TypesBinding {
    type Data<'a> = TypesView;
}

/// Every interface that returns a `probe-error` asks its own view for this
/// conversion (bindgen bounds each view by `types::Host`). It is the same
/// whichever binding failed, so it is written once, for every type.
impl<T: ?Sized> wit::Host for T {
    fn convert_probe_error(&mut self, err: BindingError) -> wasmtime::Result<WitProbeError> {
        match err {
            BindingError::Probe(e) => Ok(e.into()),
            BindingError::Trap(trap) => Err(trap),
        }
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::component::{Resource, ResourceTable};

    use super::*;
    use wit::Host as _;

    #[test]
    fn a_probe_error_reaches_the_guest_as_a_value_anything_else_traps() {
        let mut view = TypesView;
        let value = view
            .convert_probe_error(ProbeError::Denied("program `x`".into()).into())
            .unwrap();
        assert!(
            matches!(&value, WitProbeError::Denied(m) if m == "program `x`"),
            "{value:?}"
        );

        let table = ResourceTable::new();
        let stale = table.get(&Resource::<u32>::new_borrow(7)).unwrap_err();
        let trap = view.convert_probe_error(stale.into()).unwrap_err();
        assert!(
            trap.downcast_ref::<ResourceTableError>().is_some(),
            "{trap:?}"
        );
    }
}
