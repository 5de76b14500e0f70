//! What workers measured: per op, latency distributions, successes and
//! errors by kind (with a few samples); mergeable across workers.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::metrics::Distribution;
use crate::probes::redis::RedisError;

/// Error samples kept per kind.
pub const MAX_SAMPLES: usize = 3;
/// Longest sample message kept.
const MAX_SAMPLE_LEN: usize = 300;

/// Errors of one kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorTally {
    pub count: u64,
    pub samples: Vec<String>,
}

/// What one op of the mix observed.
#[derive(Debug, Clone)]
pub struct OpTally {
    /// Latency of successful requests, ns (from the intended send time in
    /// the open model).
    pub latency: Distribution,
    /// Open model only: from the actual send to the reply, ns.
    pub service: Option<Distribution>,
    pub ok: u64,
    /// By kind: `connection`, `timeout`, `io`, `protocol`, `server:<CODE>`,
    /// `unreachable`.
    pub errors: BTreeMap<String, ErrorTally>,
}

impl OpTally {
    pub fn new(open: bool) -> Self {
        Self {
            latency: Distribution::new(),
            service: open.then(Distribution::new),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }

    /// Counts `n` failures of `kind`, keeping the message as a sample.
    pub fn fail(&mut self, kind: &str, n: u64, message: impl FnOnce() -> String) {
        // Looked up before inserting: no allocation on the common path.
        if !self.errors.contains_key(kind) {
            self.errors.insert(kind.to_owned(), ErrorTally::default());
        }
        let Some(entry) = self.errors.get_mut(kind) else {
            return;
        };
        entry.count += n;
        if entry.samples.len() < MAX_SAMPLES {
            let mut m = message();
            if m.len() > MAX_SAMPLE_LEN {
                let mut cut = MAX_SAMPLE_LEN;
                while !m.is_char_boundary(cut) {
                    cut -= 1;
                }
                m.truncate(cut);
                m.push('…');
            }
            if !entry.samples.contains(&m) {
                entry.samples.push(m);
            }
        }
    }

    pub fn merge(&mut self, other: &OpTally) {
        self.latency.merge(&other.latency);
        if let (Some(mine), Some(theirs)) = (&mut self.service, &other.service) {
            mine.merge(theirs);
        }
        self.ok += other.ok;
        for (kind, e) in &other.errors {
            let entry = self.errors.entry(kind.clone()).or_default();
            entry.count += e.count;
            for s in &e.samples {
                if entry.samples.len() < MAX_SAMPLES && !entry.samples.contains(s) {
                    entry.samples.push(s.clone());
                }
            }
        }
    }
}

/// What one worker (or, merged, the whole load) measured.
#[derive(Debug, Clone)]
pub struct Tally {
    pub ops: Vec<OpTally>,
    /// When the measured phase began and its last request completed.
    pub first_start: Option<Instant>,
    pub last_end: Option<Instant>,
    /// Reconnections after a lost connection.
    pub reconnects: u64,
    /// Cluster targets: replies per node (`host:port`) in the measured
    /// phase. Empty for a standalone target.
    pub node_ops: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    pub fn new(ops: usize, open: bool) -> Self {
        Self {
            ops: (0..ops).map(|_| OpTally::new(open)).collect(),
            first_start: None,
            last_end: None,
            reconnects: 0,
            node_ops: Default::default(),
        }
    }

    pub fn started(&mut self, at: Instant) {
        self.first_start = Some(self.first_start.map_or(at, |s| s.min(at)));
    }

    pub fn ended(&mut self, at: Instant) {
        self.last_end = Some(self.last_end.map_or(at, |e| e.max(at)));
    }

    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.ops.iter_mut().zip(&other.ops) {
            mine.merge(theirs);
        }
        if let Some(s) = other.first_start {
            self.started(s);
        }
        if let Some(e) = other.last_end {
            self.ended(e);
        }
        self.reconnects += other.reconnects;
        for (node, n) in &other.node_ops {
            *self.node_ops.entry(node.clone()).or_default() += n;
        }
    }
}

/// The error kind of a failed request.
pub fn kind_of(error: &RedisError) -> &'static str {
    match error {
        RedisError::Connect { .. } => "connection",
        RedisError::Timeout { .. } => "timeout",
        RedisError::Io { .. } | RedisError::Closed { .. } => "io",
        RedisError::Protocol { .. } => "protocol",
        RedisError::Auth { .. } => "auth",
        RedisError::TlsVerify { .. }
        | RedisError::TlsHandshake { .. }
        | RedisError::TlsSetup { .. } => "tls",
        RedisError::CrossSlot { .. } => "crossslot",
        RedisError::RedirectRefused { .. } => "redirect-refused",
        RedisError::InvalidUrl { .. } | RedisError::Command { .. } => "client",
    }
}

/// `server:<CODE>` for an error reply (`ERR`, `WRONGTYPE`, `OOM`, ...).
pub fn server_kind(message: &str) -> String {
    let code = message
        .split_whitespace()
        .next()
        .filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()))
        .unwrap_or("ERR");
    format!("server:{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_bounds_samples() {
        let mut a = OpTally::new(false);
        let mut b = OpTally::new(false);
        a.ok = 3;
        b.ok = 4;
        for i in 0..5 {
            a.fail("io", 1, || format!("a{i}"));
            b.fail("io", 2, || format!("b{i}"));
        }
        a.merge(&b);
        assert_eq!(a.ok, 7);
        assert_eq!(a.errors["io"].count, 15);
        assert_eq!(a.errors["io"].samples.len(), MAX_SAMPLES);
        assert_eq!(a.error_count(), 15);
    }

    #[test]
    fn server_error_kinds_use_the_code() {
        assert_eq!(
            server_kind("WRONGTYPE Operation against a key"),
            "server:WRONGTYPE"
        );
        assert_eq!(server_kind("unknown thing"), "server:ERR");
    }
}
