//! Correlation ids of a WebSocket load: written into each message from the
//! guest's template, found again in the answer (a JSON field or a byte
//! range), and matched per connection to the message's send time, in any
//! order, with duplicates and strangers counted apart.

use std::collections::HashMap;
use std::time::Instant;

/// Digits of an id as written into a message: fixed, so a byte range finds
/// it at the same place in every answer.
pub const ID_DIGITS: usize = 16;
/// Ids of one connection are `connection * ID_STRIDE + sequence`.
pub const ID_STRIDE: u64 = 1_000_000_000_000;
/// Most messages one connection may have unanswered at once; past it the
/// load skips a send and counts it (`in-flight-limit`), so a server that
/// never answers cannot grow the host's table without bound.
pub const MAX_IN_FLIGHT: usize = 1024;
/// Host memory of a full in-flight table (key, instant, hash overhead).
pub const IN_FLIGHT_BYTES: u64 = (MAX_IN_FLIGHT * 64) as u64;

/// Where the id is in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdLocation {
    /// A top-level field of a JSON object (string or number).
    JsonField(String),
    /// Offset and length in bytes.
    ByteRange(usize, usize),
}

/// The guest's message split around the placeholder.
#[derive(Debug, Clone)]
pub struct Template {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl Template {
    /// Splits `template` at the first `placeholder`; the message says what
    /// is wrong when it does not occur.
    pub fn new(template: &[u8], placeholder: &str) -> Result<Template, String> {
        if placeholder.is_empty() {
            return Err("id-placeholder is empty; use a marker such as `{id}`".into());
        }
        let at = template
            .windows(placeholder.len())
            .position(|w| w == placeholder.as_bytes())
            .ok_or_else(|| {
                format!("the template does not contain the id-placeholder `{placeholder}`")
            })?;
        Ok(Template {
            prefix: template[..at].to_vec(),
            suffix: template[at + placeholder.len()..].to_vec(),
        })
    }

    /// Length of every message built from it.
    pub fn message_len(&self) -> usize {
        self.prefix.len() + ID_DIGITS + self.suffix.len()
    }

    /// The message carrying `id`.
    pub fn build(&self, id: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message_len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(format!("{id:0width$}", width = ID_DIGITS).as_bytes());
        out.extend_from_slice(&self.suffix);
        out
    }
}

/// The id of connection `conn`'s message number `seq`.
pub fn id_of(conn: u32, seq: u64) -> u64 {
    u64::from(conn) * ID_STRIDE + seq
}

/// The id in `answer`, if it is where `location` says.
pub fn extract_id(answer: &[u8], location: &IdLocation) -> Option<u64> {
    match location {
        IdLocation::JsonField(field) => {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(answer).ok()?;
            match object.get(field)? {
                serde_json::Value::String(s) => parse_digits(s.as_bytes()),
                serde_json::Value::Number(n) => n.as_u64(),
                _ => None,
            }
        }
        IdLocation::ByteRange(offset, len) => {
            let end = offset.checked_add(*len)?;
            parse_digits(answer.get(*offset..end)?)
        }
    }
}

fn parse_digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// What an answer turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The answer to a message in flight, sent (or due) at this instant.
    Answer(Instant),
    /// An answer to a message of this connection already answered.
    Duplicate,
    /// No id, or an id this connection never sent.
    Unmatched,
}

/// The messages of one connection waiting for their answers.
#[derive(Debug)]
pub struct InFlight {
    conn: u32,
    /// Next sequence number to send.
    next: u64,
    waiting: HashMap<u64, Instant>,
}

impl InFlight {
    pub fn new(conn: u32) -> Self {
        Self {
            conn,
            next: 0,
            waiting: HashMap::new(),
        }
    }

    /// Whether another message may be sent now.
    pub fn has_room(&self) -> bool {
        self.waiting.len() < MAX_IN_FLIGHT
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.next
    }

    /// The id the next `send` takes.
    pub fn next_id(&self) -> u64 {
        id_of(self.conn, self.next)
    }

    /// Gives up every message still waiting (counted lost by the caller);
    /// returns how many.
    pub fn give_up(&mut self) -> usize {
        let n = self.waiting.len();
        self.waiting.clear();
        n
    }

    /// Takes the next id, measured from `from` (the intended send time in
    /// the open model, the send itself in the closed model).
    pub fn send(&mut self, from: Instant) -> u64 {
        let id = id_of(self.conn, self.next);
        self.next += 1;
        self.waiting.insert(id, from);
        id
    }

    /// Forgets a send that failed before it reached the socket.
    pub fn cancel(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// Matches an answer's id.
    pub fn answer(&mut self, id: Option<u64>) -> Match {
        let Some(id) = id else {
            return Match::Unmatched;
        };
        if let Some(from) = self.waiting.remove(&id) {
            return Match::Answer(from);
        }
        let ours = id / ID_STRIDE == u64::from(self.conn) && id % ID_STRIDE < self.next;
        if ours {
            Match::Duplicate
        } else {
            Match::Unmatched
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_replaces_the_placeholder_at_a_fixed_width() {
        let t = Template::new(br#"{"id":"{id}","body":"hi"}"#, "{id}").unwrap();
        let m = t.build(id_of(3, 42));
        assert_eq!(m, br#"{"id":"0003000000000042","body":"hi"}"#);
        assert_eq!(m.len(), t.message_len());
        let err = Template::new(b"no marker", "{id}").unwrap_err();
        assert!(
            err.contains("does not contain the id-placeholder `{id}`"),
            "{err}"
        );
        assert!(Template::new(b"x", "").is_err());
    }

    #[test]
    fn ids_are_found_in_json_fields_and_byte_ranges() {
        let field = IdLocation::JsonField("id".into());
        assert_eq!(
            extract_id(br#"{"id":"0003000000000042"}"#, &field),
            Some(3_000_000_000_042)
        );
        assert_eq!(extract_id(br#"{"x":1,"id":17}"#, &field), Some(17));
        assert_eq!(extract_id(br#"{"id":-1}"#, &field), None);
        assert_eq!(extract_id(br#"{"id":"12a"}"#, &field), None);
        assert_eq!(extract_id(br#"{"id":{"n":1}}"#, &field), None);
        assert_eq!(extract_id(br#"{"other":"1"}"#, &field), None);
        assert_eq!(extract_id(b"[1,2]", &field), None);
        assert_eq!(extract_id(b"not json", &field), None);

        let range = IdLocation::ByteRange(4, ID_DIGITS);
        assert_eq!(extract_id(b"msg:0000000000000007:tail", &range), Some(7));
        assert_eq!(extract_id(b"msg:00000000000", &range), None, "too short");
        assert_eq!(extract_id(b"msg: 000000000000007:tail", &range), None);
        assert_eq!(
            extract_id(b"x", &IdLocation::ByteRange(usize::MAX, 2)),
            None
        );
    }

    #[test]
    fn answers_match_in_any_order_and_duplicates_are_told_apart() {
        let t0 = Instant::now();
        let mut f = InFlight::new(2);
        let a = f.send(t0);
        let b = f.send(t0 + std::time::Duration::from_millis(1));
        let c = f.send(t0);
        assert_eq!(f.len(), 3);
        assert_eq!(f.answer(Some(c)), Match::Answer(t0));
        assert_eq!(
            f.answer(Some(b)),
            Match::Answer(t0 + std::time::Duration::from_millis(1))
        );
        assert_eq!(f.answer(Some(b)), Match::Duplicate);
        assert_eq!(
            f.answer(Some(id_of(1, 0))),
            Match::Unmatched,
            "another connection's"
        );
        assert_eq!(f.answer(Some(id_of(2, 99))), Match::Unmatched, "never sent");
        assert_eq!(f.answer(None), Match::Unmatched);
        assert_eq!(f.answer(Some(a)), Match::Answer(t0));
        assert!(f.is_empty());
        assert_eq!(f.sent(), 3);
    }

    #[test]
    fn the_in_flight_table_is_bounded() {
        let mut f = InFlight::new(0);
        while f.has_room() {
            f.send(Instant::now());
        }
        assert_eq!(f.len(), MAX_IN_FLIGHT);
    }
}
