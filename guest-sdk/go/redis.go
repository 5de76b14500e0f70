package rigor

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_redis"
)

// Redis is one connection to a named Redis target. Targets are names
// (`default`, `cache`) the catalog grants and the host maps to addresses;
// a scenario never sees an address. Every call is timed natively around
// the round trip only.
type Redis struct {
	c *rigor_scenario_redis.Connection
}

// OpenRedis opens a connection to target: ErrDenied when the scenario was
// not granted it, ErrConnection when the server cannot be reached.
func OpenRedis(target string) (*Redis, error) {
	c, err := result(rigor_scenario_redis.ConnectionOpen(target))
	if err != nil {
		return nil, err
	}
	return &Redis{c}, nil
}

// OpenRedisPooled opens a connection whose calls borrow a link from a
// small pool the scenario's VUs share: what virtual users use. Commands
// that depend on one connection's state (MULTI, WATCH, SELECT, SUBSCRIBE,
// BLPOP, ...) are ErrInvalid on it.
func OpenRedisPooled(target string) (*Redis, error) {
	c, err := result(rigor_scenario_redis.ConnectionOpenPooled(target))
	if err != nil {
		return nil, err
	}
	return &Redis{c}, nil
}

// Close releases the connection.
func (r *Redis) Close() error {
	if r != nil && r.c != nil {
		r.c.Drop()
		r.c = nil
	}
	return nil
}

// Set runs `SET key value`; it returns the round trip and records it into
// `into` when that is not nil.
func (r *Redis) Set(key string, value []byte, into *Histogram) (time.Duration, error) {
	ns, err := result(r.c.Set(key, value, into.into()))
	return time.Duration(ns), err
}

// Got is the outcome of a GET.
type Got struct {
	// The value; nil when the key does not exist.
	Value []byte
	// Whether the key existed (a hit).
	Found bool
	// The round trip.
	Latency time.Duration
}

// Get runs `GET key`, timed, recording into `into` when not nil.
func (r *Redis) Get(key string, into *Histogram) (Got, error) {
	g, err := result(r.c.Get(key, into.into()))
	if err != nil {
		return Got{}, err
	}
	got := Got{Found: g.Value.IsSome(), Latency: time.Duration(g.LatencyNs)}
	if got.Found {
		got.Value = nonNil(g.Value.Some())
	}
	return got, nil
}

// Del runs `DEL key...` and returns the number of keys removed.
func (r *Redis) Del(keys []string, into *Histogram) (uint64, error) {
	return result(r.c.Del(keys, into.into()))
}

// ReplyKind says which field of a Reply holds the answer.
type ReplyKind uint8

// Kinds of Redis replies.
const (
	ReplyNil     ReplyKind = ReplyKind(rigor_scenario_redis.Reply_Nil)
	ReplyStatus  ReplyKind = ReplyKind(rigor_scenario_redis.Reply_Status)
	ReplyInteger ReplyKind = ReplyKind(rigor_scenario_redis.Reply_Integer)
	ReplyBulk    ReplyKind = ReplyKind(rigor_scenario_redis.Reply_Bulk)
	ReplyArray   ReplyKind = ReplyKind(rigor_scenario_redis.Reply_Array)
)

// Reply is a Redis reply. Nested arrays and integers inside arrays come in
// their text form, so one level of Array covers every reply.
type Reply struct {
	Kind ReplyKind
	// Simple string (`OK`, `PONG`), for ReplyStatus.
	Status string
	// For ReplyInteger.
	Integer int64
	// For ReplyBulk; binary-safe.
	Bulk []byte
	// For ReplyArray: a nil element is a null, an empty one an empty string.
	Array [][]byte
	// The round trip.
	Latency time.Duration
}

// Command runs any command given as binary-safe arguments
// (`[][]byte{[]byte("HSET"), ...}`), timed. An error reply from the server
// is ErrServer.
func (r *Redis) Command(args [][]byte, into *Histogram) (Reply, error) {
	a, err := result(r.c.Command(args, into.into()))
	if err != nil {
		return Reply{}, err
	}
	reply := Reply{Kind: ReplyKind(a.Reply.Tag()), Latency: time.Duration(a.LatencyNs)}
	switch reply.Kind {
	case ReplyStatus:
		reply.Status = a.Reply.Status()
	case ReplyInteger:
		reply.Integer = a.Reply.Integer()
	case ReplyBulk:
		reply.Bulk = nonNil(a.Reply.Bulk())
	case ReplyArray:
		for _, item := range a.Reply.Array() {
			if item.IsSome() {
				reply.Array = append(reply.Array, nonNil(item.Some()))
			} else {
				reply.Array = append(reply.Array, nil)
			}
		}
	}
	return reply, nil
}

// Do runs a command given as strings (`r.Do("INCRBY", "n", "5")`), untimed
// into any histogram.
func (r *Redis) Do(args ...string) (Reply, error) {
	raw := make([][]byte, len(args))
	for i, a := range args {
		raw[i] = []byte(a)
	}
	return r.Command(raw, nil)
}

// ClearPrefix removes every key that starts with prefix (SCAN + UNLINK in
// batches; every master of a cluster) and returns how many were removed.
// It never flushes the database; an empty prefix is ErrInvalid.
func (r *Redis) ClearPrefix(prefix string) (uint64, error) {
	return result(r.c.ClearPrefix(prefix))
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// LoadOp is what one operation of a Redis load does; build it with OpSet,
// OpGet, OpDel, OpIncr, OpExpire or OpRaw.
type LoadOp struct{ op rigor_scenario_redis.LoadOp }

// OpSet is `SET key value`.
func OpSet() LoadOp { return LoadOp{rigor_scenario_redis.MakeLoadOpSet()} }

// OpGet is `GET key`.
func OpGet() LoadOp { return LoadOp{rigor_scenario_redis.MakeLoadOpGet()} }

// OpDel is `DEL key`.
func OpDel() LoadOp { return LoadOp{rigor_scenario_redis.MakeLoadOpDel()} }

// OpIncr is `INCR key`.
func OpIncr() LoadOp { return LoadOp{rigor_scenario_redis.MakeLoadOpIncr()} }

// OpExpire is `EXPIRE key seconds`.
func OpExpire(seconds uint32) LoadOp {
	return LoadOp{rigor_scenario_redis.MakeLoadOpExpire(seconds)}
}

// OpRaw is any command, one string per argument; `{key}` and `{value}`
// inside an argument are replaced by the generated key and the value.
func OpRaw(args ...string) LoadOp { return LoadOp{rigor_scenario_redis.MakeLoadOpRaw(args)} }

// WeightedOp is one entry of a load's mix: each request picks an entry
// with probability weight / sum of weights.
type WeightedOp struct {
	Op     LoadOp
	Weight uint32
	// Name in metrics and the report; empty: the command (`set`, `get`).
	Name string
}

// RedisLoad is a native concurrent Redis load, run by the host. Zero
// values choose the defaults noted on each field.
type RedisLoad struct {
	// Granted Redis target.
	Target string
	// Concurrent workers (1..=10000).
	Workers uint32
	// The measured phase: OpsPerWorker operations per worker, or, when it
	// is 0, Duration.
	OpsPerWorker uint64
	Duration     time.Duration
	// An untimed phase before it: WarmupOps per worker, or WarmupDuration;
	// both 0: none.
	WarmupOps      uint64
	WarmupDuration time.Duration
	// Open model at this many ops/s in total (latency from each request's
	// intended send time: no coordinated omission); 0: closed model.
	Rate float64
	// The op mix; empty: GET only.
	Mix []WeightedOp
	// The value of `set` and `{value}`: Document if not nil, else
	// ValueSize bytes (`x` repeated; 0: 16 bytes).
	ValueSize uint32
	Document  []byte
	// Keys are KeyPrefix followed by an index below KeyCount (0: 1000),
	// uniformly at random, or in order with SequentialKeys.
	KeyPrefix      string
	KeyCount       uint64
	SequentialKeys bool
	// Commands per write by each worker, closed model only (0 or 1: no
	// pipelining).
	Pipeline uint32
	// One connection for all workers instead of one each.
	SharedConnection bool
	// Per-request timeout (0: 5 s).
	Timeout time.Duration
	// Event-loop threads (0: half the cores).
	Threads uint32
	// Metric names start with this (`<prefix>.get`, `<prefix>.throughput`);
	// empty: `load`.
	MetricPrefix string
}

// ErrorCount is the failures of one kind during a load: `connection`,
// `timeout`, `io`, `protocol`, `server:<CODE>`, `unreachable`.
type ErrorCount struct {
	Kind  string
	Count uint64
	// Up to three distinct messages.
	Samples []string
}

// OpResult is what one op of the mix observed.
type OpResult struct {
	Name string
	// Requests answered without an error.
	OK         uint64
	Errors     []ErrorCount
	Throughput float64
	// Latency in nanoseconds; in the open model from the intended send.
	Latency Summary
	// Open model only: from the actual send to the reply.
	ServiceTime *Summary
}

// RedisLoadResult is the outcome of a load. The host also records the
// metrics `<prefix>.<op>`, `<prefix>.all`, `<prefix>.throughput` and
// `<prefix>.error-rate`.
type RedisLoadResult struct {
	Ops        []OpResult
	OK, Errors uint64
	ErrorRate  float64
	Throughput float64
	Elapsed    time.Duration
	Workers    uint32
	Shared     bool
	Threads    uint32
	Reconnects uint64
}

func amount(ops uint64, d time.Duration) rigor_scenario_redis.LoadAmount {
	if ops == 0 && d > 0 {
		return rigor_scenario_redis.MakeLoadAmountDurationMs(uint64(d / time.Millisecond))
	}
	return rigor_scenario_redis.MakeLoadAmountOpsPerWorker(ops)
}

func optString(s string) witTypes.Option[string] {
	if s == "" {
		return witTypes.None[string]()
	}
	return witTypes.Some(s)
}

func optU32(v uint32) witTypes.Option[uint32] {
	if v == 0 {
		return witTypes.None[uint32]()
	}
	return witTypes.Some(v)
}

// RunRedisLoad runs a load natively and waits for it. ErrInvalid names the
// field that cannot run, ErrDenied an ungranted target. A server failing
// during the load is not an error of the call: failures are counted.
func RunRedisLoad(l RedisLoad) (RedisLoadResult, error) {
	spec := rigor_scenario_redis.LoadSpec{
		Target:       l.Target,
		Workers:      l.Workers,
		Amount:       amount(l.OpsPerWorker, l.Duration),
		Warmup:       amount(l.WarmupOps, l.WarmupDuration),
		Model:        rigor_scenario_redis.MakeLoadModelClosed(),
		Keys:         rigor_scenario_redis.KeySpace{Prefix: l.KeyPrefix, Count: l.KeyCount, Pattern: rigor_scenario_redis.KeyPattern_Uniform},
		Pipeline:     max(l.Pipeline, 1),
		Connections:  rigor_scenario_redis.ConnectionMode_PerWorker,
		TimeoutMs:    optU32(uint32(l.Timeout / time.Millisecond)),
		Threads:      optU32(l.Threads),
		MetricPrefix: optString(l.MetricPrefix),
	}
	if l.Rate > 0 {
		spec.Model = rigor_scenario_redis.MakeLoadModelOpen(l.Rate)
	}
	for _, w := range l.Mix {
		spec.Mix = append(spec.Mix, rigor_scenario_redis.WeightedOp{Op: w.Op.op, Weight: w.Weight, Name: optString(w.Name)})
	}
	if len(spec.Mix) == 0 {
		spec.Mix = []rigor_scenario_redis.WeightedOp{{Op: rigor_scenario_redis.MakeLoadOpGet(), Weight: 1, Name: witTypes.None[string]()}}
	}
	if l.Document != nil {
		spec.Value = rigor_scenario_redis.MakeLoadValueDocument(l.Document)
	} else {
		spec.Value = rigor_scenario_redis.MakeLoadValueBytes(cmp(l.ValueSize, 16))
	}
	if spec.Keys.Count == 0 {
		spec.Keys.Count = 1000
	}
	if l.SequentialKeys {
		spec.Keys.Pattern = rigor_scenario_redis.KeyPattern_Sequential
	}
	if l.SharedConnection {
		spec.Connections = rigor_scenario_redis.ConnectionMode_Shared
	}
	r, err := result(rigor_scenario_redis.RunLoad(spec))
	if err != nil {
		return RedisLoadResult{}, err
	}
	out := RedisLoadResult{OK: r.Ok, Errors: r.Errors, ErrorRate: r.ErrorRate, Throughput: r.Throughput,
		Elapsed: time.Duration(r.ElapsedNs), Workers: r.Workers, Threads: r.Threads, Reconnects: r.Reconnects,
		Shared: r.Connections == rigor_scenario_redis.ConnectionMode_Shared}
	for _, op := range r.Ops {
		o := OpResult{Name: op.Name, OK: op.Ok, Throughput: op.Throughput, Latency: summaryFrom(op.Latency)}
		for _, e := range op.Errors {
			o.Errors = append(o.Errors, ErrorCount{e.Kind, e.Count, e.Samples})
		}
		if op.ServiceTime.IsSome() {
			s := summaryFrom(op.ServiceTime.Some())
			o.ServiceTime = &s
		}
		out.Ops = append(out.Ops, o)
	}
	return out, nil
}

// cmp returns v, or def when v is the zero value.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
