//! What a load run does, validated before anything is sent: the op mix, the
//! key space, values, the model and the amount of work.

use std::time::Duration;

use bytes::{BufMut, BytesMut};

use crate::probes::redis::resp;

/// Most workers (connections) one load may open; the scenario's
/// `load-workers` and `connections` budgets usually bind first.
pub const MAX_WORKERS: u32 = 10_000;
/// Most event-loop threads one load may ask for; the scenario's
/// `load-threads` budget usually binds first.
pub const MAX_THREADS: usize = 1024;
/// Deepest pipeline accepted.
pub const MAX_PIPELINE: u32 = 10_000;
/// Largest value a load may write (512 MiB is Redis's own limit).
pub const MAX_VALUE_LEN: usize = 512 * 1024 * 1024;
/// Most entries in an op mix.
pub const MAX_MIX: usize = 64;
/// How long a worker keeps trying to reconnect before it gives up.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_millis(250);

/// How much work a phase does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// Each worker completes this many operations (closed model), or the
    /// schedule holds `workers × n` operations (open model).
    OpsPerWorker(u64),
    /// The phase lasts this long.
    Duration(Duration),
}

impl Amount {
    pub fn is_zero(self) -> bool {
        match self {
            Amount::OpsPerWorker(n) => n == 0,
            Amount::Duration(d) => d.is_zero(),
        }
    }
}

/// How requests are issued.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Each worker sends its next request when the previous one answered.
    Closed,
    /// Requests follow a fixed schedule at `rate` ops/s in total, whatever
    /// the server does; latency counts from the scheduled send time.
    Open { rate: f64 },
}

/// Connections used by the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// One connection per worker (the shape of `redis-benchmark -c N`).
    PerWorker,
    /// One connection shared by all workers; concurrent requests are
    /// pipelined on it implicitly.
    Shared,
}

impl Connections {
    pub fn as_str(self) -> &'static str {
        match self {
            Connections::PerWorker => "per-worker",
            Connections::Shared => "shared",
        }
    }
}

/// Which keys the operations touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPattern {
    /// Each key drawn uniformly at random from the key space.
    Uniform,
    /// Keys in order, wrapping around; each worker starts at its own offset.
    Sequential,
}

/// One piece of a raw command argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Literal(Vec<u8>),
    Key,
    Value,
}

/// The operation of one mix entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Set,
    Get,
    Del,
    Incr,
    /// `EXPIRE key seconds`.
    Expire(u32),
    /// Any command; arguments may contain `{key}` and `{value}`.
    Raw(Vec<Vec<Segment>>),
}

impl Op {
    /// The default name of the op in metric names and the report.
    pub fn default_name(&self) -> String {
        match self {
            Op::Set => "set".into(),
            Op::Get => "get".into(),
            Op::Del => "del".into(),
            Op::Incr => "incr".into(),
            Op::Expire(_) => "expire".into(),
            Op::Raw(args) => match args.first() {
                Some(first) => first
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(b) => String::from_utf8_lossy(b).to_lowercase(),
                        Segment::Key => "key".into(),
                        Segment::Value => "value".into(),
                    })
                    .collect(),
                None => "raw".into(),
            },
        }
    }
}

/// One weighted entry of the op mix.
#[derive(Debug, Clone, PartialEq)]
pub struct MixEntry {
    pub name: String,
    pub op: Op,
    pub weight: u32,
}

/// A validated load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub workers: u32,
    pub amount: Amount,
    pub warmup: Amount,
    pub model: Model,
    pub mix: Vec<MixEntry>,
    pub value: Vec<u8>,
    pub key_prefix: String,
    pub key_count: u64,
    pub key_pattern: KeyPattern,
    pub pipeline: u32,
    pub connections: Connections,
    /// Per request (or batch) timeout; also how long a worker keeps trying
    /// to reconnect before the rest of its work is counted as failed.
    pub timeout: Duration,
    /// Threads the workers run on (each with its own event loop).
    pub threads: usize,
    pub seed: u64,
    /// The number of this load's first worker in the whole load, and the
    /// whole load's workers: a shard runs workers
    /// `first_worker..first_worker + workers` of `all_workers` (0 and
    /// `workers` when unsharded, where 0 means `workers`).
    pub first_worker: u32,
    pub all_workers: u32,
}

/// A spec that cannot run, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("load spec field `{field}`: {problem}")]
pub struct SpecError {
    pub field: &'static str,
    pub problem: String,
}

fn bad(field: &'static str, problem: impl Into<String>) -> SpecError {
    SpecError {
        field,
        problem: problem.into(),
    }
}

impl LoadSpec {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err(bad(
                "workers",
                format!("{} is out of range 1..={MAX_WORKERS}", self.workers),
            ));
        }
        if self.amount.is_zero() {
            return Err(bad("amount", "zero operations or zero duration"));
        }
        if let Model::Open { rate } = self.model
            && !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0)
        {
            return Err(bad(
                "model",
                format!("open-model rate {rate} ops/s is not in (0, 10000000]"),
            ));
        }
        if self.mix.is_empty() {
            return Err(bad("mix", "no operations given"));
        }
        if self.mix.len() > MAX_MIX {
            return Err(bad(
                "mix",
                format!("{} entries; at most {MAX_MIX}", self.mix.len()),
            ));
        }
        if self.mix.iter().all(|m| m.weight == 0) {
            return Err(bad("mix", "every weight is zero"));
        }
        for (i, m) in self.mix.iter().enumerate() {
            if m.name.is_empty()
                || !m
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(bad(
                    "mix",
                    format!(
                        "entry {i}: name `{}` must be non-empty letters, digits, `-`, `_` or `.`",
                        m.name
                    ),
                ));
            }
            if let Op::Raw(args) = &m.op
                && args.is_empty()
            {
                return Err(bad(
                    "mix",
                    format!("entry {i} (`{}`): empty command", m.name),
                ));
            }
            if self.mix[..i].iter().any(|o| o.name == m.name) {
                return Err(bad(
                    "mix",
                    format!("entry {i}: name `{}` is used twice", m.name),
                ));
            }
        }
        if self.value.len() > MAX_VALUE_LEN {
            return Err(bad(
                "value",
                format!("{} bytes; at most {MAX_VALUE_LEN}", self.value.len()),
            ));
        }
        if self.key_prefix.is_empty() {
            return Err(bad(
                "keys.prefix",
                "empty; a prefix keeps the load's keys apart from everything else",
            ));
        }
        if self.key_count == 0 {
            return Err(bad("keys.count", "zero keys"));
        }
        if self.pipeline == 0 || self.pipeline > MAX_PIPELINE {
            return Err(bad(
                "pipeline",
                format!("{} is out of range 1..={MAX_PIPELINE}", self.pipeline),
            ));
        }
        if matches!(self.model, Model::Open { .. }) && self.pipeline != 1 {
            return Err(bad(
                "pipeline",
                "the open model schedules single requests; use pipeline 1",
            ));
        }
        if self.timeout.is_zero() {
            return Err(bad("timeout", "zero"));
        }
        if self.threads > MAX_THREADS {
            return Err(bad(
                "threads",
                format!("{} is out of range 1..={MAX_THREADS}", self.threads),
            ));
        }
        Ok(())
    }

    /// OS threads the load runs on: one event loop for a shared connection,
    /// otherwise the spec's threads, never more than one per worker.
    pub fn threads_used(&self) -> usize {
        match self.connections {
            Connections::Shared => 1,
            Connections::PerWorker => self.threads.clamp(1, self.workers.max(1) as usize),
        }
    }

    /// Connections the load opens.
    pub fn connections_used(&self) -> u64 {
        match self.connections {
            Connections::Shared => 1,
            Connections::PerWorker => u64::from(self.workers),
        }
    }

    /// The most host memory the load holds with a value of `value_len`
    /// bytes (the value itself may not be made yet: this is asked before).
    pub fn footprint(&self, value_len: usize) -> Footprint {
        let value = value_len as u64;
        let key = self.key_prefix.len() as u64 + 20;
        let arg = |len: u64| RESP_ARG_OVERHEAD + len;
        let (mut request, mut reply) = (0u64, REPLY_SMALL);
        for entry in &self.mix {
            let (req, rep) = match &entry.op {
                Op::Set => (arg(3) + arg(key) + arg(value), REPLY_SMALL),
                Op::Get => (arg(3) + arg(key), arg(value)),
                Op::Del | Op::Incr => (arg(4) + arg(key), REPLY_SMALL),
                Op::Expire(_) => (arg(6) + arg(key) + arg(10), REPLY_SMALL),
                // A raw command is taken to answer with at most one value.
                Op::Raw(args) => (
                    args.iter()
                        .map(|segments| {
                            arg(segments
                                .iter()
                                .map(|s| match s {
                                    Segment::Literal(b) => b.len() as u64,
                                    Segment::Key => key,
                                    Segment::Value => value,
                                })
                                .sum())
                        })
                        .sum(),
                    arg(value),
                ),
            };
            request = request.max(req + RESP_ARG_OVERHEAD);
            reply = reply.max(rep);
        }
        let open = matches!(self.model, Model::Open { .. });
        // Per thread a measured and a warm-up tally, one latency (and, open
        // model, one service-time) histogram per op; plus the merged total.
        let per_tally = self.mix.len() as u64 * if open { 2 } else { 1 };
        let tallies = 2 * self.threads_used() as u64 + 1;
        let workers = u64::from(self.workers);
        let per_connection = match self.connections {
            Connections::Shared => SHARED_CONNECTION_BYTES,
            Connections::PerWorker => CONNECTION_BYTES,
        };
        let per_worker = WORKER_BYTES + u64::from(self.pipeline) * 9 + key;
        Footprint {
            batches: workers,
            pipeline: u64::from(self.pipeline),
            per_command: request.saturating_add(reply),
            reply,
            value,
            histograms: tallies * per_tally * crate::metrics::Distribution::max_bytes(),
            fixed: self.connections_used() * per_connection + workers * per_worker,
        }
    }
}

/// Bytes RESP adds around one argument (`$<len>\r\n…\r\n`), generously.
const RESP_ARG_OVERHEAD: u64 = 16;
/// A status or integer reply.
const REPLY_SMALL: u64 = 32;
/// The two buffers of a per-worker connection at rest (16 KiB each).
const CONNECTION_BYTES: u64 = 32 * 1024;
/// The shared connection's write batch (256 KiB) and read buffer.
const SHARED_CONNECTION_BYTES: u64 = 320 * 1024;
/// A worker's own state besides its batch: the task, its command maker and
/// picks; generously.
const WORKER_BYTES: u64 = 2 * 1024;

/// The most host memory a load holds, by part, so a refusal can say how
/// the figure was reached. Every worker has one batch in flight: its request
/// (`pipeline` commands) and the replies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Batches in flight at once (one per worker).
    pub batches: u64,
    pub pipeline: u64,
    /// The largest encoded command plus the largest reply of the mix.
    pub per_command: u64,
    /// The largest reply of the mix (a raw command is taken to answer with
    /// at most one value): a longer one is refused by the load's client.
    pub reply: u64,
    /// The value, one copy shared by every worker.
    pub value: u64,
    /// Latency histograms at their widest.
    pub histograms: u64,
    /// Connection buffers at rest and per-worker state.
    pub fixed: u64,
}

/// Room past the replies a batch was charged for before a reply counts as
/// too large: one read's worth.
const REPLY_SLACK: u64 = 64 * 1024;

impl Footprint {
    /// Most reply bytes one connection buffers for a batch of `pipeline`
    /// replies; the load's clients refuse more.
    pub fn batch_reply_limit(&self) -> usize {
        let bytes = self
            .pipeline
            .saturating_mul(self.reply)
            .saturating_add(REPLY_SLACK);
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    /// Most bytes of one unfinished reply a shared connection buffers.
    pub fn reply_limit(&self) -> usize {
        usize::try_from(self.reply.saturating_add(REPLY_SLACK)).unwrap_or(usize::MAX)
    }

    pub fn total(&self) -> u64 {
        self.batches
            .saturating_mul(self.pipeline)
            .saturating_mul(self.per_command)
            .saturating_add(self.value)
            .saturating_add(self.histograms)
            .saturating_add(self.fixed)
    }

    /// `1 worker × pipeline 64 × 512 MiB per command and reply, plus …`.
    pub fn describe(&self) -> String {
        use crate::budget::size;
        format!(
            "{} worker{} × pipeline {} × {} per command and reply, plus {} for the value, {} for latency histograms and {} for connections and workers",
            self.batches,
            if self.batches == 1 { "" } else { "s" },
            self.pipeline,
            size(self.per_command),
            size(self.value),
            size(self.histograms),
            size(self.fixed)
        )
    }
}

/// Picks ops by weight and keys by pattern, and encodes commands; one per
/// worker, with its own random stream.
pub struct CommandMaker<'a> {
    spec: &'a LoadSpec,
    /// Cumulative weights, for picking by a random draw.
    cumulative: Vec<u64>,
    total_weight: u64,
    rng: u64,
    next_key: u64,
    key: Vec<u8>,
}

impl<'a> CommandMaker<'a> {
    pub fn new(spec: &'a LoadSpec, worker: u32) -> Self {
        let mut total = 0u64;
        let cumulative = spec
            .mix
            .iter()
            .map(|m| {
                total += u64::from(m.weight);
                total
            })
            .collect();
        // Numbered as in the whole load (a shard runs some of its workers).
        let worker = spec.first_worker + worker;
        let all_workers = if spec.all_workers == 0 {
            spec.workers
        } else {
            spec.all_workers
        };
        // Sequential keys: workers start spread over the key space.
        let next_key = spec.key_count / u64::from(all_workers) * u64::from(worker);
        Self {
            spec,
            cumulative,
            total_weight: total,
            rng: splitmix(spec.seed ^ (u64::from(worker) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            next_key,
            key: Vec::with_capacity(spec.key_prefix.len() + 20),
        }
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.rng)
    }

    /// Draws the next op (index into the mix).
    pub fn pick(&mut self) -> usize {
        if self.cumulative.len() == 1 {
            return 0;
        }
        let draw = self.random() % self.total_weight;
        self.cumulative.partition_point(|&c| c <= draw)
    }

    fn next_key(&mut self) {
        let index = match self.spec.key_pattern {
            KeyPattern::Uniform => self.random() % self.spec.key_count,
            KeyPattern::Sequential => {
                let k = self.next_key % self.spec.key_count;
                self.next_key = self.next_key.wrapping_add(1);
                k
            }
        };
        self.key.clear();
        self.key.extend_from_slice(self.spec.key_prefix.as_bytes());
        self.key.extend_from_slice(itoa_buf(index).as_bytes());
    }

    /// Appends the command of mix entry `op` to `out`, with a fresh key.
    pub fn encode(&mut self, op: usize, out: &mut BytesMut) {
        self.next_key();
        let key = self.key.as_slice();
        let value = self.spec.value.as_slice();
        match &self.spec.mix[op].op {
            Op::Set => resp::encode_command(out, &[b"SET", key, value]),
            Op::Get => resp::encode_command(out, &[b"GET", key]),
            Op::Del => resp::encode_command(out, &[b"DEL", key]),
            Op::Incr => resp::encode_command(out, &[b"INCR", key]),
            Op::Expire(seconds) => {
                let seconds = seconds.to_string();
                resp::encode_command(out, &[b"EXPIRE", key, seconds.as_bytes()])
            }
            Op::Raw(args) => {
                out.put_u8(b'*');
                out.put_slice(args.len().to_string().as_bytes());
                out.put_slice(b"\r\n");
                for arg in args {
                    let len: usize = arg
                        .iter()
                        .map(|s| match s {
                            Segment::Literal(b) => b.len(),
                            Segment::Key => key.len(),
                            Segment::Value => value.len(),
                        })
                        .sum();
                    out.put_u8(b'$');
                    out.put_slice(len.to_string().as_bytes());
                    out.put_slice(b"\r\n");
                    for s in arg {
                        out.put_slice(match s {
                            Segment::Literal(b) => b,
                            Segment::Key => key,
                            Segment::Value => value,
                        });
                    }
                    out.put_slice(b"\r\n");
                }
            }
        }
    }
}

/// Splits a raw argument at `{key}` and `{value}`.
pub fn parse_template(arg: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = arg;
    while !rest.is_empty() {
        let next = [("{key}", Segment::Key), ("{value}", Segment::Value)]
            .into_iter()
            .filter_map(|(pat, seg)| rest.find(pat).map(|at| (at, pat.len(), seg)))
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, len, seg)) => {
                if at > 0 {
                    segments.push(Segment::Literal(rest.as_bytes()[..at].to_vec()));
                }
                segments.push(seg);
                rest = &rest[at + len..];
            }
            None => {
                segments.push(Segment::Literal(rest.as_bytes().to_vec()));
                rest = "";
            }
        }
    }
    if segments.is_empty() {
        segments.push(Segment::Literal(Vec::new()));
    }
    segments
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Decimal digits of `n` without allocating.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(mut n: u64) -> Digits {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buf, start: i }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> LoadSpec {
        LoadSpec {
            workers: 2,
            amount: Amount::OpsPerWorker(10),
            warmup: Amount::OpsPerWorker(0),
            model: Model::Closed,
            mix: vec![
                MixEntry {
                    name: "set".into(),
                    op: Op::Set,
                    weight: 1,
                },
                MixEntry {
                    name: "get".into(),
                    op: Op::Get,
                    weight: 3,
                },
            ],
            value: b"vv".to_vec(),
            key_prefix: "p:".into(),
            key_count: 100,
            key_pattern: KeyPattern::Sequential,
            pipeline: 1,
            connections: Connections::PerWorker,
            timeout: Duration::from_secs(1),
            threads: 1,
            seed: 7,
            first_worker: 0,
            all_workers: 0,
        }
    }

    #[test]
    fn weights_pick_in_proportion() {
        let s = spec();
        let mut maker = CommandMaker::new(&s, 0);
        let gets = (0..40_000).filter(|_| maker.pick() == 1).count();
        // Expected 30000; a fair draw stays well within 2 %.
        assert!((29_400..=30_600).contains(&gets), "{gets}");
    }

    #[test]
    fn sequential_keys_start_per_worker_and_wrap() {
        let s = spec();
        let mut maker = CommandMaker::new(&s, 1);
        let mut out = BytesMut::new();
        maker.encode(0, &mut out);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$4\r\np:50\r\n$2\r\nvv\r\n");
        let mut last = BytesMut::new();
        for _ in 0..50 {
            last.clear();
            maker.encode(1, &mut last);
        }
        assert_eq!(&last[..], b"*2\r\n$3\r\nGET\r\n$3\r\np:0\r\n");
    }

    #[test]
    fn raw_templates_substitute_key_and_value() {
        let mut s = spec();
        s.mix = vec![MixEntry {
            name: "hset".into(),
            op: Op::Raw(vec![
                parse_template("HSET"),
                parse_template("h:{key}"),
                parse_template("f"),
                parse_template("{value}!"),
            ]),
            weight: 1,
        }];
        let mut maker = CommandMaker::new(&s, 0);
        let mut out = BytesMut::new();
        maker.encode(0, &mut out);
        assert_eq!(
            &out[..],
            b"*4\r\n$4\r\nHSET\r\n$5\r\nh:p:0\r\n$1\r\nf\r\n$3\r\nvv!\r\n"
        );
        assert_eq!(s.mix[0].op.default_name(), "hset");
    }

    #[test]
    fn the_footprint_grows_with_value_pipeline_and_workers() {
        let mut s = spec();
        s.workers = 1;
        s.pipeline = 64;
        let big = 256 << 20;
        let f = s.footprint(big);
        // SET carries the value, GET's reply carries it back.
        assert!(f.per_command > 2 * big as u64 && f.per_command < 2 * big as u64 + 512);
        assert!(f.total() > 64 * 2 * big as u64, "{}", f.total());
        assert!(
            f.describe()
                .starts_with("1 worker × pipeline 64 × 512 MiB per command"),
            "{}",
            f.describe()
        );
        s.pipeline = 1;
        s.workers = 50;
        s.value = vec![b'x'; 100];
        let small = s.footprint(100);
        // The reference load (50 workers, 100 B) stays a few MiB.
        assert!(small.total() < 8 << 20, "{}", small.total());
        s.connections = Connections::Shared;
        s.threads = 8;
        assert_eq!((s.threads_used(), s.connections_used()), (1, 1));
        s.connections = Connections::PerWorker;
        assert_eq!((s.threads_used(), s.connections_used()), (8, 50));
        s.threads = MAX_THREADS + 1;
        assert_eq!(s.validate().unwrap_err().field, "threads");
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = spec();
        s.workers = 0;
        assert_eq!(s.validate().unwrap_err().field, "workers");
        let mut s = spec();
        s.model = Model::Open { rate: 100.0 };
        s.pipeline = 4;
        assert_eq!(s.validate().unwrap_err().field, "pipeline");
        let mut s = spec();
        s.mix[1].name = "set".into();
        assert!(s.validate().unwrap_err().problem.contains("twice"));
        let mut s = spec();
        s.key_prefix.clear();
        assert_eq!(s.validate().unwrap_err().field, "keys.prefix");
        assert!(spec().validate().is_ok());
    }
}
