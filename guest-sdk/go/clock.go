package rigor

import (
	"time"

	"wit_component/rigor_scenario_clock"
)

// Now is monotonic time since an origin fixed for the run, for pacing a
// scenario. Probe calls are timed by the host: use their latencies (or a
// histogram passed as `into`), not this clock, to measure an operation.
func Now() time.Duration {
	return time.Duration(rigor_scenario_clock.Now())
}

// Sleep suspends the scenario for d. The scenario's deadline still
// applies: a sleep past it ends the scenario as timed out.
func Sleep(d time.Duration) {
	if d > 0 {
		rigor_scenario_clock.Sleep(uint64(d))
	}
}
