//! The Redis probe: a RESP client whose timed sections hold nothing but the
//! round trip, and the WIT binding that maps named targets to URLs under the
//! scenario's policy.

mod binding;
pub mod client;
pub mod cluster;
pub mod link;
pub mod load;
mod load_binding;
pub mod policy;
pub mod pool;
pub mod resp;
pub mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use binding::{RedisBinding, RedisView};
pub use client::{Client, RedisError, RedisUrl};
pub use link::{Mode, RedisLink};
pub use stream::TlsConnect;

use crate::budget::{Budget, Reservation, Resource};
use crate::policy::Policy;
use crate::probes::ProbeError;

/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-scenario Redis state: where targets live and what is granted.
#[derive(Debug, Clone)]
pub struct RedisCtx {
    /// Target name → URL, shared by every scenario of the run.
    pub targets: Arc<BTreeMap<String, RedisUrl>>,
    pub policy: Policy,
    /// Pooled links per target, shared by every store of the scenario.
    pub pools: pool::Pools,
}

/// The host side of a guest's `connection` resource. It holds one of the
/// scenario's `connections` from the moment it is opened until the guest
/// drops it (or the scenario ends), reconnections included.
pub struct Connection {
    target: String,
    url: RedisUrl,
    client: Option<RedisLink>,
    /// Set for a pooled connection: calls borrow a link from here instead.
    pool: Option<Arc<pool::LinkPool>>,
    /// The grant's command policy, checked before every call.
    guard: policy::CommandGuard,
    /// A connection of its own holds one of the scenario's `connections`;
    /// a pooled one holds none (its pool's links do).
    _budget: Option<Reservation>,
}

impl Connection {
    /// A connection to `target`, not yet connected, once the scenario's
    /// `connections` budget has room for it.
    pub(crate) fn reserve(
        target: String,
        url: RedisUrl,
        guard: policy::CommandGuard,
        budget: &Budget,
    ) -> Result<Self, ProbeError> {
        let held = budget
            .reserve(Resource::Connections, 1, || {
                format!("redis.open(\"{target}\")")
            })
            .map_err(|e| e.because("drop connections the scenario no longer uses"))?;
        Ok(Self {
            target,
            url,
            client: None,
            pool: None,
            guard,
            _budget: Some(held),
        })
    }

    /// A handle whose calls use the scenario's pool of links to `target`.
    pub(crate) fn pooled(
        target: String,
        url: RedisUrl,
        guard: policy::CommandGuard,
        pools: &pool::Pools,
    ) -> Self {
        let pool = pools.get(&target, &url);
        Self {
            target,
            url,
            client: None,
            pool: Some(pool),
            guard,
            _budget: None,
        }
    }
}
