//! Redis through the host. Timed calls measure the round trip natively and
//! record it into a [`Histogram`]; the guest's own work is never timed.

use std::time::Duration;

use crate::bindings::rigor::scenario::redis as wit;
use crate::metrics::Histogram;
use crate::{ProbeError, Result};

pub use wit::Reply;

/// A connection to a named Redis target granted by the catalog.
pub struct Redis {
    conn: wit::Connection,
}

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> crate::Error {
    ProbeError::from(e).into()
}

impl Redis {
    /// Opens a connection to `target` (`"default"` unless the catalog names others).
    pub fn open(target: &str) -> Result<Self> {
        Ok(Self {
            conn: wit::Connection::open(target).map_err(err)?,
        })
    }

    /// A handle whose calls borrow a link from the scenario's shared pool to
    /// `target`: what virtual users use, so 10,000 VUs need as many Redis
    /// connections as calls in flight. Opening it costs no round trip.
    /// Connection-state and blocking commands (`MULTI`, `SELECT`, `BLPOP`,
    /// ...) are refused on it: use [`Redis::open`] for those.
    pub fn pooled(target: &str) -> Result<Self> {
        Ok(Self {
            conn: wit::Connection::open_pooled(target).map_err(err)?,
        })
    }

    /// `SET key value`; returns the round-trip time.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<Duration> {
        self.conn
            .set(key, value, None)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// `SET key value`, recording the round trip into `into`.
    pub fn set_timed(&self, key: &str, value: &[u8], into: &Histogram) -> Result<Duration> {
        self.conn
            .set(key, value, Some(into.wit()))
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// `GET key`; `None` on a miss.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn.get(key, None).map(|g| g.value).map_err(err)
    }

    /// `GET key`, recording the round trip into `into`.
    pub fn get_timed(&self, key: &str, into: &Histogram) -> Result<Option<Vec<u8>>> {
        self.conn
            .get(key, Some(into.wit()))
            .map(|g| g.value)
            .map_err(err)
    }

    /// `DEL keys...`; returns how many keys were removed.
    pub fn del(&self, keys: &[&str]) -> Result<u64> {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        self.conn.del(&keys, None).map_err(err)
    }

    /// Any command, e.g. `&[b"HSET", b"h", b"f", b"v"]`.
    pub fn command(&self, args: &[&[u8]]) -> Result<Reply> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        self.conn.command(&args, None).map(|a| a.reply).map_err(err)
    }

    /// Any command, recording the round trip into `into`.
    pub fn command_timed(&self, args: &[&[u8]], into: &Histogram) -> Result<Reply> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        self.conn
            .command(&args, Some(into.wit()))
            .map(|a| a.reply)
            .map_err(err)
    }

    /// Removes every key starting with `prefix`; returns how many.
    pub fn clear_prefix(&self, prefix: &str) -> Result<u64> {
        self.conn.clear_prefix(prefix).map_err(err)
    }
}
