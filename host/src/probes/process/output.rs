//! A child's output stream, drained by a thread into a bounded ring: the last
//! [`TAIL_BYTES`] are kept (what explains a failure), the total is counted,
//! and waiters are woken on every chunk so a line wait reacts at once.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use regex::Regex;
use tokio::sync::watch;

/// Bytes kept per stream. A service's last lines explain a failed start; the
/// bound keeps a child that writes gigabytes from growing host memory.
pub const TAIL_BYTES: usize = 64 * 1024;

/// Size of one read from the pipe.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Ring {
    bytes: VecDeque<u8>,
    /// Bytes ever written; `total - bytes.len()` is the absolute offset of
    /// the first byte kept.
    total: u64,
    /// The writer closed the pipe (exited, or closed the stream).
    closed: bool,
}

/// One output stream of a child.
#[derive(Debug)]
pub struct OutputRing {
    ring: Mutex<Ring>,
    /// Bumped (to the new total) after every chunk and at end of stream.
    changed: watch::Sender<u64>,
}

impl Default for OutputRing {
    fn default() -> Self {
        Self {
            ring: Mutex::new(Ring::default()),
            changed: watch::channel(0).0,
        }
    }
}

impl OutputRing {
    fn lock(&self) -> MutexGuard<'_, Ring> {
        // The ring is plain bytes: consistent after any panic.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a chunk, dropping the oldest bytes past [`TAIL_BYTES`].
    pub fn push(&self, data: &[u8]) {
        {
            let mut ring = self.lock();
            ring.total += data.len() as u64;
            let data = &data[data.len().saturating_sub(TAIL_BYTES)..];
            let overflow = (ring.bytes.len() + data.len()).saturating_sub(TAIL_BYTES);
            let drop = overflow.min(ring.bytes.len());
            ring.bytes.drain(..drop);
            ring.bytes.extend(data);
        }
        self.notify();
    }

    /// Holds the ring locked, so a test can keep the drain from delivering.
    #[cfg(test)]
    pub(crate) fn hold_for_test(&self) -> MutexGuard<'_, Ring> {
        self.lock()
    }

    /// Marks the end of the stream.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify();
    }

    fn notify(&self) {
        let total = self.lock().total;
        self.changed.send_replace(total);
    }

    /// A receiver that sees every change from now on.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The kept bytes as lossy UTF-8, trailing whitespace removed.
    pub fn text(&self) -> String {
        let ring = self.lock();
        let (a, b) = ring.bytes.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        String::from_utf8_lossy(&all).trim_end().to_owned()
    }

    /// Bytes written to the stream so far, kept or not.
    pub fn total(&self) -> u64 {
        self.lock().total
    }

    /// Bytes currently kept (never more than [`TAIL_BYTES`]).
    pub fn kept(&self) -> usize {
        self.lock().bytes.len()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Looks for a line matching `pattern` among the complete lines from
    /// absolute offset `cursor` on (clamped to what is still kept), and
    /// advances `cursor` past the lines examined. At end of stream a last
    /// line without a newline counts too.
    pub fn find_line(&self, cursor: &mut u64, pattern: &Regex) -> Option<String> {
        let mut ring = self.lock();
        let first_kept = ring.total - ring.bytes.len() as u64;
        if *cursor < first_kept {
            *cursor = first_kept;
        }
        let closed = ring.closed;
        let start = usize::try_from(*cursor - first_kept).unwrap_or(usize::MAX);
        let kept = ring.bytes.make_contiguous();
        let mut rest = kept.get(start..).unwrap_or_default();
        while !rest.is_empty() {
            let (line, consumed) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], end + 1),
                None if closed => (rest, rest.len()),
                None => break,
            };
            *cursor += consumed as u64;
            rest = &rest[consumed..];
            let line = String::from_utf8_lossy(line);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if pattern.is_match(line) {
                return Some(line.to_owned());
            }
        }
        None
    }
}

/// Reads `reader` to its end into `ring` on a detached thread. Detached on
/// purpose: a grandchild holding the pipe open could delay EOF, and nothing
/// must wait for that.
pub fn drain(name: String, mut reader: impl Read + Send + 'static, ring: Arc<OutputRing>) {
    let spawned = std::thread::Builder::new().name(name).spawn({
        let ring = Arc::clone(&ring);
        move || {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => ring.push(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            ring.close();
        }
    });
    if spawned.is_err() {
        // Without a reader the pipe fills and the child blocks on write; the
        // kill path still stops it, and the tail says why it is empty.
        ring.push(b"[rigor: could not start a thread to read this stream]\n");
        ring.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_bytes_and_counts_all() {
        let ring = OutputRing::default();
        for i in 0..20_000 {
            ring.push(format!("line {i}\n").as_bytes());
        }
        assert_eq!(ring.kept(), TAIL_BYTES);
        assert!(ring.text().ends_with("line 19999"));
        ring.push(&vec![b'z'; 3 * TAIL_BYTES]);
        assert_eq!(ring.kept(), TAIL_BYTES);
        assert!(ring.text().bytes().all(|b| b == b'z'));
        assert!(ring.total() > 3 * TAIL_BYTES as u64);
    }

    #[test]
    fn finds_lines_once_complete_and_at_end_of_stream() {
        let ring = OutputRing::default();
        let re = Regex::new(r"listening on (\d+)").unwrap();
        let mut cursor = 0;
        ring.push(b"starting\r\nlisten");
        assert_eq!(ring.find_line(&mut cursor, &re), None);
        assert_eq!(cursor, 10, "the partial line is not consumed");
        ring.push(b"ing on 8080\nmore");
        assert_eq!(
            ring.find_line(&mut cursor, &re).as_deref(),
            Some("listening on 8080")
        );
        let tail = Regex::new("^more$").unwrap();
        assert_eq!(ring.find_line(&mut cursor, &tail), None);
        ring.close();
        assert_eq!(ring.find_line(&mut cursor, &tail).as_deref(), Some("more"));
    }

    #[test]
    fn a_cursor_behind_the_ring_is_clamped() {
        let ring = OutputRing::default();
        ring.push(&vec![b'a'; 2 * TAIL_BYTES]);
        ring.push(b"\nready\n");
        let mut cursor = 0;
        let re = Regex::new("^ready$").unwrap();
        assert_eq!(ring.find_line(&mut cursor, &re).as_deref(), Some("ready"));
        assert_eq!(cursor, ring.total());
    }
}
