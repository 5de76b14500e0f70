// Package conformancevu is the conformance VU scenario
// (tests/conformance/SPEC.md) through the Go SDK: setup data, the VU
// context, pooled Redis, teardown.
package conformancevu

import (
	"fmt"

	"rigor"
)

func init() {
	rigor.VuScenario(rigor.Info{
		Name:        "conformance-vu",
		Description: "The VU world through the SDK",
	}, rigor.VuHandlers{Setup: setup, Iteration: iteration, Teardown: teardown})
}

func setup(rigor.Params) ([]byte, error) {
	r, err := rigor.OpenRedis("default")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := r.Set("conf:vu", []byte("ready"), nil); err != nil {
		return nil, err
	}
	return []byte("conf-data"), nil
}

func iteration(vu rigor.VuContext, data []byte) error {
	rigor.Check("vu.data", string(data) == "conf-data", "")
	rigor.Check("vu.context", vu.VU >= 1 && vu.VU <= 2, fmt.Sprintf("vu %d", vu.VU))
	h := rigor.NewLatency("conf.vu.get")
	defer h.Close()
	r, err := rigor.OpenRedisPooled("default")
	if err != nil {
		return err
	}
	defer r.Close()
	got, err := r.Get("conf:vu", h)
	if err != nil {
		return err
	}
	rigor.Check("vu.redis", string(got.Value) == "ready", "")
	rigor.CounterAdd("conf.vu.iterations", 1)
	return nil
}

func teardown([]byte) error {
	r, err := rigor.OpenRedis("default")
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := r.Del([]string{"conf:vu"}, nil)
	if err != nil {
		return err
	}
	rigor.Check("vu.teardown", n == 1, fmt.Sprintf("deleted %d", n))
	return nil
}
