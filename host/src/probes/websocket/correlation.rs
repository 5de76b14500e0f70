//! Correlation ids of a WebSocket load: written into each message from the
//! guest's template, found again in the answer (a JSON field or a byte
//! range), and matched per connection to the message's send time, in any
//! order, with duplicates and strangers counted apart.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
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

    /// Whether every message is UTF-8: the text around the id is (the id
    /// itself is ASCII digits).
    pub fn is_utf8(&self) -> bool {
        std::str::from_utf8(&self.prefix).is_ok() && std::str::from_utf8(&self.suffix).is_ok()
    }

    /// Length of every message built from it.
    pub fn message_len(&self) -> usize {
        self.prefix.len() + ID_DIGITS + self.suffix.len()
    }

    /// The message carrying `id`.
    pub fn build(&self, id: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message_len());
        out.extend_from_slice(&self.prefix);
        let mut digits = [b'0'; ID_DIGITS];
        let mut rest = id;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&digits);
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
            let mut de = serde_json::Deserializer::from_slice(answer);
            let id = serde::de::DeserializeSeed::deserialize(json::Field(field), &mut de).ok()?;
            de.end().ok()?;
            id
        }
        IdLocation::ByteRange(offset, len) => {
            let end = offset.checked_add(*len)?;
            parse_digits(answer.get(*offset..end)?)
        }
    }
}

/// Finds the id in answers to messages built from one template. An answer
/// that is a message echoed unchanged has its id where the template's
/// placeholder was, so it is read there without parsing, when the template
/// proves that this place is the location's (a JSON field whose value is
/// the placeholder); any other answer is searched at its location.
#[derive(Debug, Clone)]
pub struct IdFinder {
    location: IdLocation,
    /// The template (shared, not copied: it may be as large as a
    /// message), when an unchanged echo's id may be read in place.
    echo: Option<Arc<Template>>,
}

impl IdFinder {
    pub fn new(template: &Arc<Template>, location: &IdLocation) -> Self {
        // JSON never gives digits a structural role, so one id found in
        // place by both ways proves it for every id; a number with leading
        // zeros (`"id":{id}`) is not JSON and fails the proof.
        let probe = id_of(1, 2);
        let proven = matches!(location, IdLocation::JsonField(_))
            && extract_id(&template.build(probe), location) == Some(probe);
        Self {
            location: location.clone(),
            echo: proven.then(|| Arc::clone(template)),
        }
    }

    /// The id in `answer`, if it is where the location says.
    pub fn find(&self, answer: &[u8]) -> Option<u64> {
        self.echo
            .as_ref()
            .and_then(|t| t.id_in_place(answer))
            .or_else(|| extract_id(answer, &self.location))
    }
}

impl Template {
    /// The id of `answer` when it is one of this template's messages.
    fn id_in_place(&self, answer: &[u8]) -> Option<u64> {
        let digits_end = self.prefix.len() + ID_DIGITS;
        if answer.len() != self.message_len()
            || !answer.starts_with(&self.prefix)
            || !answer.ends_with(&self.suffix)
        {
            return None;
        }
        parse_digits(&answer[self.prefix.len()..digits_end])
    }
}

/// Reads one field of a JSON object without building the object: every
/// other value is skipped unparsed, so a message costs one pass and no
/// allocation beyond the id itself.
mod json {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    /// The object's field `.0`, as an id.
    pub struct Field<'a>(pub &'a str);

    impl<'de> DeserializeSeed<'de> for Field<'_> {
        type Value = Option<u64>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Field<'_> {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
            let mut found = None;
            while let Some(is_ours) = map.next_key_seed(KeyIs(self.0))? {
                if is_ours && found.is_none() {
                    found = Some(map.next_value_seed(Id)?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found.flatten())
        }
    }

    /// Whether a key equals `.0`.
    struct KeyIs<'a>(&'a str);

    impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
        type Value = bool;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeyIs<'_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
            Ok(key == self.0)
        }
    }

    /// An id: a string of digits or a non-negative integer; anything else
    /// is no id.
    struct Id;

    impl<'de> DeserializeSeed<'de> for Id {
        type Value = Option<u64>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Id {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an id")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<u64>, E> {
            Ok(Some(n))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<u64>, E> {
            Ok(u64::try_from(n).ok())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<u64>, E> {
            Ok(None)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<u64>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<u64>, E> {
            Ok(super::parse_digits(s.as_bytes()))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Option<u64>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
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
    /// The latest message sent, while it waits: in the closed model the
    /// only one, so matching it touches no table (a table per connection
    /// sits in its own allocation, a cache miss per message across 50
    /// connections).
    latest: Option<(u64, Instant)>,
    /// The earlier messages still waiting.
    waiting: HashMap<u64, Instant, BuildHasherDefault<IdHasher>>,
}

/// Hashes an id with one multiplication: the keys inserted are the host's
/// own sequential ids (a peer's ids are only looked up), so SipHash's
/// flooding resistance buys nothing and costs a share of every message.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl InFlight {
    pub fn new(conn: u32) -> Self {
        Self {
            conn,
            next: 0,
            latest: None,
            waiting: HashMap::default(),
        }
    }

    /// Whether another message may be sent now.
    pub fn has_room(&self) -> bool {
        self.len() < MAX_IN_FLIGHT
    }

    pub fn len(&self) -> usize {
        self.waiting.len() + usize::from(self.latest.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_none() && self.waiting.is_empty()
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
        let n = self.len();
        self.latest = None;
        self.waiting.clear();
        n
    }

    /// Takes the next id, measured from `from` (the intended send time in
    /// the open model, the send itself in the closed model).
    pub fn send(&mut self, from: Instant) -> u64 {
        let id = id_of(self.conn, self.next);
        self.next += 1;
        if let Some((earlier, at)) = self.latest.replace((id, from)) {
            self.waiting.insert(earlier, at);
        }
        id
    }

    /// Forgets a send that failed before it reached the socket.
    pub fn cancel(&mut self, id: u64) {
        self.take(id);
    }

    /// Removes a waiting message; when it was sent (or due).
    fn take(&mut self, id: u64) -> Option<Instant> {
        match self.latest {
            Some((latest, from)) if latest == id => {
                self.latest = None;
                Some(from)
            }
            _ => self.waiting.remove(&id),
        }
    }

    /// Matches an answer's id.
    pub fn answer(&mut self, id: Option<u64>) -> Match {
        let Some(id) = id else {
            return Match::Unmatched;
        };
        if let Some(from) = self.take(id) {
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
    fn a_template_is_text_only_when_the_text_around_the_id_is_utf8() {
        assert!(
            Template::new("{\"id\":\"{id}\",\"é\":1}".as_bytes(), "{id}")
                .unwrap()
                .is_utf8()
        );
        assert!(!Template::new(b"\xff{id}", "{id}").unwrap().is_utf8());
        assert!(!Template::new(b"{id}\xc3", "{id}").unwrap().is_utf8());
    }

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
        assert_eq!(extract_id(br#"{"id":"7"} trailing"#, &field), None);
        assert_eq!(
            extract_id(br#"{"a":[1,{"id":2}],"id":"9"}"#, &field),
            Some(9)
        );
        assert_eq!(extract_id(br#"{"id":5}"#, &field), Some(5), "escaped key");
        assert_eq!(extract_id(br#"{"id":1.5}"#, &field), None);
        assert_eq!(extract_id(br#"{"id":null}"#, &field), None);

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
    fn an_unchanged_echo_is_read_in_place_only_where_the_template_proves_it() {
        let field = IdLocation::JsonField("id".into());
        let t = Arc::new(Template::new(br#"{"id":"{id}","pad":"xyz"}"#, "{id}").unwrap());
        let finder = IdFinder::new(&t, &field);
        assert!(
            finder.echo.is_some(),
            "the placeholder is the field's value"
        );
        let id = id_of(7, 99);
        assert_eq!(finder.find(&t.build(id)), Some(id));
        // A changed answer is parsed: another field order, other padding.
        assert_eq!(
            finder.find(br#"{"pad":"xyz","id":"0007000000000099"}"#),
            Some(id)
        );
        assert_eq!(
            finder.find(br#"{"id":"0007000000000099","pad":"xy"}"#),
            Some(id)
        );
        // Same shape, but not digits where the id was: neither way finds one.
        assert_eq!(
            finder.find(br#"{"id":"000700000000009x","pad":"xyz"}"#),
            None
        );

        // The placeholder outside the field named: never read in place.
        let elsewhere = Arc::new(Template::new(br#"{"id":"5","seq":"{id}"}"#, "{id}").unwrap());
        let finder = IdFinder::new(&elsewhere, &field);
        assert!(finder.echo.is_none());
        assert_eq!(finder.find(&elsewhere.build(id)), Some(5));
        // A bare number with leading zeros is not JSON: nothing to prove.
        let number = Arc::new(Template::new(br#"{"id":{id}}"#, "{id}").unwrap());
        assert!(IdFinder::new(&number, &field).echo.is_none());
        // Digits inside a longer number: the field's value is not the id.
        let longer = Arc::new(Template::new(br#"{"id":"1{id}"}"#, "{id}").unwrap());
        let finder = IdFinder::new(&longer, &field);
        assert!(finder.echo.is_none());
        assert_eq!(finder.find(&longer.build(5)), Some(10_000_000_000_000_005));
        // Byte ranges are cheap already and read as they are.
        let range = IdLocation::ByteRange(7, ID_DIGITS);
        assert!(IdFinder::new(&t, &range).echo.is_none());
        assert_eq!(IdFinder::new(&t, &range).find(&t.build(id)), Some(id));
    }

    #[test]
    fn a_cancelled_send_is_no_longer_waiting() {
        let t0 = Instant::now();
        let mut f = InFlight::new(0);
        let a = f.send(t0);
        let b = f.send(t0);
        f.cancel(b);
        assert_eq!(f.len(), 1);
        assert_eq!(f.answer(Some(b)), Match::Duplicate, "sent, then withdrawn");
        f.cancel(a);
        assert!(f.is_empty());
        let c = f.send(t0);
        assert_eq!(f.give_up(), 1);
        assert_eq!(f.answer(Some(c)), Match::Duplicate);
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
