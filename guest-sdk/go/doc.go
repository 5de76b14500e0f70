// Package rigor is the Go SDK for Rigor scenarios: WebAssembly components
// that the rigor host runs against the systems under test, with every
// probe (Redis, HTTP, WebSocket, processes, files, memory) timed natively
// by the host.
//
// A scenario is an ordinary Go package that registers itself from an init
// function:
//
//	package scenario
//
//	import "rigor"
//
//	func init() {
//		rigor.Scenario(rigor.Info{
//			Name:        "cache-check",
//			Description: "GET latency of a warm cache",
//			Params:      []rigor.Param{{Name: "ops", Default: "100", Help: "timed GETs"}},
//		}, run)
//	}
//
//	func run(p rigor.Params) error {
//		ops, err := p.Int("ops")
//		if err != nil {
//			return err
//		}
//		r, err := rigor.OpenRedis("default")
//		if err != nil {
//			return err
//		}
//		defer r.Close()
//		get := rigor.NewLatency("get")
//		defer get.Close()
//		for i := 0; i < ops; i++ {
//			if _, err := r.Get(fmt.Sprint("key:", i), get); err != nil {
//				return err
//			}
//		}
//		_, err = rigor.Threshold("get", "p(99) < 1ms")
//		return err
//	}
//
// `rigor build` compiles the package with mainline Go for GOOS=wasip1,
// together with bindings it generates from the contract, into a component.
//
// Errors are values: every probe call returns an error that is a
// *ProbeError when the host refused or the operation failed; match its
// kind with errors.Is(err, rigor.ErrDenied) and the other Err* values.
// Returning an error from the run function ends the scenario as errored;
// checks and thresholds decide pass or fail of a scenario that ran to the
// end. Durations are time.Duration. Resources (connections, histograms,
// children, directories, watchers) have a Close method, for defer.
package rigor
