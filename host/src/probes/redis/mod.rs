//! The Redis probe: a RESP client whose timed sections hold nothing but the
//! round trip, and the WIT binding that maps named targets to URLs under the
//! scenario's policy.

mod binding;
pub mod client;
pub mod load;
mod load_binding;
pub mod policy;
pub mod resp;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use binding::{RedisBinding, RedisView};
pub use client::{Client, RedisError, RedisUrl};

use crate::policy::Policy;

/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-scenario Redis state: where targets live and what is granted.
#[derive(Debug, Clone)]
pub struct RedisCtx {
    /// Target name → URL, shared by every scenario of the run.
    pub targets: Arc<BTreeMap<String, RedisUrl>>,
    pub policy: Policy,
}

/// The host side of a guest's `connection` resource.
pub struct Connection {
    target: String,
    url: RedisUrl,
    client: Option<Client>,
    /// The grant's command policy, checked before every call.
    guard: policy::CommandGuard,
}
