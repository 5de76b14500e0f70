//! The Redis targets of a run: the URLs given by the catalog and the command
//! line, and a managed redis-server for the `default` target when no URL is
//! given (started only when a scenario is granted it, stopped when the run
//! ends, also on error or interrupt).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::catalog::DEFAULT_REDIS_TARGET;
use crate::catalog::plan::PlannedScenario;
use crate::probes::redis::TlsConnect;
use crate::probes::redis::{RedisError, RedisUrl};
use crate::services::redis_server::{ManagedRedis, ManagedRedisError};
use crate::tls::{ClientIdentity, TlsTrust};

/// How the run reaches Redis.
#[derive(Debug, Clone, Default)]
pub struct RedisSetup {
    /// URL of the `default` target; `None` starts a managed redis-server.
    pub default_url: Option<String>,
    /// Other named targets.
    pub targets: BTreeMap<String, String>,
    /// The redis-server program for the managed default (PATH lookup if `None`).
    pub server_program: Option<PathBuf>,
    /// Client certificates for `rediss://` targets, by target name, loaded
    /// by the host (`--redis-cert NAME=CERT,KEY`); a scenario never sees them.
    pub identities: BTreeMap<String, ClientIdentity>,
}

/// The targets for the run's scenarios, and the managed server behind the
/// `default` one.
pub(super) struct RedisTargets {
    pub urls: Arc<BTreeMap<String, RedisUrl>>,
    /// Why the `default` target is missing (no redis-server to start):
    /// scenarios granted it are skipped with this reason.
    default_unavailable: Option<String>,
    /// Kept alive for the whole run; dropping it stops the server.
    _managed: Option<ManagedRedis>,
}

impl RedisTargets {
    /// Parses the URLs and, when a scenario needs a `default` target that no
    /// URL names, starts a managed redis-server.
    pub async fn provide(
        setup: &RedisSetup,
        needs_default: bool,
        trust: &TlsTrust,
    ) -> Result<Self, RedisError> {
        // One TLS setup per target: its connections share the rustls
        // configuration, and only it presents the target's certificate.
        let tls_for =
            |name: &str| TlsConnect::new(trust.clone(), setup.identities.get(name).cloned());
        let mut urls = BTreeMap::new();
        for (name, url) in &setup.targets {
            urls.insert(name.clone(), RedisUrl::parse(url)?.with_tls(tls_for(name)));
        }
        let mut managed = None;
        let mut default_unavailable = None;
        match &setup.default_url {
            Some(url) => {
                urls.insert(
                    DEFAULT_REDIS_TARGET.to_owned(),
                    RedisUrl::parse(url)?.with_tls(tls_for(DEFAULT_REDIS_TARGET)),
                );
            }
            None if needs_default => match start_managed(setup.server_program.clone()).await {
                Ok(server) => {
                    urls.insert(
                        DEFAULT_REDIS_TARGET.to_owned(),
                        RedisUrl::parse(&server.url())?,
                    );
                    managed = Some(server);
                }
                Err(e @ ManagedRedisError::NotInstalled { .. }) => {
                    default_unavailable = Some(e.to_string());
                }
                Err(e) => {
                    default_unavailable = Some(format!(
                        "could not start a redis-server for the run: {e}; pass `--redis redis://HOST:PORT` to use a running server"
                    ));
                }
            },
            None => {}
        }
        Ok(Self {
            urls: Arc::new(urls),
            default_unavailable,
            _managed: managed,
        })
    }

    /// Why `plan` cannot run (it is granted the `default` target and there
    /// is none), if so.
    pub fn unavailable_for(&self, plan: &PlannedScenario) -> Option<&str> {
        self.default_unavailable
            .as_deref()
            .filter(|_| plan.grants.redis.contains(DEFAULT_REDIS_TARGET))
    }
}

/// Starts a managed redis-server. Starting blocks (up to ~10 s waiting for
/// readiness): off the async workers.
async fn start_managed(program: Option<PathBuf>) -> Result<ManagedRedis, ManagedRedisError> {
    tokio::task::spawn_blocking(move || match program {
        Some(program) => ManagedRedis::start_with_program(&program),
        None => ManagedRedis::start(),
    })
    .await
    .unwrap_or_else(|e| {
        Err(ManagedRedisError::Spawn {
            program: "redis-server".into(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}
