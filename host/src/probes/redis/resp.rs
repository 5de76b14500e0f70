//! RESP2 wire codec: encodes commands and parses replies incrementally.
//!
//! Written by hand instead of using a Redis crate so that a timed probe knows
//! exactly what runs inside its timed section. Parsing has two phases:
//! [`reply_len`] walks the buffer without allocating and says whether one whole
//! reply is there (and how long it is); only then is the reply split off the
//! buffer and decoded. A caller that times requests can therefore stop its clock
//! as soon as [`reply_len`] succeeds and build the [`Reply`] afterwards. Bulk
//! payloads are zero-copy slices of the read buffer.
//!
//! Every length read from the network is checked against a named bound before
//! it is used, and nothing is allocated from such a length until the data it
//! describes has arrived.

use bytes::{BufMut, Bytes, BytesMut};

/// Largest bulk string accepted: 512 MiB, the same as Redis' own
/// `proto-max-bulk-len` default, so no legitimate value is rejected.
pub const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// Largest array accepted (elements). Far above any reply a probe reads
/// (SCAN batches, pipelines) while keeping a corrupt header from looking like
/// a plausible reply.
pub const MAX_ARRAY_LEN: usize = 16 * 1024 * 1024;

/// Deepest nesting of arrays accepted. Redis replies nest a few levels at most;
/// the bound keeps decoding (which recurses) far away from stack exhaustion.
pub const MAX_DEPTH: usize = 128;

/// Longest simple-string or error line accepted (bytes, without CRLF). Redis
/// error messages are short; the bound stops a peer that never sends CRLF from
/// making us buffer and rescan forever.
pub const MAX_LINE_LEN: usize = 1024 * 1024;

/// Longest integer or length field: `-9223372036854775808` is 20 characters.
const MAX_NUMBER_LEN: usize = 20;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Null bulk string (`$-1`) or null array (`*-1`).
    Nil,
    /// Simple string (`+OK`). Invalid UTF-8 is replaced, never rejected.
    Status(String),
    /// Error reply (`-ERR ...`). Invalid UTF-8 is replaced, never rejected.
    Error(String),
    /// Integer reply (`:42`).
    Integer(i64),
    /// Bulk string; binary-safe and shares the read buffer's memory.
    Bulk(Bytes),
    /// Array of replies, possibly nested.
    Array(Vec<Reply>),
}

/// The peer sent bytes that are not valid RESP2, or a reply beyond our bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("unknown reply type byte 0x{byte:02x} at offset {offset}")]
    UnknownType { byte: u8, offset: usize },
    #[error("malformed integer or length at offset {offset}")]
    BadNumber { offset: usize },
    #[error("negative length {len} at offset {offset} (only -1, meaning null, is allowed)")]
    NegativeLength { len: i64, offset: usize },
    #[error("CR or LF inside a line at offset {offset}")]
    BadLineEnding { offset: usize },
    #[error("line at offset {offset} is longer than {limit} bytes")]
    LineTooLong { offset: usize, limit: usize },
    #[error("bulk string at offset {offset} is not terminated by CRLF")]
    BulkNotTerminated { offset: usize },
    #[error("bulk string of {len} bytes exceeds the {limit}-byte limit")]
    BulkTooLarge { len: i64, limit: usize },
    #[error("array of {len} elements exceeds the {limit}-element limit")]
    ArrayTooLarge { len: i64, limit: usize },
    #[error("arrays nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("{len} bytes arrived that no request asked for")]
    Unsolicited { len: usize },
    #[error("more than {limit} bytes of reply data buffered without completing")]
    ReplyTooLarge { limit: usize },
    #[error("unexpected reply to {command}: {got}")]
    UnexpectedReply { command: &'static str, got: String },
}

/// Appends one command as a RESP2 array of bulk strings to `out`.
///
/// Appends rather than replaces so several calls build a pipeline.
pub fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    // One reservation up front: header digits take at most 20 bytes + 3 for
    // the type byte and CRLF, plus 2 for each payload's CRLF.
    let needed = 23 + args.iter().map(|a| a.len() + 25).sum::<usize>();
    out.reserve(needed);
    out.put_u8(b'*');
    put_decimal(out, args.len());
    out.put_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        put_decimal(out, arg.len());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

fn put_decimal(out: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

/// Parses one reply from the front of `buf`.
///
/// Returns `Ok(None)` and leaves `buf` untouched when the reply is not complete
/// yet; otherwise removes exactly that reply's bytes and returns it.
pub fn parse_reply(buf: &mut BytesMut) -> Result<Option<Reply>, ProtocolError> {
    let Some(len) = reply_len(buf)? else {
        return Ok(None);
    };
    let frame = buf.split_to(len).freeze();
    let mut pos = 0;
    decode(&frame, &mut pos, 0).map(Some)
}

/// Length in bytes of the first complete reply in `buf`, `Ok(None)` if more
/// bytes are needed. Allocates nothing; validates everything [`parse_reply`]
/// would, so a reply it accepts always decodes.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
    // remaining[d] = elements still to read at nesting level d; level 0 is the
    // single top-level reply. A fixed array keeps this allocation-free.
    let mut remaining = [0usize; MAX_DEPTH + 1];
    remaining[0] = 1;
    let mut depth = 0;
    let mut pos = 0;
    loop {
        let Some(&ty) = buf.get(pos) else {
            return Ok(None);
        };
        remaining[depth] -= 1;
        match ty {
            b'+' | b'-' => {
                let Some(cr) = line_end(buf, pos + 1, MAX_LINE_LEN)? else {
                    return Ok(None);
                };
                pos = cr + 2;
            }
            b':' => {
                let Some((_, next)) = number(buf, pos + 1)? else {
                    return Ok(None);
                };
                pos = next;
            }
            b'$' => {
                let Some((len, next)) = number(buf, pos + 1)? else {
                    return Ok(None);
                };
                match bulk_len(len, pos)? {
                    None => pos = next,
                    Some(n) => {
                        let end = next.saturating_add(n).saturating_add(2);
                        if buf.len() < end {
                            return Ok(None);
                        }
                        if &buf[end - 2..end] != b"\r\n" {
                            return Err(ProtocolError::BulkNotTerminated { offset: pos });
                        }
                        pos = end;
                    }
                }
            }
            b'*' => {
                let Some((len, next)) = number(buf, pos + 1)? else {
                    return Ok(None);
                };
                pos = next;
                if let Some(n) = array_len(len, pos)?
                    && n > 0
                {
                    if depth == MAX_DEPTH {
                        return Err(ProtocolError::TooDeep { limit: MAX_DEPTH });
                    }
                    depth += 1;
                    remaining[depth] = n;
                }
            }
            byte => return Err(ProtocolError::UnknownType { byte, offset: pos }),
        }
        // Close every array whose last element this was.
        while remaining[depth] == 0 {
            if depth == 0 {
                return Ok(Some(pos));
            }
            depth -= 1;
        }
    }
}

/// Checks a bulk length: `None` for null, the length otherwise.
fn bulk_len(len: i64, offset: usize) -> Result<Option<usize>, ProtocolError> {
    match len {
        -1 => Ok(None),
        l if l < 0 => Err(ProtocolError::NegativeLength { len, offset }),
        l => match usize::try_from(l) {
            Ok(n) if n <= MAX_BULK_LEN => Ok(Some(n)),
            _ => Err(ProtocolError::BulkTooLarge {
                len,
                limit: MAX_BULK_LEN,
            }),
        },
    }
}

/// Checks an array length: `None` for null, the element count otherwise.
fn array_len(len: i64, offset: usize) -> Result<Option<usize>, ProtocolError> {
    match len {
        -1 => Ok(None),
        l if l < 0 => Err(ProtocolError::NegativeLength { len, offset }),
        l => match usize::try_from(l) {
            Ok(n) if n <= MAX_ARRAY_LEN => Ok(Some(n)),
            _ => Err(ProtocolError::ArrayTooLarge {
                len,
                limit: MAX_ARRAY_LEN,
            }),
        },
    }
}

/// Index of the CR ending the line that starts at `start`; `Ok(None)` if the
/// line is not complete yet.
fn line_end(buf: &[u8], start: usize, limit: usize) -> Result<Option<usize>, ProtocolError> {
    let window_end = buf.len().min(start.saturating_add(limit).saturating_add(1));
    let window = buf.get(start..window_end).unwrap_or(&[]);
    match window.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) => {
            let at = start + i;
            if buf[at] == b'\n' {
                return Err(ProtocolError::BadLineEnding { offset: at });
            }
            match buf.get(at + 1) {
                None => Ok(None),
                Some(b'\n') => Ok(Some(at)),
                Some(_) => Err(ProtocolError::BadLineEnding { offset: at }),
            }
        }
        // The window held `limit + 1` bytes and none was CR: too long.
        None if window.len() > limit => Err(ProtocolError::LineTooLong {
            offset: start,
            limit,
        }),
        None => Ok(None),
    }
}

/// Parses a signed decimal ending in CRLF at `start`. Returns the value and the
/// index after the CRLF, `Ok(None)` if incomplete. Garbage is reported as soon
/// as it is seen rather than after waiting for a CRLF that may never come.
fn number(buf: &[u8], start: usize) -> Result<Option<(i64, usize)>, ProtocolError> {
    let bad = ProtocolError::BadNumber { offset: start };
    let mut pos = start;
    let negative = buf.get(pos) == Some(&b'-');
    if negative {
        pos += 1;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut value: i64 = 0;
    let mut digits = 0;
    loop {
        let Some(&b) = buf.get(pos) else {
            return Ok(None);
        };
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if pos - start >= MAX_NUMBER_LEN {
                    return Err(bad);
                }
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_sub(i64::from(b - b'0')))
                    .ok_or(bad.clone())?;
                pos += 1;
            }
            b'\r' if digits > 0 => {
                return match buf.get(pos + 1) {
                    None => Ok(None),
                    Some(b'\n') => {
                        let value = if negative {
                            value
                        } else {
                            value.checked_neg().ok_or(bad)?
                        };
                        Ok(Some((value, pos + 2)))
                    }
                    Some(_) => Err(ProtocolError::BadLineEnding { offset: pos }),
                };
            }
            _ => return Err(bad),
        }
    }
}

/// Decodes one reply at `*pos` of a frame [`reply_len`] already accepted.
/// Still returns errors instead of panicking, so a bug here cannot crash the host.
fn decode(frame: &Bytes, pos: &mut usize, depth: usize) -> Result<Reply, ProtocolError> {
    let start = *pos;
    let Some(&ty) = frame.get(start) else {
        return Err(ProtocolError::BadNumber { offset: start });
    };
    let incomplete = ProtocolError::BadNumber { offset: start };
    match ty {
        b'+' | b'-' => {
            let cr = line_end(frame, start + 1, MAX_LINE_LEN)?.ok_or(incomplete)?;
            let text = String::from_utf8_lossy(&frame[start + 1..cr]).into_owned();
            *pos = cr + 2;
            Ok(if ty == b'+' {
                Reply::Status(text)
            } else {
                Reply::Error(text)
            })
        }
        b':' => {
            let (value, next) = number(frame, start + 1)?.ok_or(incomplete)?;
            *pos = next;
            Ok(Reply::Integer(value))
        }
        b'$' => {
            let (len, next) = number(frame, start + 1)?.ok_or(incomplete.clone())?;
            match bulk_len(len, start)? {
                None => {
                    *pos = next;
                    Ok(Reply::Nil)
                }
                Some(n) => {
                    let end = next.saturating_add(n);
                    if frame.len() < end.saturating_add(2) {
                        return Err(incomplete);
                    }
                    *pos = end + 2;
                    Ok(Reply::Bulk(frame.slice(next..end)))
                }
            }
        }
        b'*' => {
            let (len, next) = number(frame, start + 1)?.ok_or(incomplete)?;
            *pos = next;
            match array_len(len, start)? {
                None => Ok(Reply::Nil),
                Some(n) => {
                    if depth >= MAX_DEPTH {
                        return Err(ProtocolError::TooDeep { limit: MAX_DEPTH });
                    }
                    // Safe to size from `n`: the frame is complete and every
                    // element takes at least 3 bytes of it.
                    let mut items = Vec::with_capacity(n.min(frame.len() / 3));
                    for _ in 0..n {
                        items.push(decode(frame, pos, depth + 1)?);
                    }
                    Ok(Reply::Array(items))
                }
            }
        }
        byte => Err(ProtocolError::UnknownType {
            byte,
            offset: start,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<Reply>, BytesMut) {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(r) = parse_reply(&mut buf).expect("valid input") {
            out.push(r);
        }
        (out, buf)
    }

    fn one(input: &[u8]) -> Reply {
        let (mut replies, rest) = parse_all(input);
        assert_eq!(replies.len(), 1, "input {input:?}");
        assert!(rest.is_empty());
        replies.remove(0)
    }

    fn err(input: &[u8]) -> ProtocolError {
        let mut buf = BytesMut::from(input);
        match parse_reply(&mut buf) {
            Err(e) => e,
            other => panic!("expected an error for {input:?}, got {other:?}"),
        }
    }

    fn bulk(s: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s))
    }

    #[test]
    fn encodes_commands() {
        let mut out = BytesMut::new();
        encode_command(&mut out, &[b"SET", b"k", b"a\r\nb"]);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
        encode_command(&mut out, &[b"GET", b""]);
        assert!(out.ends_with(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"));
        let mut empty = BytesMut::new();
        encode_command(&mut empty, &[]);
        assert_eq!(&empty[..], b"*0\r\n");
        let big = vec![7u8; 123_456];
        let mut out = BytesMut::new();
        encode_command(&mut out, &[&big]);
        assert!(out.starts_with(b"*1\r\n$123456\r\n"));
        assert_eq!(out.len(), 4 + 9 + 123_456 + 2);
    }

    #[test]
    fn every_reply_type() {
        assert_eq!(one(b"+OK\r\n"), Reply::Status("OK".into()));
        assert_eq!(one(b"+\r\n"), Reply::Status(String::new()));
        assert_eq!(
            one(b"-ERR wrong type\r\n"),
            Reply::Error("ERR wrong type".into())
        );
        assert_eq!(one(b":0\r\n"), Reply::Integer(0));
        assert_eq!(one(b":42\r\n"), Reply::Integer(42));
        assert_eq!(one(b":-7\r\n"), Reply::Integer(-7));
        assert_eq!(one(b":9223372036854775807\r\n"), Reply::Integer(i64::MAX));
        assert_eq!(one(b":-9223372036854775808\r\n"), Reply::Integer(i64::MIN));
        assert_eq!(one(b"$5\r\nhello\r\n"), bulk(b"hello"));
        assert_eq!(one(b"$0\r\n\r\n"), bulk(b""));
        assert_eq!(one(b"$6\r\na\r\n\0\rb\r\n"), bulk(b"a\r\n\0\rb"));
        assert_eq!(one(b"$-1\r\n"), Reply::Nil);
        assert_eq!(one(b"*-1\r\n"), Reply::Nil);
        assert_eq!(one(b"*0\r\n"), Reply::Array(vec![]));
        assert_eq!(
            one(b"*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*0\r\n$-1\r\n"),
            Reply::Array(vec![
                Reply::Integer(1),
                Reply::Array(vec![bulk(b"x"), Reply::Array(vec![])]),
                Reply::Nil,
            ])
        );
        // Status text that is not UTF-8 is replaced, not rejected.
        assert_eq!(one(b"+a\xffb\r\n"), Reply::Status("a\u{fffd}b".into()));
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let mut input = Vec::new();
        for _ in 0..MAX_DEPTH {
            input.extend_from_slice(b"*1\r\n");
        }
        input.extend_from_slice(b":5\r\n");
        let mut reply = one(&input);
        for _ in 0..MAX_DEPTH {
            match reply {
                Reply::Array(mut v) if v.len() == 1 => reply = v.remove(0),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(reply, Reply::Integer(5));
    }

    /// A buffer holding many replies of every kind back to back.
    fn multi() -> (Vec<u8>, Vec<Reply>) {
        let input = b"+OK\r\n-ERR x\r\n:123\r\n$3\r\nfoo\r\n$-1\r\n*-1\r\n*0\r\n\
            *2\r\n$2\r\n\r\n\r\n*1\r\n:-1\r\n$0\r\n\r\n:-9223372036854775808\r\n"
            .to_vec();
        let expected = vec![
            Reply::Status("OK".into()),
            Reply::Error("ERR x".into()),
            Reply::Integer(123),
            bulk(b"foo"),
            Reply::Nil,
            Reply::Nil,
            Reply::Array(vec![]),
            Reply::Array(vec![bulk(b"\r\n"), Reply::Array(vec![Reply::Integer(-1)])]),
            bulk(b""),
            Reply::Integer(i64::MIN),
        ];
        (input, expected)
    }

    #[test]
    fn partial_input_at_every_split_point() {
        let (input, expected) = multi();
        assert_eq!(parse_all(&input).0, expected);
        for split in 0..=input.len() {
            let mut buf = BytesMut::from(&input[..split]);
            let mut got = Vec::new();
            loop {
                let before = buf.len();
                match parse_reply(&mut buf).expect("valid prefix") {
                    Some(r) => got.push(r),
                    None => {
                        assert_eq!(buf.len(), before, "a partial reply was consumed");
                        break;
                    }
                }
            }
            buf.extend_from_slice(&input[split..]);
            while let Some(r) = parse_reply(&mut buf).expect("valid rest") {
                got.push(r);
            }
            assert!(buf.is_empty());
            assert_eq!(got, expected, "split at {split}");
        }
    }

    #[test]
    fn byte_at_a_time() {
        let (input, expected) = multi();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in &input {
            buf.extend_from_slice(&[b]);
            while let Some(r) = parse_reply(&mut buf).expect("valid") {
                got.push(r);
            }
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn reply_len_measures_one_reply() {
        let (input, _) = multi();
        assert_eq!(reply_len(&input), Ok(Some(5)));
        assert_eq!(reply_len(b"*2\r\n:1\r\n:2\r\n:3\r\n"), Ok(Some(12)));
        assert_eq!(reply_len(b""), Ok(None));
        assert_eq!(reply_len(b"*2\r\n:1\r\n"), Ok(None));
    }

    #[test]
    fn huge_declared_lengths_wait_without_allocating() {
        // Legal but absent data: must simply wait (and must not reserve 512 MiB).
        assert_eq!(reply_len(b"$536870912\r\n"), Ok(None));
        assert_eq!(reply_len(b"*16777216\r\n"), Ok(None));
    }

    #[test]
    fn garbage_is_rejected() {
        use ProtocolError::*;
        assert!(matches!(err(b"hello\r\n"), UnknownType { byte: b'h', .. }));
        assert!(matches!(err(b"\0"), UnknownType { .. }));
        assert!(matches!(err(b"$abc\r\n"), BadNumber { .. }));
        assert!(matches!(err(b":12a\r\n"), BadNumber { .. }));
        assert!(matches!(err(b":\r\n"), BadNumber { .. }));
        assert!(matches!(err(b":-\r\n"), BadNumber { .. }));
        assert!(matches!(err(b":+1\r\n"), BadNumber { .. }));
        assert!(matches!(err(b": 1\r\n"), BadNumber { .. }));
        assert!(matches!(
            err(b":99999999999999999999\r\n"),
            BadNumber { .. }
        ));
        assert!(matches!(err(b":9223372036854775808\r\n"), BadNumber { .. }));
        assert!(matches!(
            err(b":1111111111111111111111111111111"),
            BadNumber { .. }
        ));
        assert!(matches!(err(b":1\rX"), BadLineEnding { .. }));
        assert!(matches!(err(b"+OK\rX\n"), BadLineEnding { .. }));
        assert!(matches!(err(b"+O\nK\r\n"), BadLineEnding { .. }));
        assert!(matches!(err(b"$5\r\nhelloXY"), BulkNotTerminated { .. }));
        assert!(matches!(err(b"$-2\r\n"), NegativeLength { len: -2, .. }));
        assert!(matches!(err(b"*-5\r\n"), NegativeLength { len: -5, .. }));
        assert!(matches!(err(b"$536870913\r\n"), BulkTooLarge { .. }));
        assert!(matches!(
            err(b"$9223372036854775807\r\n"),
            BulkTooLarge { .. }
        ));
        assert!(matches!(err(b"*16777217\r\n"), ArrayTooLarge { .. }));
        assert!(matches!(
            err(b"*2\r\n:1\r\n?"),
            UnknownType { byte: b'?', .. }
        ));
        // RESP3 types are not RESP2.
        assert!(matches!(err(b"_\r\n"), UnknownType { .. }));
        assert!(matches!(err(b"%1\r\n"), UnknownType { .. }));

        let mut deep = Vec::new();
        for _ in 0..=MAX_DEPTH {
            deep.extend_from_slice(b"*1\r\n");
        }
        assert!(matches!(err(&deep), TooDeep { .. }));

        let mut long = b"+".to_vec();
        long.resize(MAX_LINE_LEN + 2, b'a');
        assert!(matches!(err(&long), LineTooLong { .. }));
        // Exactly the limit is fine once the CRLF arrives.
        long.truncate(MAX_LINE_LEN + 1);
        assert_eq!(reply_len(&long), Ok(None));
        long.extend_from_slice(b"\r\n");
        assert_eq!(reply_len(&long), Ok(Some(MAX_LINE_LEN + 3)));
    }

    #[test]
    fn incomplete_prefixes_are_not_errors() {
        for input in [
            &b"$"[..],
            b"$1",
            b"$1\r",
            b"$1\r\n",
            b"$1\r\na",
            b"$1\r\na\r",
            b":",
            b":-",
            b"*",
            b"*1\r\n",
            b"+OK\r",
        ] {
            let mut buf = BytesMut::from(input);
            assert_eq!(parse_reply(&mut buf), Ok(None), "input {input:?}");
            assert_eq!(&buf[..], input);
        }
    }

    /// Random bytes, and random corruptions of valid input, never panic.
    #[test]
    fn random_garbage_never_panics() {
        let (valid, _) = multi();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut input = if round % 2 == 0 {
                let len = (next() % 64) as usize;
                (0..len)
                    .map(|_| b"+-:$*\r\n0123456789-ab"[(next() % 20) as usize])
                    .collect::<Vec<u8>>()
            } else {
                valid.clone()
            };
            if !input.is_empty() {
                for _ in 0..3 {
                    let i = (next() as usize) % input.len();
                    input[i] = next() as u8;
                }
            }
            let mut buf = BytesMut::from(&input[..]);
            while let Ok(Some(_)) = parse_reply(&mut buf) {}
        }
    }
}
