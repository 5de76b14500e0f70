//! Redis Cluster: a target whose server reports `cluster_enabled:1` is
//! driven through its slot map. Calls are routed by the CRC16 slot of their
//! keys to the master serving it, one connection per node; `MOVED` refreshes
//! the map and retries, `ASK` retries once on the named node after `ASKING`,
//! both at most [`MAX_REDIRECTS`] times. The discovery commands (`CLUSTER
//! SLOTS`, `ASKING`) are the host's own; every guest command has passed the
//! grant's policy before it gets here.
//!
//! Redirects are an egress question: a redirect names an address and the
//! client connects to it. The nodes known when the connection opened (the
//! slot map read from the granted target) are the only ones a redirect or a
//! refreshed map may lead to; anything else is refused.

pub mod slots;
pub mod topology;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::client::{Client, RedisError, RedisUrl};
use super::resp::Reply;
use slots::Route;
use topology::{SlotMap, split_addr};

/// Most redirects followed for one call before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Most nodes one cluster connection talks to (bounds connections and the
/// slot map a server can make the host keep).
pub const MAX_NODES: usize = 1000;

/// A parsed `MOVED`/`ASK` error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Redirect {
    Moved(String),
    Ask(String),
}

fn redirect_of(message: &str) -> Option<Redirect> {
    let mut words = message.split_whitespace();
    let kind = words.next()?;
    let _slot = words.next()?;
    let addr = words.next()?.to_owned();
    match kind {
        "MOVED" => Some(Redirect::Moved(addr)),
        "ASK" => Some(Redirect::Ask(addr)),
        _ => None,
    }
}

struct Node {
    url: RedisUrl,
    client: Option<Client>,
    /// Replies this node gave (redirects not counted).
    ops: u64,
}

/// A connection to a whole cluster: one [`Client`] per node, opened on first use.
pub struct ClusterClient {
    seed: RedisUrl,
    connect_timeout: Duration,
    op_timeout: Option<Duration>,
    reply_limit: Option<usize>,
    map: SlotMap,
    /// Nodes of the slot map read when the connection opened.
    allowed: BTreeSet<String>,
    nodes: BTreeMap<String, Node>,
    /// Reused by batches: the encoded commands and where each one is.
    scratch: BytesMut,
    spans: Vec<(usize, usize)>,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("seed", &self.seed)
            .field("nodes", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl ClusterClient {
    /// Reads the slot map through `first` (connected to `seed`).
    pub async fn open(
        seed: &RedisUrl,
        mut first: Client,
        timeout: Duration,
    ) -> Result<Self, RedisError> {
        let map = read_map(&mut first, &seed.host).await?;
        let allowed: BTreeSet<String> = map.masters().into_iter().collect();
        if allowed.len() > MAX_NODES {
            return Err(cluster_error(
                &first,
                format!(
                    "the cluster announces {} nodes; at most {MAX_NODES} are followed",
                    allowed.len()
                ),
            ));
        }
        let mut client = ClusterClient {
            seed: seed.clone(),
            connect_timeout: timeout,
            op_timeout: None,
            reply_limit: None,
            map,
            allowed,
            nodes: BTreeMap::new(),
            scratch: BytesMut::new(),
            spans: Vec::new(),
        };
        // The seed's connection is kept when the map names the seed as given.
        let seed_addr = seed.addr();
        if client.allowed.contains(&seed_addr) {
            client.nodes.insert(
                seed_addr,
                Node {
                    url: seed.clone(),
                    client: Some(first),
                    ops: 0,
                },
            );
        }
        Ok(client)
    }

    /// The masters of the slot map.
    pub fn masters(&self) -> Vec<String> {
        self.map.masters()
    }

    /// Replies per node so far (`host:port` → count), every known node listed.
    pub fn node_ops(&self) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> =
            self.allowed.iter().map(|a| (a.clone(), 0)).collect();
        for (addr, node) in &self.nodes {
            *counts.entry(addr.clone()).or_default() += node.ops;
        }
        counts
    }

    /// Forgets the counts (the end of a warm-up).
    pub fn reset_counts(&mut self) {
        for node in self.nodes.values_mut() {
            node.ops = 0;
        }
    }

    pub fn set_op_timeout(&mut self, t: Duration) {
        self.op_timeout = Some(t);
        for c in self.nodes.values_mut().filter_map(|n| n.client.as_mut()) {
            c.set_op_timeout(t);
        }
    }

    pub fn set_reply_limit(&mut self, bytes: usize) {
        self.reply_limit = Some(bytes);
        for c in self.nodes.values_mut().filter_map(|n| n.client.as_mut()) {
            c.set_reply_limit(bytes);
        }
    }

    /// The live connection to `addr`, (re)connecting when needed; refused
    /// for an address that is not a node of the cluster.
    async fn node(&mut self, addr: &str) -> Result<&mut Client, RedisError> {
        self.check_allowed(addr)?;
        if !self.nodes.contains_key(addr) {
            let Some((host, port)) = split_addr(addr) else {
                return Err(self.refused(addr, "it is not a host:port address"));
            };
            let url = self.seed.at(host, port);
            self.nodes.insert(
                addr.to_owned(),
                Node {
                    url,
                    client: None,
                    ops: 0,
                },
            );
        }
        let node = self.nodes.get_mut(addr).expect("inserted above");
        if node.client.as_ref().is_none_or(Client::is_broken) {
            node.client = None;
            let mut c = Client::connect(&node.url, self.connect_timeout).await?;
            if let Some(t) = self.op_timeout {
                c.set_op_timeout(t);
            }
            if let Some(l) = self.reply_limit {
                c.set_reply_limit(l);
            }
            node.client = Some(c);
        }
        Ok(node.client.as_mut().expect("set just above"))
    }

    fn check_allowed(&self, addr: &str) -> Result<(), RedisError> {
        if self.allowed.contains(addr) {
            Ok(())
        } else {
            Err(self.refused(
                addr,
                "it was not a node of the cluster's slot map when the connection opened",
            ))
        }
    }

    fn refused(&self, addr: &str, why: &'static str) -> RedisError {
        RedisError::RedirectRefused {
            addr: self.seed.addr(),
            to: addr.to_owned(),
            why,
        }
    }

    /// Reads the slot map again from a node already connected (the seed
    /// first). Ranges served by a node outside the known set are dropped:
    /// a call to one of their slots goes to a known master, whose redirect
    /// is then refused.
    async fn refresh(&mut self) -> Result<(), RedisError> {
        let mut candidates: Vec<String> = self.nodes.keys().cloned().collect();
        candidates.extend(self.allowed.iter().cloned());
        let mut last = None;
        for addr in candidates {
            let host = split_addr(&addr)
                .map(|(h, _)| h.to_owned())
                .unwrap_or_default();
            let client = match self.node(&addr).await {
                Ok(c) => c,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            match read_map(client, &host).await {
                Ok(mut map) => {
                    map.retain_nodes(|addr| self.allowed.contains(addr));
                    self.map = map;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.refused("any node", "no node answered")))
    }

    fn first_master(&self) -> String {
        self.map
            .masters()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.seed.addr())
    }

    /// Where a call goes first; CROSSSLOT calls are refused before sending.
    fn target_of<T: AsRef<[u8]>>(&self, args: &[T]) -> Result<String, RedisError> {
        match slots::route(args) {
            Route::Slot(slot) => Ok(self
                .map
                .node_for(slot)
                .map(str::to_owned)
                .unwrap_or_else(|| self.first_master())),
            Route::AnyNode => Ok(self.first_master()),
            Route::CrossSlot { first, other } => Err(RedisError::CrossSlot {
                addr: self.seed.addr(),
                first,
                other,
            }),
        }
    }

    /// One call routed by its keys, redirects followed. The duration is the
    /// sum of the round trips it took (connecting is never part of it).
    pub async fn timed_request(&mut self, args: &[&[u8]]) -> Result<(Reply, Duration), RedisError> {
        let mut addr = self.target_of(args)?;
        let mut asking = false;
        let mut total = Duration::ZERO;
        for _ in 0..=MAX_REDIRECTS {
            let client = self.node(&addr).await?;
            let (reply, elapsed) = if asking {
                let (mut replies, elapsed) = client
                    .pipeline(&[vec![&b"ASKING"[..]], args.to_vec()])
                    .await?;
                (replies.pop().unwrap_or(Reply::Nil), elapsed)
            } else {
                client.timed_request(args).await?
            };
            total += elapsed;
            let redirect = match &reply {
                Reply::Error(m) => redirect_of(m),
                _ => None,
            };
            match redirect {
                None => {
                    if let Some(n) = self.nodes.get_mut(&addr) {
                        n.ops += 1;
                    }
                    return Ok((reply, total));
                }
                Some(Redirect::Moved(to)) => {
                    self.check_allowed(&to)?;
                    // The slot moved for good: the map is stale.
                    self.refresh().await?;
                    addr = to;
                    asking = false;
                }
                Some(Redirect::Ask(to)) => {
                    self.check_allowed(&to)?;
                    addr = to;
                    asking = true;
                }
            }
        }
        Err(RedisError::Command {
            addr: self.seed.addr(),
            command: "a cluster call",
            message: format!(
                "more than {MAX_REDIRECTS} MOVED/ASK redirects in a row; the cluster is resharding or misconfigured"
            ),
        })
    }

    pub async fn request(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        self.timed_request(args).await.map(|(r, _)| r)
    }

    /// `count` commands (`encode(i, out)` appends command `i`), each sent to
    /// the node of its slot: one write per node, then every node's replies
    /// read; timed from the first write to the last reply, connections
    /// opened before the clock starts. A redirected command is followed on
    /// its own and its round trips added. `each(i, error)` gets every
    /// command's outcome.
    pub async fn timed_batch(
        &mut self,
        count: usize,
        mut encode: impl FnMut(usize, &mut BytesMut),
        mut each: impl FnMut(usize, Option<&str>),
    ) -> Result<Duration, RedisError> {
        let mut buf = std::mem::take(&mut self.scratch);
        let mut spans = std::mem::take(&mut self.spans);
        buf.clear();
        spans.clear();
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..count {
            let start = buf.len();
            encode(i, &mut buf);
            spans.push((start, buf.len()));
            let args = slots::decode_command(&buf[start..]).unwrap_or_default();
            let addr = if args.is_empty() {
                self.first_master()
            } else {
                self.target_of(&args)?
            };
            groups.entry(addr).or_default().push(i);
        }
        for addr in groups.keys() {
            self.node(addr).await?;
        }
        let started = Instant::now();
        let result = self.exchange_groups(&buf, &spans, &groups, &mut each).await;
        let mut elapsed = started.elapsed();
        let redirected = match result {
            Ok(r) => r,
            Err(e) => {
                self.scratch = buf;
                self.spans = spans;
                return Err(e);
            }
        };
        for i in redirected {
            let (start, end) = spans[i];
            let owned: Vec<Vec<u8>> = slots::decode_command(&buf[start..end])
                .unwrap_or_default()
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            match self.timed_request(&args).await {
                Ok((reply, took)) => {
                    elapsed += took;
                    match reply {
                        Reply::Error(m) => each(i, Some(&m)),
                        _ => each(i, None),
                    }
                }
                Err(e) => {
                    self.scratch = buf;
                    self.spans = spans;
                    return Err(e);
                }
            }
        }
        self.scratch = buf;
        self.spans = spans;
        Ok(elapsed)
    }

    /// Writes every node's share of a batch, then reads each node's
    /// replies; returns the commands answered with a redirect.
    async fn exchange_groups(
        &mut self,
        buf: &[u8],
        spans: &[(usize, usize)],
        groups: &BTreeMap<String, Vec<usize>>,
        each: &mut impl FnMut(usize, Option<&str>),
    ) -> Result<Vec<usize>, RedisError> {
        for (addr, members) in groups {
            if self.nodes.get(addr).is_none_or(|n| n.client.is_none()) {
                return Err(self.refused(addr, "its connection was lost"));
            }
            let node = self.nodes.get_mut(addr).expect("checked just above");
            let client = node.client.as_mut().expect("checked just above");
            client
                .send_batch(members.len(), |out| {
                    for &i in members {
                        out.extend_from_slice(&buf[spans[i].0..spans[i].1]);
                    }
                })
                .await?;
        }
        let mut redirected = Vec::new();
        for (addr, members) in groups {
            let node = self
                .nodes
                .get_mut(addr)
                .expect("connected before the batch");
            let client = node.client.as_mut().expect("connected before the batch");
            let mut k = 0;
            let mut answered = 0u64;
            client
                .receive_batch(members.len(), |error| {
                    let i = members[k];
                    k += 1;
                    match error {
                        Some(m) if redirect_of(m).is_some() => redirected.push(i),
                        other => {
                            answered += 1;
                            each(i, other);
                        }
                    }
                })
                .await?;
            node.ops += answered;
        }
        Ok(redirected)
    }

    /// [`Client::clear_prefix`] on every master; the total removed.
    pub async fn clear_prefix(&mut self, prefix: &str) -> Result<u64, RedisError> {
        let mut removed = 0;
        for addr in self.map.masters() {
            removed += self
                .node(&addr)
                .await?
                .clear_prefix_per_slot(prefix)
                .await?;
        }
        Ok(removed)
    }
}

async fn read_map(client: &mut Client, host: &str) -> Result<SlotMap, RedisError> {
    let reply = client.request(&[b"CLUSTER", b"SLOTS"]).await?;
    if let Reply::Error(m) = &reply {
        return Err(cluster_error(client, format!("CLUSTER SLOTS failed: {m}")));
    }
    SlotMap::parse(&reply, host).map_err(|m| cluster_error(client, m))
}

fn cluster_error(client: &Client, message: String) -> RedisError {
    RedisError::Command {
        addr: client.addr().to_owned(),
        command: "CLUSTER SLOTS",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_parse() {
        assert_eq!(
            redirect_of("MOVED 3999 127.0.0.1:6381"),
            Some(Redirect::Moved("127.0.0.1:6381".into()))
        );
        assert_eq!(
            redirect_of("ASK 3999 [::1]:6381"),
            Some(Redirect::Ask("[::1]:6381".into()))
        );
        assert_eq!(redirect_of("ERR unknown command"), None);
        assert_eq!(redirect_of("MOVED"), None);
    }
}
