// Package benchguest is the languages bench guest in Go: `calls` cheap host
// calls (clock.now), then `gets` GETs of one key, each timed by the host
// into the histogram `get`.
package benchguest

import "rigor"

func init() {
	rigor.Scenario(rigor.Info{
		Name:        "bench-lang-go",
		Description: "Guest-to-host call overhead",
		Params: []rigor.Param{
			{Name: "calls", Default: "0", Help: "clock.now calls"},
			{Name: "gets", Default: "0", Help: "timed Redis GETs of `key:0`"},
		},
	}, run)
}

func run(p rigor.Params) error {
	calls, err := p.Uint("calls")
	if err != nil {
		return err
	}
	for i := uint64(0); i < calls; i++ {
		rigor.Now()
	}
	// The call-overhead runs give only `calls`.
	if _, ok := p.Lookup("gets"); !ok {
		return nil
	}
	gets, err := p.Uint("gets")
	if err != nil {
		return err
	}
	r, err := rigor.OpenRedis("default")
	if err != nil {
		return err
	}
	defer r.Close()
	h := rigor.NewLatency("get")
	defer h.Close()
	for i := uint64(0); i < gets; i++ {
		if _, err := r.Get("key:0", h); err != nil {
			return err
		}
	}
	return nil
}
