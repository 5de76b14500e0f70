// Package world is the bridge between the component's exports and the
// scenario registered with package rigor. `rigor build` generates a small
// package that calls these functions; scenario authors never use it.
package world

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_types"

	"rigor/internal/registry"
)

const unregistered = "no scenario registered: call rigor.Scenario or rigor.VuScenario from an init function of your package"

// Describe is the world's `describe` export.
func Describe() rigor_scenario_types.ScenarioInfo {
	if registry.Describe == nil {
		return rigor_scenario_types.ScenarioInfo{Name: "unregistered", Description: unregistered}
	}
	return registry.Describe()
}

// Run is the `scenario` world's `run` export.
func Run(params []witTypes.Tuple2[string, string]) witTypes.Result[witTypes.Unit, string] {
	if registry.Run == nil {
		return witTypes.Err[witTypes.Unit, string](unregistered + " (rigor.Scenario for this world)")
	}
	return registry.Run(params)
}

// Setup is the `vu-scenario` world's `setup` export.
func Setup(params []witTypes.Tuple2[string, string]) witTypes.Result[[]uint8, string] {
	if registry.Setup == nil {
		return witTypes.Err[[]uint8, string](unregistered + " (rigor.VuScenario for this world)")
	}
	return registry.Setup(params)
}

// Iteration is the `vu-scenario` world's `iteration` export.
func Iteration(vu rigor_scenario_types.VuContext, data []uint8) witTypes.Result[witTypes.Unit, string] {
	if registry.Iteration == nil {
		return witTypes.Err[witTypes.Unit, string](unregistered)
	}
	return registry.Iteration(vu, data)
}

// Teardown is the `vu-scenario` world's `teardown` export.
func Teardown(data []uint8) witTypes.Result[witTypes.Unit, string] {
	if registry.Teardown == nil {
		return witTypes.Err[witTypes.Unit, string](unregistered)
	}
	return registry.Teardown(data)
}
