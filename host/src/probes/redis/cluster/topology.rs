//! A cluster's slot map, read from `CLUSTER SLOTS`: which master serves
//! which slot range.

use crate::probes::redis::resp::Reply;

/// Slot ranges and their masters (`host:port`), sorted by first slot.
#[derive(Debug, Clone, Default)]
pub struct SlotMap {
    ranges: Vec<(u16, u16, String)>,
}

impl SlotMap {
    /// Parses a `CLUSTER SLOTS` reply; `asked` is the host that answered,
    /// used for nodes announced without an address (`""`, `?`).
    pub fn parse(reply: &Reply, asked: &str) -> Result<SlotMap, String> {
        let Reply::Array(entries) = reply else {
            return Err(format!("CLUSTER SLOTS answered {reply:?}"));
        };
        let mut ranges = Vec::with_capacity(entries.len());
        for entry in entries {
            let Reply::Array(fields) = entry else {
                return Err("a CLUSTER SLOTS entry is not an array".into());
            };
            let (
                Some(Reply::Integer(start)),
                Some(Reply::Integer(end)),
                Some(Reply::Array(master)),
            ) = (fields.first(), fields.get(1), fields.get(2))
            else {
                return Err("a CLUSTER SLOTS entry lacks its range or master".into());
            };
            let (Some(Reply::Bulk(ip)), Some(Reply::Integer(port))) =
                (master.first(), master.get(1))
            else {
                return Err("a CLUSTER SLOTS master lacks its address".into());
            };
            let start = u16::try_from(*start).map_err(|_| "slot out of range")?;
            let end = u16::try_from(*end).map_err(|_| "slot out of range")?;
            let port = u16::try_from(*port).map_err(|_| "port out of range")?;
            let ip = String::from_utf8_lossy(ip);
            let host = if ip.is_empty() || ip == "?" {
                asked
            } else {
                &ip
            };
            ranges.push((start, end, node_addr(host, port)));
        }
        ranges.sort();
        if ranges.is_empty() {
            return Err("the cluster serves no slot (is it still being created?)".into());
        }
        Ok(SlotMap { ranges })
    }

    /// The master serving `slot`.
    pub fn node_for(&self, slot: u16) -> Option<&str> {
        let i = self.ranges.partition_point(|(start, _, _)| *start <= slot);
        let (start, end, addr) = self.ranges.get(i.checked_sub(1)?)?;
        (*start..=*end).contains(&slot).then_some(addr.as_str())
    }

    /// Drops the ranges served by nodes `keep` refuses (their slots then
    /// have no known owner).
    pub fn retain_nodes(&mut self, keep: impl Fn(&str) -> bool) {
        self.ranges.retain(|(_, _, addr)| keep(addr));
    }

    /// Every master, once, in address order.
    pub fn masters(&self) -> Vec<String> {
        let mut all: Vec<String> = self.ranges.iter().map(|(_, _, a)| a.clone()).collect();
        all.sort();
        all.dedup();
        all
    }
}

/// `host:port`, brackets around an IPv6 host.
pub fn node_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits `host:port` (IPv6 in brackets).
pub fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}
