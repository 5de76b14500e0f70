//! The WIT `redis` interface over the native client: policy check, lazy
//! (re)connection, timed calls recorded straight into host histograms.

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::resp::Reply;
use super::{CONNECT_TIMEOUT, Connection, RedisCtx, RedisError, RedisLink, RedisUrl, policy};
use crate::bindings::redis as wit;
use crate::events::ProgressSink;
use crate::metrics::{HistogramHandle, SharedRecorder};
use crate::probes::{BindingResult, ProbeError};
use crate::report::shared::SharedReport;

/// Longest key accepted from a guest (Redis allows 512 MB; nobody needs that
/// in a test, and it bounds what one call can make the host copy).
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// What the `redis` binding may touch: its targets and grants, the guest's
/// handles, where latencies are recorded, and a load's progress and logs.
pub struct RedisView<'a> {
    pub(crate) redis: &'a RedisCtx,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) report: &'a SharedReport,
    pub(crate) events: &'a ProgressSink,
    /// What the host may hold or start for the scenario.
    pub(crate) budget: &'a crate::budget::Budget,
    /// This shard's part of the run: loads take their part here.
    pub(crate) shard: &'a crate::shard::ShardCtx,
}

/// Links `redis` to a `RedisView` of the store's state.
pub struct RedisBinding;

impl HasData for RedisBinding {
    type Data<'a> = RedisView<'a>;
}

impl From<RedisError> for ProbeError {
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::Timeout { .. } => ProbeError::Timeout(e.to_string()),
            RedisError::InvalidUrl { .. } | RedisError::CrossSlot { .. } => {
                ProbeError::Invalid(e.to_string())
            }
            // Following the cluster elsewhere would be egress nobody granted.
            RedisError::RedirectRefused { .. } => ProbeError::Denied(e.to_string()),
            RedisError::Auth { .. } => ProbeError::Denied(e.to_string()),
            _ => ProbeError::Connection(e.to_string()),
        }
    }
}

impl Connection {
    /// The live client, reconnecting if the previous one broke.
    async fn client(&mut self) -> Result<&mut RedisLink, ProbeError> {
        if self.client.as_ref().is_none_or(|c| c.is_broken()) {
            self.client = None;
            // Boxed: connecting (TLS, cluster discovery) is rare and its
            // future large, and every call's future would carry its size.
            let client = Box::pin(RedisLink::connect(&self.url, CONNECT_TIMEOUT))
                .await
                .map_err(|e| {
                    ProbeError::Connection(format!("redis target `{}`: {e}", self.target))
                })?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("set just above"))
    }
}

fn check_key(key: &str) -> Result<(), ProbeError> {
    if key.is_empty() {
        return Err(ProbeError::Invalid("redis key is empty".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ProbeError::Invalid(format!(
            "redis key is {} bytes; the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

fn element_text(reply: Reply) -> Option<Vec<u8>> {
    match reply {
        Reply::Nil => None,
        Reply::Status(s) | Reply::Error(s) => Some(s.into_bytes()),
        Reply::Integer(i) => Some(i.to_string().into_bytes()),
        Reply::Bulk(b) => Some(b.to_vec()),
        Reply::Array(items) => Some(format!("{items:?}").into_bytes()),
    }
}

fn to_wit(reply: Reply) -> Result<wit::Reply, ProbeError> {
    Ok(match reply {
        Reply::Nil => wit::Reply::Nil,
        Reply::Status(s) => wit::Reply::Status(s),
        Reply::Error(e) => return Err(ProbeError::Server(e)),
        Reply::Integer(i) => wit::Reply::Integer(i),
        Reply::Bulk(b) => wit::Reply::Bulk(b.to_vec()),
        Reply::Array(items) => wit::Reply::Array(items.into_iter().map(element_text).collect()),
    })
}

impl RedisView<'_> {
    /// The command guard and address of `target`, if the scenario is granted it.
    fn granted(&self, target: &str) -> Result<(policy::CommandGuard, RedisUrl), ProbeError> {
        let guard = self
            .redis
            .policy
            .check_redis(target)?
            .guard(self.redis.policy.scenario(), target);
        let url = self.redis.targets.get(target).cloned().ok_or_else(|| {
            ProbeError::Connection(format!(
                "redis target `{target}` is granted but has no address: pass `--redis-target {target}=redis://HOST:PORT`"
            ))
        })?;
        Ok((guard, url))
    }

    /// Runs one timed request on `conn`; records the round trip into `into`
    /// when the server answered without an error.
    async fn timed(
        &mut self,
        conn: &Resource<Connection>,
        into: Option<Resource<HistogramHandle>>,
        args: &[&[u8]],
    ) -> BindingResult<(Reply, u64)> {
        let histogram = match &into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        };
        let connection = self.table.get_mut(conn)?;
        connection.guard.check(args).map_err(ProbeError::from)?;
        let answered = match connection.pool.clone() {
            Some(pool) => {
                super::pool::check_poolable(args)?;
                let budget = self.budget;
                Box::pin(async move {
                    let mut lease = pool.checkout(budget).await?;
                    Ok::<_, ProbeError>(lease.link().timed_request(args).await)
                })
                .await?
            }
            None => connection.client().await?.timed_request(args).await,
        };
        match answered {
            Ok((reply, elapsed)) => {
                let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                if let (Some(h), false) = (histogram, matches!(reply, Reply::Error(_))) {
                    self.recorder.record(h, ns);
                }
                Ok((reply, ns))
            }
            Err(e) => Err(match ProbeError::from(e) {
                ProbeError::Connection(m) => {
                    let target = &self.table.get(conn)?.target;
                    ProbeError::Connection(format!("redis target `{target}`: {m}"))
                }
                other => other,
            }
            .into()),
        }
    }
}

impl wit::Host for RedisView<'_> {
    async fn run_load(&mut self, spec: wit::LoadSpec) -> BindingResult<wit::LoadResult> {
        self.run_redis_load(spec).await
    }
}

impl wit::HostConnection for RedisView<'_> {
    async fn open_pooled(&mut self, target: String) -> BindingResult<Resource<Connection>> {
        let (guard, url) = self.granted(&target)?;
        let connection = Connection::pooled(target, url, guard, &self.redis.pools);
        Ok(self.table.push(connection)?)
    }

    async fn open(&mut self, target: String) -> BindingResult<Resource<Connection>> {
        let (guard, url) = self.granted(&target)?;
        let mut connection = Connection::reserve(target.clone(), url, guard, self.budget)?;
        let link = connection.client().await?;
        if let RedisLink::Cluster(cluster) = link {
            self.report.log(
                crate::report::model::LogLevel::Info,
                format!(
                    "redis target `{target}`: cluster mode, masters {}",
                    cluster.masters().join(", ")
                ),
            );
        }
        Ok(self.table.push(connection)?)
    }

    async fn set(
        &mut self,
        conn: Resource<Connection>,
        key: String,
        value: Vec<u8>,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<u64> {
        check_key(&key)?;
        let (reply, ns) = self
            .timed(&conn, into, &[b"SET", key.as_bytes(), &value])
            .await?;
        match reply {
            Reply::Error(e) => Err(ProbeError::Server(e).into()),
            _ => Ok(ns),
        }
    }

    async fn get(
        &mut self,
        conn: Resource<Connection>,
        key: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Got> {
        check_key(&key)?;
        let (reply, latency_ns) = self.timed(&conn, into, &[b"GET", key.as_bytes()]).await?;
        match reply {
            Reply::Nil => Ok(wit::Got {
                value: None,
                latency_ns,
            }),
            Reply::Bulk(b) => Ok(wit::Got {
                value: Some(b.to_vec()),
                latency_ns,
            }),
            Reply::Error(e) => Err(ProbeError::Server(e).into()),
            other => Err(ProbeError::Server(format!("unexpected reply to GET: {other:?}")).into()),
        }
    }

    async fn del(
        &mut self,
        conn: Resource<Connection>,
        keys: Vec<String>,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<u64> {
        if keys.is_empty() {
            return Err(ProbeError::Invalid("DEL needs at least one key".into()).into());
        }
        if let Some(e) = keys.iter().find_map(|k| check_key(k).err()) {
            return Err(e.into());
        }
        let mut args: Vec<&[u8]> = Vec::with_capacity(keys.len() + 1);
        args.push(b"DEL");
        args.extend(keys.iter().map(|k| k.as_bytes()));
        let (reply, _) = self.timed(&conn, into, &args).await?;
        match reply {
            Reply::Integer(n) => Ok(n.max(0) as u64),
            Reply::Error(e) => Err(ProbeError::Server(e).into()),
            other => Err(ProbeError::Server(format!("unexpected reply to DEL: {other:?}")).into()),
        }
    }

    async fn command(
        &mut self,
        conn: Resource<Connection>,
        args: Vec<Vec<u8>>,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Answered> {
        if args.is_empty() || args[0].is_empty() {
            return Err(ProbeError::Invalid("command needs a command name".into()).into());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let (reply, latency_ns) = self.timed(&conn, into, &refs).await?;
        Ok(wit::Answered {
            reply: to_wit(reply)?,
            latency_ns,
        })
    }

    async fn clear_prefix(
        &mut self,
        conn: Resource<Connection>,
        prefix: String,
    ) -> BindingResult<u64> {
        if prefix.is_empty() {
            return Err(ProbeError::Invalid(
                "clear-prefix needs a non-empty prefix (it never flushes a whole database)".into(),
            )
            .into());
        }
        let connection = self.table.get_mut(&conn)?;
        connection
            .guard
            .check_prefix(&prefix)
            .map_err(ProbeError::from)?;
        let cleared = match connection.pool.clone() {
            Some(pool) => {
                let mut lease = pool.checkout(self.budget).await?;
                lease.link().clear_prefix(&prefix).await
            }
            None => connection.client().await?.clear_prefix(&prefix).await,
        };
        Ok(cleared.map_err(ProbeError::from)?)
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}
