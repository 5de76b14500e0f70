package rigor

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_types"

	"rigor/internal/registry"
)

// VuContext tells one iteration of a virtual user who and where it is.
type VuContext struct {
	// The VU's number, from 1 (k6's __VU).
	VU uint32
	// This VU's iteration number, from 0 (k6's __ITER).
	Iteration uint64
	// The iteration's number among all of the scenario's iterations, from 0.
	ScenarioIteration uint64
	// Derived from the run's seed and the VU number only: a VU's random
	// choices repeat when the run is repeated with the same seed.
	Seed uint64
}

// VuHandlers are the three parts of a virtual-user scenario. Iteration is
// required; Setup and Teardown may be nil.
type VuHandlers struct {
	// Setup runs once before any VU starts; the bytes it returns (at most
	// 1 MiB) are handed to every iteration and to Teardown. An error ends
	// the scenario as errored before any VU runs. Nil: no data.
	Setup func(Params) ([]byte, error)
	// Iteration is one iteration of one VU. An error (or a panic) counts
	// as a failed iteration; the other VUs go on. data must not be
	// modified: every iteration sees the same bytes.
	Iteration func(vu VuContext, data []byte) error
	// Teardown runs once after every VU has stopped.
	Teardown func(data []byte) error
}

// VuScenario registers the component's scenario as a virtual-user scenario
// (world `vu-scenario`): the behaviour of one user, run by many VUs under
// the executor the catalog configures. Call it once, from an init function.
func VuScenario(info Info, h VuHandlers) {
	claim(info.Name)
	if h.Iteration == nil {
		panic("rigor: VuScenario " + info.Name + " needs VuHandlers.Iteration")
	}
	registry.Describe = describeFunc(info)
	registry.Setup = func(list []witTypes.Tuple2[string, string]) witTypes.Result[[]uint8, string] {
		if h.Setup == nil {
			return witTypes.Ok[[]uint8, string](nil)
		}
		params := paramsFrom(list)
		var data []byte
		msg, failed := guard(func() (err error) {
			data, err = h.Setup(params)
			return err
		})
		if failed {
			return witTypes.Err[[]uint8, string](msg)
		}
		return witTypes.Ok[[]uint8, string](data)
	}
	registry.Iteration = func(vu rigor_scenario_types.VuContext, data []uint8) witTypes.Result[witTypes.Unit, string] {
		ctx := VuContext{VU: vu.Vu, Iteration: vu.Iteration, ScenarioIteration: vu.ScenarioIteration, Seed: vu.Seed}
		return unitResult(guard(func() error { return h.Iteration(ctx, data) }))
	}
	registry.Teardown = func(data []uint8) witTypes.Result[witTypes.Unit, string] {
		if h.Teardown == nil {
			return witTypes.Ok[witTypes.Unit, string](witTypes.Unit{})
		}
		return unitResult(guard(func() error { return h.Teardown(data) }))
	}
}
