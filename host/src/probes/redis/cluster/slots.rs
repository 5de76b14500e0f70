//! Which hash slot a call belongs to: CRC16 (XMODEM) of the key, or of its
//! `{hash tag}`, modulo 16384, with the keys of a call found through the
//! command table's key specifications (the same ones the policy reads).

use crate::probes::redis::policy::commands;
use crate::probes::redis::policy::keyspec::{self, KeyError};
use crate::probes::redis::policy::table::COMMANDS;

/// Hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for slots.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: only the part between the first `{` and the next `}`
/// is hashed when that part is not empty.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16(hashed) % SLOTS
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every key is in this slot.
    Slot(u16),
    /// No key (PING, INFO, DBSIZE ...), or keys the table cannot locate:
    /// any node; a redirect, if any, is followed.
    AnyNode,
    /// Keys in different slots: a cluster refuses the call (CROSSSLOT).
    CrossSlot { first: u16, other: u16 },
}

/// The route of `args` (name first).
pub fn route<T: AsRef<[u8]>>(args: &[T]) -> Route {
    let Some(index) = commands::lookup(args) else {
        return Route::AnyNode;
    };
    let cmd = &COMMANDS[usize::from(index)];
    let mut slot: Option<u16> = None;
    let found = keyspec::for_each_key(cmd, args, |i| {
        let s = key_slot(args[i].as_ref());
        match slot {
            None => {
                slot = Some(s);
                Ok(())
            }
            Some(first) if first == s => Ok(()),
            Some(first) => Err((first, s)),
        }
    });
    match (found, slot) {
        (Err(KeyError::Refused((first, other))), _) => Route::CrossSlot { first, other },
        (Err(KeyError::Unlocatable(_)), _) | (Ok(()), None) => Route::AnyNode,
        (Ok(()), Some(s)) => Route::Slot(s),
    }
}

/// The arguments of one RESP-encoded command (`*N\r\n$L\r\n...`), as the
/// client's own encoder writes them; `None` if `bytes` is not one.
pub fn decode_command(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    fn line(bytes: &[u8], at: usize, mark: u8) -> Option<(usize, usize)> {
        if *bytes.get(at)? != mark {
            return None;
        }
        let end = at + bytes[at..].windows(2).position(|w| w == b"\r\n")?;
        let n = std::str::from_utf8(&bytes[at + 1..end])
            .ok()?
            .parse()
            .ok()?;
        Some((n, end + 2))
    }
    let (count, mut at) = line(bytes, 0, b'*')?;
    let mut args = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let (len, start) = line(bytes, at, b'$')?;
        let end = start.checked_add(len)?;
        args.push(bytes.get(start..end)?);
        at = end + 2;
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"{user1000}.followers"), key_slot(b"user1000"));
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % SLOTS);
        assert_eq!(key_slot(b"foo{{bar}}zap"), crc16(b"{bar") % SLOTS);
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    #[test]
    fn calls_route_by_their_keys() {
        assert_eq!(route(&["GET", "foo"]), Route::Slot(12182));
        assert_eq!(route(&["PING"]), Route::AnyNode);
        assert_eq!(route(&["DBSIZE"]), Route::AnyNode);
        assert_eq!(
            route(&["MSET", "{a}1", "x", "{a}2", "y"]),
            Route::Slot(key_slot(b"a"))
        );
        assert_eq!(
            route(&["MGET", "foo", "bar"]),
            Route::CrossSlot {
                first: 12182,
                other: 5061
            }
        );
        // The value of SET is not a key.
        assert_eq!(route(&["SET", "foo", "bar"]), Route::Slot(12182));
    }

    #[test]
    fn encoded_commands_decode() {
        let mut buf = bytes::BytesMut::new();
        crate::probes::redis::resp::encode_command(&mut buf, &[b"SET", b"k\r\n", b""]);
        assert_eq!(
            decode_command(&buf).unwrap(),
            vec![&b"SET"[..], &b"k\r\n"[..], &b""[..]]
        );
        assert!(decode_command(b"*2\r\n$3\r\nGET\r\n").is_none());
    }
}
