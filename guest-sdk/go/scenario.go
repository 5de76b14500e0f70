package rigor

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_types"

	"rigor/internal/registry"
)

// Info is what a scenario says about itself (`rigor inspect`, `rigor list`).
type Info struct {
	// Short kebab-case name; also the prefix of its metrics in reports.
	Name string
	// One sentence: what the scenario checks.
	Description string
	// The parameters it reads.
	Params []Param
}

// Param is one parameter a scenario understands.
type Param struct {
	// Kebab-case name (`value-size`).
	Name string
	// Default value as text (`1000`, `100B`, `5s`).
	Default string
	// One line of help.
	Help string
}

// Params are the run's parameters, type-checked by the host against the
// catalog and completed with defaults. The accessors parse the text; a
// parameter that is missing or does not parse is a *ParamError.
type Params struct {
	values map[string]string
	order  []string
}

// NewParams builds Params from name/value pairs (for tests of helpers).
func NewParams(pairs ...[2]string) Params {
	p := Params{values: map[string]string{}}
	for _, kv := range pairs {
		if _, seen := p.values[kv[0]]; !seen {
			p.order = append(p.order, kv[0])
		}
		p.values[kv[0]] = kv[1]
	}
	return p
}

func paramsFrom(list []witTypes.Tuple2[string, string]) Params {
	pairs := make([][2]string, len(list))
	for i, kv := range list {
		pairs[i] = [2]string{kv.F0, kv.F1}
	}
	return NewParams(pairs...)
}

// Lookup returns the raw text of a parameter and whether it is set.
func (p Params) Lookup(name string) (string, bool) {
	v, ok := p.values[name]
	return v, ok
}

// Names lists the parameters in the order the host gave them.
func (p Params) Names() []string { return append([]string(nil), p.order...) }

// String returns a parameter's text.
func (p Params) String(name string) (string, error) {
	v, ok := p.values[name]
	if !ok {
		return "", &ParamError{Name: name}
	}
	return v, nil
}

func (p Params) parse(name, want string, parse func(string) (any, bool)) (any, error) {
	v, err := p.String(name)
	if err != nil {
		return nil, err
	}
	out, ok := parse(strings.TrimSpace(v))
	if !ok {
		return nil, &ParamError{Name: name, Value: v, Want: want}
	}
	return out, nil
}

// Int returns an integer parameter (`1000`, `1_000`).
func (p Params) Int(name string) (int, error) {
	v, err := p.parse(name, "an integer", func(s string) (any, bool) {
		n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		return n, err == nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}

// Uint returns a non-negative integer parameter.
func (p Params) Uint(name string) (uint64, error) {
	v, err := p.parse(name, "a non-negative integer", func(s string) (any, bool) {
		n, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
		return n, err == nil
	})
	if err != nil {
		return 0, err
	}
	return v.(uint64), nil
}

// Float returns a number parameter.
func (p Params) Float(name string) (float64, error) {
	v, err := p.parse(name, "a number", func(s string) (any, bool) {
		n, err := strconv.ParseFloat(s, 64)
		return n, err == nil
	})
	if err != nil {
		return 0, err
	}
	return v.(float64), nil
}

// Bool returns a boolean parameter (`true`/`false`, `yes`/`no`, `1`/`0`).
func (p Params) Bool(name string) (bool, error) {
	v, err := p.parse(name, "true or false", func(s string) (any, bool) {
		switch strings.ToLower(s) {
		case "true", "yes", "1":
			return true, true
		case "false", "no", "0":
			return false, true
		}
		return false, false
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute,
	"min": time.Minute, "h": time.Hour,
}

var sizeUnits = map[string]float64{
	"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

func splitNumber(s string) (float64, string, bool) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	return n, strings.TrimSpace(s[i:]), err == nil
}

// Duration returns a duration parameter (`5s`, `250ms`, `1m 30s`).
func (p Params) Duration(name string) (time.Duration, error) {
	v, err := p.parse(name, "a duration such as 250ms or 1m 30s", func(s string) (any, bool) {
		var total time.Duration
		parts := strings.Fields(s)
		for _, part := range parts {
			n, unit, ok := splitNumber(part)
			scale, known := durationUnits[unit]
			if !ok || !known {
				return nil, false
			}
			total += time.Duration(n * float64(scale))
		}
		return total, len(parts) > 0
	})
	if err != nil {
		return 0, err
	}
	return v.(time.Duration), nil
}

// Size returns a size parameter in bytes (`100B`, `10KiB`, `1MB`).
func (p Params) Size(name string) (uint64, error) {
	v, err := p.parse(name, "a size such as 100B or 10KiB", func(s string) (any, bool) {
		n, unit, ok := splitNumber(s)
		scale, known := sizeUnits[unit]
		return uint64(n * scale), ok && known
	})
	if err != nil {
		return 0, err
	}
	return v.(uint64), nil
}

func claim(name string) {
	if registry.Registered != "" {
		panic(fmt.Sprintf("rigor: scenario %q registered, then %q: a component holds one scenario", registry.Registered, name))
	}
	registry.Registered = name
}

func describeFunc(info Info) func() rigor_scenario_types.ScenarioInfo {
	return func() rigor_scenario_types.ScenarioInfo {
		params := make([]rigor_scenario_types.ParamInfo, len(info.Params))
		for i, p := range info.Params {
			params[i] = rigor_scenario_types.ParamInfo{Name: p.Name, DefaultValue: p.Default, Description: p.Help}
		}
		return rigor_scenario_types.ScenarioInfo{Name: info.Name, Description: info.Description, Params: params}
	}
}

// guard runs f, turning an error or a panic into the contract's `err`
// text, so a failing scenario reports why instead of trapping.
func guard(f func() error) (msg string, failed bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, failed = fmt.Sprintf("panic: %v\n%s", r, debug.Stack()), true
		}
	}()
	if err := f(); err != nil {
		return err.Error(), true
	}
	return "", false
}

func unitResult(msg string, failed bool) witTypes.Result[witTypes.Unit, string] {
	if failed {
		return witTypes.Err[witTypes.Unit, string](msg)
	}
	return witTypes.Ok[witTypes.Unit, string](witTypes.Unit{})
}

// Scenario registers the component's scenario (world `scenario`). Call it
// once, from an init function. run gets the parameters; returning nil
// means the scenario ran to the end (its checks and thresholds decide pass
// or fail), an error ends it as errored with that message. A panic is
// reported like an error, with its stack.
func Scenario(info Info, run func(Params) error) {
	claim(info.Name)
	registry.Describe = describeFunc(info)
	registry.Run = func(list []witTypes.Tuple2[string, string]) witTypes.Result[witTypes.Unit, string] {
		params := paramsFrom(list)
		return unitResult(guard(func() error { return run(params) }))
	}
}
