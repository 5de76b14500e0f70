// Package scenario is {{name}}: SET then GET `ops` keys against Redis,
// each round trip timed by the host into the `set` and `get` histograms;
// it checks that every GET returns what SET wrote and that GET stays fast.
package scenario

import (
	"fmt"

	"rigor"
)

func init() {
	rigor.Scenario(rigor.Info{
		Name:        "{{name}}",
		Description: "SET then GET round trips against the default Redis target",
		Params: []rigor.Param{
			{Name: "ops", Default: "100", Help: "timed SETs and GETs"},
			{Name: "key-prefix", Default: "rigor:{{name}}:", Help: "prefix of every key written (removed at the end)"},
		},
	}, run)
}

func run(p rigor.Params) error {
	ops, err := p.Int("ops")
	if err != nil {
		return err
	}
	prefix, err := p.String("key-prefix")
	if err != nil {
		return err
	}
	redis, err := rigor.OpenRedis("default")
	if err != nil {
		return err
	}
	defer redis.Close()
	setLatency := rigor.NewLatency("set")
	defer setLatency.Close()
	getLatency := rigor.NewLatency("get")
	defer getLatency.Close()

	for i := 0; i < ops; i++ {
		value := fmt.Sprintf("value-%d", i)
		if _, err := redis.Set(fmt.Sprintf("%s%d", prefix, i), []byte(value), setLatency); err != nil {
			return err
		}
	}
	wrong := 0
	for i := 0; i < ops; i++ {
		got, err := redis.Get(fmt.Sprintf("%s%d", prefix, i), getLatency)
		if err != nil {
			return err
		}
		if string(got.Value) != fmt.Sprintf("value-%d", i) {
			wrong++
		}
	}
	rigor.Check("get returns what set wrote", wrong == 0, fmt.Sprintf("%d of %d GETs differed", wrong, ops))
	if _, err := rigor.Threshold("get", "p(99) < 100ms"); err != nil {
		return err
	}
	removed, err := redis.ClearPrefix(prefix)
	if err != nil {
		return err
	}
	rigor.Logf(rigor.LevelInfo, "removed %d keys under %s", removed, prefix)
	return nil
}
