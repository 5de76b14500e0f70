// Package scenario is cache-baseline-go: the cache baseline in Go. It
// clears the scenario's key prefix, then measures the cold path (GET
// misses) and the warm path (GET hits after a SET) with single host-timed
// calls into histograms, and reports the difference as gauges and a
// finding. Same metric names as the Rust `cache-baseline`, so the two can
// be compared run by run.
package scenario

import (
	"bytes"
	"errors"
	"fmt"

	"rigor"
)

func init() {
	rigor.Scenario(rigor.Info{
		Name:        "cache-baseline-go",
		Description: "Cold (miss) and warm (hit) GET latency after clearing the cache prefix, in Go",
		Params: []rigor.Param{
			{Name: "ops", Default: "1000", Help: "timed GETs per path"},
			{Name: "value-size", Default: "1KiB", Help: "size of every cached value"},
			{Name: "max-hit-p99", Default: "1ms", Help: "p99 of a warm GET above which the scenario fails"},
			{Name: "key-prefix", Default: "rigor:cache-baseline-go:", Help: "prefix of every key (cleared before and after)"},
			{Name: "target", Default: "default", Help: "Redis target to use"},
		},
	}, run)
}

type config struct {
	ops       int
	value     []byte
	prefix    string
	maxHitP99 string
	target    string
}

func parse(p rigor.Params) (c config, err error) {
	if c.ops, err = p.Int("ops"); err != nil {
		return c, err
	}
	if c.ops < 1 {
		return c, errors.New("`ops` must be at least 1")
	}
	size, err := p.Size("value-size")
	if err != nil {
		return c, err
	}
	c.value = bytes.Repeat([]byte("v"), int(size))
	if c.prefix, err = p.String("key-prefix"); err != nil {
		return c, err
	}
	if c.maxHitP99, err = p.String("max-hit-p99"); err != nil {
		return c, err
	}
	c.target, err = p.String("target")
	return c, err
}

func run(p rigor.Params) error {
	c, err := parse(p)
	if err != nil {
		return err
	}
	redis, err := rigor.OpenRedis(c.target)
	if err != nil {
		return err
	}
	defer redis.Close()
	miss, fill, hit := rigor.NewLatency("get.miss"), rigor.NewLatency("set.fill"), rigor.NewLatency("get.hit")
	defer miss.Close()
	defer fill.Close()
	defer hit.Close()
	key := func(i int) string { return fmt.Sprintf("%s%d", c.prefix, i) }

	cleared, err := redis.ClearPrefix(c.prefix)
	if err != nil {
		return err
	}
	rigor.Logf(rigor.LevelInfo, "cleared %d stale keys under `%s`", cleared, c.prefix)

	// Cold path: nothing is cached, every GET misses.
	unexpected := 0
	for i := 0; i < c.ops; i++ {
		got, err := redis.Get(key(i), miss)
		if err != nil {
			return err
		}
		if got.Found {
			unexpected++
		}
	}
	rigor.Check("cold path misses", unexpected == 0,
		fmt.Sprintf("%d of %d GETs found a value after the prefix was cleared", unexpected, c.ops))

	// Warm path: populate, then every GET hits.
	for i := 0; i < c.ops; i++ {
		if _, err := redis.Set(key(i), c.value, fill); err != nil {
			return err
		}
	}
	wrong := 0
	for i := 0; i < c.ops; i++ {
		got, err := redis.Get(key(i), hit)
		if err != nil {
			return err
		}
		if !got.Found || !bytes.Equal(got.Value, c.value) {
			wrong++
		}
	}
	rigor.Check("warm path hits", wrong == 0,
		fmt.Sprintf("%d of %d GETs missed or returned a different value", wrong, c.ops))

	m, h := miss.Summary(), hit.Summary()
	rigor.Gauge("hit-minus-miss.mean", h.Mean-m.Mean, rigor.Nanoseconds)
	rigor.Gauge("hit-minus-miss.p99", float64(h.P99)-float64(m.P99), rigor.Nanoseconds)
	rigor.AddFinding(rigor.Finding{
		Severity: rigor.SeverityInfo,
		Title:    "Warm hit versus cold miss",
		Detail: fmt.Sprintf("miss: mean %.1f µs, p99 %.1f µs; hit (%d B): mean %.1f µs, p99 %.1f µs; difference of means %+.1f µs",
			m.Mean/1e3, float64(m.P99)/1e3, len(c.value), h.Mean/1e3, float64(h.P99)/1e3, (h.Mean-m.Mean)/1e3),
		Action: "A hit costs the transfer of the value; compare with the miss to size values.",
	})
	verdict, err := rigor.Threshold("get.hit", "p(99) < "+c.maxHitP99)
	if err != nil {
		return err
	}
	if !verdict.Passed {
		rigor.AddFinding(rigor.Finding{
			Severity: rigor.SeverityMedium,
			Title:    "Warm cache reads are slow",
			Detail:   fmt.Sprintf("p99 of a cache hit is %.0f µs (limit %s)", verdict.Observed/1e3, c.maxHitP99),
			Action:   "Check server load and value sizes; large values cost transfer time on every hit.",
		})
	}
	removed, err := redis.ClearPrefix(c.prefix)
	if err != nil {
		return err
	}
	rigor.Logf(rigor.LevelInfo, "removed %d keys under `%s`", removed, c.prefix)
	return nil
}
