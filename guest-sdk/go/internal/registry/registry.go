// Package registry holds the scenario the author registered, in the
// contract's own types, between package rigor (which registers it) and
// package world (which the build's glue calls).
package registry

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_types"
)

// Describe returns the registered scenario's description; nil until a
// scenario registers.
var Describe func() rigor_scenario_types.ScenarioInfo

// Run runs a `scenario` world scenario.
var Run func(params []witTypes.Tuple2[string, string]) witTypes.Result[witTypes.Unit, string]

// Setup, Iteration and Teardown run a `vu-scenario` world scenario.
var (
	Setup     func(params []witTypes.Tuple2[string, string]) witTypes.Result[[]uint8, string]
	Iteration func(vu rigor_scenario_types.VuContext, data []uint8) witTypes.Result[witTypes.Unit, string]
	Teardown  func(data []uint8) witTypes.Result[witTypes.Unit, string]
)

// Registered names what registered first, to refuse a second registration.
var Registered string
