package rigor

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_memory"
)

// Target is a process whose memory is sampled: TargetHost, TargetChild,
// TargetRedis or TargetPid. The host and the scenario's own children are
// always allowed; other processes need a grant.
type Target struct{ t rigor_scenario_memory.Target }

// TargetHost is the rigor host process itself.
func TargetHost() Target { return Target{rigor_scenario_memory.MakeTargetHost()} }

// TargetChild is a child the scenario started (Child.Pid()).
func TargetChild(pid uint32) Target { return Target{rigor_scenario_memory.MakeTargetChild(pid)} }

// TargetRedis is the server of a granted Redis target on this machine.
func TargetRedis(target string) Target {
	return Target{rigor_scenario_memory.MakeTargetRedis(target)}
}

// TargetPid is any pid the catalog grants (`pids = [1234]`).
func TargetPid(pid uint32) Target { return Target{rigor_scenario_memory.MakeTargetPid(pid)} }

// Usage is a process's memory in bytes. PSS, USS and swap come from
// /proc/<pid>/smaps_rollup and are nil where it is missing.
type Usage struct {
	Pid            uint32
	RSS            uint64
	PSS, USS, Swap *uint64
}

func optPtr[T any](o witTypes.Option[T]) *T {
	if o.IsNone() {
		return nil
	}
	v := o.Some()
	return &v
}

// Sample samples a process's memory once.
func Sample(t Target) (Usage, error) {
	u, err := result(rigor_scenario_memory.Sample(t.t))
	if err != nil {
		return Usage{}, err
	}
	return Usage{u.Pid, u.Rss, optPtr(u.Pss), optPtr(u.Uss), optPtr(u.Swap)}, nil
}

// Measure is the figure a watcher follows.
type Measure uint8

// Measures; RSS is the zero value (cheapest).
const (
	RSS Measure = Measure(rigor_scenario_memory.Measure_Rss)
	PSS Measure = Measure(rigor_scenario_memory.Measure_Pss)
	USS Measure = Measure(rigor_scenario_memory.Measure_Uss)
)

// Point is one sample of a watcher's series.
type Point struct {
	// Time since the watcher started.
	T time.Duration
	// Operations reported done when the sample was taken.
	Ops   uint64
	Bytes uint64
}

// Fit is a least-squares line through a series.
type Fit struct {
	Slope, Intercept float64
	// 95 % confidence interval of the slope.
	CILow, CIHigh float64
	// Share of the variance explained, 0..=1.
	RSquared float64
}

// Criteria say what counts as a leak: a significant trend (Mann-Kendall
// p < Alpha, 0.05 when 0) with the lower bound of a slope's confidence
// interval above its limit. Nil limits: any growth whose interval
// excludes zero counts.
type Criteria struct {
	MaxBytesPerOp     *float64
	MaxBytesPerSecond *float64
	Alpha             float64
}

// MemoryVerdict is the judgement on a watcher's series.
type MemoryVerdict struct {
	Samples uint32
	// At least 5 samples, and the fits the criteria need exist.
	Conclusive, Leak          bool
	BaselineBytes, FinalBytes uint64
	PerOp, PerSecond          *Fit
	MannKendallS              int64
	MannKendallP              float64
	// One sentence with the figures.
	Summary string
}

// Watcher follows one process's memory; the host samples every interval
// and whenever OpsDone is called (the series is bounded to 4,096 points).
type Watcher struct {
	w *rigor_scenario_memory.Watcher
}

// StartWatcher starts a watcher whose metrics are named name; interval 0
// leaves sampling to OpsDone (and the host's default), otherwise at least
// 1 ms.
func StartWatcher(name string, t Target, m Measure, interval time.Duration) (*Watcher, error) {
	iv := witTypes.None[uint64]()
	if interval > 0 {
		iv = witTypes.Some(uint64(interval))
	}
	w, err := result(rigor_scenario_memory.WatcherStart(name, t.t, uint8(m), iv))
	if err != nil {
		return nil, err
	}
	return &Watcher{w}, nil
}

func pointFrom(p rigor_scenario_memory.Point) Point {
	return Point{time.Duration(p.TNs), p.Ops, p.Bytes}
}

// OpsDone reports k more operations done and samples now.
func (w *Watcher) OpsDone(k uint64) (Point, error) {
	p, err := result(w.w.OpsDone(k))
	return pointFrom(p), err
}

// Series returns the series so far.
func (w *Watcher) Series() []Point {
	var out []Point
	for _, p := range w.w.Series() {
		out = append(out, pointFrom(p))
	}
	return out
}

func optF64(p *float64) witTypes.Option[float64] {
	if p == nil {
		return witTypes.None[float64]()
	}
	return witTypes.Some(*p)
}

func fitFrom(o witTypes.Option[rigor_scenario_memory.Fit]) *Fit {
	if o.IsNone() {
		return nil
	}
	f := o.Some()
	return &Fit{f.Slope, f.Intercept, f.CiLow, f.CiHigh, f.RSquared}
}

// Verdict judges the series and records it in the report (gauges
// `<name>.growth-bytes`, `<name>.slope-bytes-per-op`, `<name>.leak`, ...).
func (w *Watcher) Verdict(c Criteria) (MemoryVerdict, error) {
	alpha := witTypes.None[float64]()
	if c.Alpha > 0 {
		alpha = witTypes.Some(c.Alpha)
	}
	v, err := result(w.w.Verdict(rigor_scenario_memory.Criteria{
		MaxBytesPerOp: optF64(c.MaxBytesPerOp), MaxBytesPerSecond: optF64(c.MaxBytesPerSecond), Alpha: alpha,
	}))
	if err != nil {
		return MemoryVerdict{}, err
	}
	return MemoryVerdict{
		Samples: v.Samples, Conclusive: v.Conclusive, Leak: v.Leak, BaselineBytes: v.BaselineBytes,
		FinalBytes: v.FinalBytes, PerOp: fitFrom(v.PerOp), PerSecond: fitFrom(v.PerSecond),
		MannKendallS: v.MannKendallS, MannKendallP: v.MannKendallP, Summary: v.Summary,
	}, nil
}

// Stop stops interval sampling; the series is kept.
func (w *Watcher) Stop() { w.w.Stop() }

// Close releases the watcher.
func (w *Watcher) Close() error {
	if w != nil && w.w != nil {
		w.w.Drop()
		w.w = nil
	}
	return nil
}
