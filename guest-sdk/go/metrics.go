package rigor

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_metrics"
)

// Unit is the unit of a metric's raw values; it decides how values are
// printed and which threshold units apply.
type Unit uint8

// Units of metrics.
const (
	// Nanoseconds: durations (latencies).
	Nanoseconds Unit = Unit(rigor_scenario_metrics.Unit_Nanoseconds)
	// Bytes: sizes.
	Bytes Unit = Unit(rigor_scenario_metrics.Unit_Bytes)
	// Count: plain counts.
	Count Unit = Unit(rigor_scenario_metrics.Unit_Count)
	// OpsPerSecond: throughput.
	OpsPerSecond Unit = Unit(rigor_scenario_metrics.Unit_OpsPerSecond)
	// Ratio: a fraction in 0..=1 (error rate, hit ratio).
	Ratio Unit = Unit(rigor_scenario_metrics.Unit_Ratio)
	// NoUnit: a dimensionless number.
	NoUnit Unit = Unit(rigor_scenario_metrics.Unit_None)
)

// Summary is the statistics of a histogram, in its unit. Percentiles come
// from an HDR histogram with 3 significant digits.
type Summary struct {
	Count                    uint64
	Min, Max                 uint64
	Mean, Stdev              float64
	P50, P90, P95, P99, P999 uint64
}

func summaryFrom(s rigor_scenario_metrics.Summary) Summary {
	return Summary{Count: s.Count, Min: s.Min, Max: s.Max, Mean: s.Mean, Stdev: s.Stdev,
		P50: s.P50, P90: s.P90, P95: s.P95, P99: s.P99, P999: s.P999}
}

// Histogram is an HDR histogram owned by the host. Timed probe calls given
// it as `into` record natively, so a guest loop pays no extra crossing per
// sample. A nil *Histogram is accepted wherever `into` is optional.
type Histogram struct {
	h *rigor_scenario_metrics.Histogram
}

// NewHistogram opens the histogram name of this scenario, creating it on
// first use. Opening an existing name returns a handle to the same data;
// the unit of the first opening wins.
func NewHistogram(name string, unit Unit) *Histogram {
	return &Histogram{rigor_scenario_metrics.MakeHistogram(name, uint8(unit))}
}

// NewLatency opens a histogram of durations in nanoseconds.
func NewLatency(name string) *Histogram { return NewHistogram(name, Nanoseconds) }

// Name is the metric's name.
func (h *Histogram) Name() string { return h.h.Name() }

// Record records one value (0 is recorded as 1).
func (h *Histogram) Record(value uint64) { h.h.Record(value) }

// RecordMany records many values in one call: the cheap way to flush
// samples the guest collected itself.
func (h *Histogram) RecordMany(values []uint64) { h.h.RecordMany(values) }

// Summary returns the current statistics.
func (h *Histogram) Summary() Summary { return summaryFrom(h.h.Summary()) }

// Close releases the handle; the metric and its data stay in the report.
func (h *Histogram) Close() error {
	if h != nil && h.h != nil {
		h.h.Drop()
	}
	return nil
}

// into is the contract's optional borrow of a histogram.
func (h *Histogram) into() witTypes.Option[*rigor_scenario_metrics.Histogram] {
	if h == nil || h.h == nil {
		return witTypes.None[*rigor_scenario_metrics.Histogram]()
	}
	return witTypes.Some(h.h)
}

// Gauge sets a gauge: one value reported as is. Setting it again replaces
// the value.
func Gauge(name string, value float64, unit Unit) {
	rigor_scenario_metrics.Gauge(name, value, uint8(unit))
}

// CounterAdd adds delta to the counter name (created at 0).
func CounterAdd(name string, delta uint64) {
	rigor_scenario_metrics.CounterAdd(name, delta)
}
