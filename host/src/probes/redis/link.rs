//! A connection to a Redis target, standalone or cluster: which one is
//! decided when it opens, from the server's `INFO cluster`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::client::{Client, RedisError, RedisUrl};
use super::cluster::ClusterClient;
use super::resp::Reply;

/// How a target is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Standalone,
    Cluster,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Cluster => "cluster",
        }
    }
}

#[derive(Debug)]
pub enum RedisLink {
    Single(Client),
    Cluster(Box<ClusterClient>),
}

impl RedisLink {
    /// Connects to `url`; a server reporting `cluster_enabled:1` is driven
    /// as a cluster. A server that refuses `INFO` is taken as standalone.
    pub async fn connect(url: &RedisUrl, timeout: Duration) -> Result<RedisLink, RedisError> {
        let mut client = Client::connect(url, timeout).await?;
        if is_cluster(&mut client).await? {
            let cluster = ClusterClient::open(url, client, timeout).await?;
            Ok(RedisLink::Cluster(Box::new(cluster)))
        } else {
            Ok(RedisLink::Single(client))
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            RedisLink::Single(_) => Mode::Standalone,
            RedisLink::Cluster(_) => Mode::Cluster,
        }
    }

    /// A standalone connection that broke must be replaced; a cluster
    /// replaces its node connections itself.
    pub fn is_broken(&self) -> bool {
        match self {
            RedisLink::Single(c) => c.is_broken(),
            RedisLink::Cluster(_) => false,
        }
    }

    pub async fn timed_request(&mut self, args: &[&[u8]]) -> Result<(Reply, Duration), RedisError> {
        match self {
            RedisLink::Single(c) => c.timed_request(args).await,
            // Boxed: following redirects makes the cluster's future large,
            // and a single server's calls would otherwise carry its size.
            RedisLink::Cluster(c) => Box::pin(c.timed_request(args)).await,
        }
    }

    pub async fn request(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        self.timed_request(args).await.map(|(r, _)| r)
    }

    /// Deletes the keys starting with `prefix`, on every master of a cluster.
    pub async fn clear_prefix(&mut self, prefix: &str) -> Result<u64, RedisError> {
        match self {
            RedisLink::Single(c) => c.clear_prefix(prefix).await,
            RedisLink::Cluster(c) => c.clear_prefix(prefix).await,
        }
    }

    pub fn set_op_timeout(&mut self, t: Duration) {
        match self {
            RedisLink::Single(c) => c.set_op_timeout(t),
            RedisLink::Cluster(c) => c.set_op_timeout(t),
        }
    }

    pub fn set_reply_limit(&mut self, bytes: usize) {
        match self {
            RedisLink::Single(c) => c.set_reply_limit(bytes),
            RedisLink::Cluster(c) => c.set_reply_limit(bytes),
        }
    }

    /// Replies per node, for a cluster.
    pub fn node_ops(&self) -> BTreeMap<String, u64> {
        match self {
            RedisLink::Single(_) => BTreeMap::new(),
            RedisLink::Cluster(c) => c.node_ops(),
        }
    }
}

/// Whether the server behind `client` reports `cluster_enabled:1`.
pub(crate) async fn is_cluster(client: &mut Client) -> Result<bool, RedisError> {
    Ok(match client.request(&[b"INFO", b"cluster"]).await? {
        Reply::Bulk(text) => text
            .split(|&b| b == b'\n')
            .any(|line| line.trim_ascii() == b"cluster_enabled:1"),
        _ => false,
    })
}
