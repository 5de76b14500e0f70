//! Pooled connections: a few links per target shared by every store of a
//! scenario (its VUs), so 10,000 VUs need as many Redis connections as
//! commands in flight at once, not 10,000 (Redis's default `maxclients` is
//! 10,000, and each connection is a file descriptor). A call checks a link
//! out for one request and returns it; only the request is timed, waiting
//! for a free link is not (it shows in the iteration time). Since two calls
//! may use two links, commands whose meaning depends on the connection's
//! state are refused here ([`check_poolable`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::CONNECT_TIMEOUT;
use super::client::RedisUrl;
use super::link::RedisLink;
use crate::budget::{Budget, Reservation, Resource};
use crate::probes::ProbeError;

/// Most links one target's pool opens.
pub const POOLED_LINKS_PER_TARGET: usize = 32;

/// Commands that change or rely on the connection's own state, or block it:
/// on a pool the next call may run on another link, or wait behind them.
const CONNECTION_STATE: &[&str] = &[
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "SELECT",
    "SWAPDB",
    "AUTH",
    "HELLO",
    "RESET",
    "QUIT",
    "CLIENT",
    "READONLY",
    "READWRITE",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SUNSUBSCRIBE",
    "MONITOR",
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BLMOVE",
    "BLMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "WAIT",
    "WAITAOF",
];

/// Refuses a command a pooled connection cannot run faithfully.
pub fn check_poolable(args: &[&[u8]]) -> Result<(), ProbeError> {
    let Some(name) = args.first() else {
        return Ok(());
    };
    let upper = String::from_utf8_lossy(name).to_ascii_uppercase();
    let blocking_read = (upper == "XREAD" || upper == "XREADGROUP")
        && args.iter().any(|a| a.eq_ignore_ascii_case(b"BLOCK"));
    if CONNECTION_STATE.contains(&upper.as_str()) || blocking_read {
        return Err(ProbeError::Invalid(format!(
            "`{upper}` cannot run on a pooled connection: it depends on (or blocks) one connection, and a pool spreads calls over several; open a connection of its own with `open` for it"
        )));
    }
    Ok(())
}

/// The pools of one scenario, one per target, made on first use.
#[derive(Debug, Clone, Default)]
pub struct Pools {
    by_target: Arc<Mutex<HashMap<String, Arc<LinkPool>>>>,
}

impl Pools {
    /// The pool of `target`, made if it is the first use.
    pub fn get(&self, target: &str, url: &RedisUrl) -> Arc<LinkPool> {
        let mut pools = self
            .by_target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(pools.entry(target.to_owned()).or_insert_with(|| {
            Arc::new(LinkPool {
                target: target.to_owned(),
                url: url.clone(),
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(POOLED_LINKS_PER_TARGET),
            })
        }))
    }
}

/// Links to one target, each charged to the scenario's `connections`.
#[derive(Debug)]
pub struct LinkPool {
    target: String,
    url: RedisUrl,
    idle: Mutex<Vec<(RedisLink, Reservation)>>,
    permits: Semaphore,
}

/// A link checked out of its pool; it goes back when dropped, unless broken.
pub struct Lease<'a> {
    pool: &'a LinkPool,
    link: Option<(RedisLink, Reservation)>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    pub fn link(&mut self) -> &mut RedisLink {
        &mut self.link.as_mut().expect("held until drop").0
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some((link, held)) = self.link.take()
            && !link.is_broken()
        {
            self.pool.lock_idle().push((link, held));
        }
    }
}

impl LinkPool {
    pub fn target(&self) -> &str {
        &self.target
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(RedisLink, Reservation)>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A link for one request: an idle one, or a new one while the pool
    /// has fewer than its most (charged to `budget`), or the next returned.
    pub async fn checkout(&self, budget: &Budget) -> Result<Lease<'_>, ProbeError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ProbeError::Connection("the connection pool was closed".into()))?;
        let idle = self.lock_idle().pop();
        let link = match idle {
            Some(link) => link,
            None => {
                let held = budget
                    .reserve(Resource::Connections, 1, || {
                        format!("a pooled connection to redis target `{}`", self.target)
                    })
                    .map_err(|e| e.because("the pool opens at most one per call in flight"))?;
                let link = RedisLink::connect(&self.url, CONNECT_TIMEOUT)
                    .await
                    .map_err(|e| {
                        ProbeError::Connection(format!("redis target `{}`: {e}", self.target))
                    })?;
                (link, held)
            }
        };
        Ok(Lease {
            pool: self,
            link: Some(link),
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_state_and_blocking_commands_are_refused() {
        for args in [
            vec![&b"multi"[..]],
            vec![b"SELECT", b"1"],
            vec![b"blpop", b"k", b"0"],
            vec![b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"],
            vec![b"subscribe", b"c"],
        ] {
            let err = check_poolable(&args).unwrap_err().to_string();
            assert!(err.contains("cannot run on a pooled connection"), "{err}");
        }
        for args in [
            vec![&b"GET"[..], b"k"],
            vec![b"xread", b"STREAMS", b"s", b"0"],
            vec![b"HINCRBY", b"h", b"f", b"1"],
        ] {
            assert!(check_poolable(&args).is_ok());
        }
    }
}
