package rigor

import (
	"fmt"

	"wit_component/rigor_scenario_report"
)

// Check records a pass/fail check; detail explains the outcome. The
// scenario passes when every check and threshold passed.
func Check(name string, passed bool, detail string) {
	rigor_scenario_report.Check(name, passed, detail)
}

// CheckErr records a check that passes when err is nil; a failure's detail
// is the error.
func CheckErr(name string, err error) {
	if err != nil {
		Check(name, false, err.Error())
	} else {
		Check(name, true, "")
	}
}

// Verdict is a threshold's outcome, as recorded in the report.
type Verdict struct {
	// The metric, as given.
	Metric string
	// The expression in canonical form (`p(99) < 1ms`).
	Expression string
	// The observed value and the limit, in the metric's unit.
	Observed, Limit float64
	Passed          bool
}

// Threshold evaluates a k6-style expression (`p(99) < 1ms`, `avg < 200us`,
// `rate < 0.01`, `value > 5000ops/s`) against a metric of this scenario,
// now, in the host (same semantics in every language). The verdict is
// recorded in the report; an unknown metric or a malformed expression is
// ErrInvalid.
func Threshold(metric, expression string) (Verdict, error) {
	v, err := result(rigor_scenario_report.Threshold(metric, expression))
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{v.Metric, v.Expression, v.Observed, v.Limit, v.Passed}, nil
}

// Severity is how bad a finding is: Critical and High block a release;
// Info is an observation.
type Severity uint8

// Severities of findings.
const (
	SeverityInfo     Severity = Severity(rigor_scenario_report.Severity_Info)
	SeverityLow      Severity = Severity(rigor_scenario_report.Severity_Low)
	SeverityMedium   Severity = Severity(rigor_scenario_report.Severity_Medium)
	SeverityHigh     Severity = Severity(rigor_scenario_report.Severity_High)
	SeverityCritical Severity = Severity(rigor_scenario_report.Severity_Critical)
)

// Finding is something a reviewer should read: a bug, a risk, or an
// observation.
type Finding struct {
	Severity Severity
	// One line.
	Title string
	// What was observed, with figures.
	Detail string
	// What to do about it.
	Action string
}

// AddFinding records a finding in the report.
func AddFinding(f Finding) {
	rigor_scenario_report.AddFinding(rigor_scenario_report.Finding{
		Severity: uint8(f.Severity), Title: f.Title, Detail: f.Detail, Action: f.Action,
	})
}

// Level is a log level.
type Level uint8

// Log levels.
const (
	LevelDebug Level = Level(rigor_scenario_report.Level_Debug)
	LevelInfo  Level = Level(rigor_scenario_report.Level_Info)
	LevelWarn  Level = Level(rigor_scenario_report.Level_Warn)
	LevelError Level = Level(rigor_scenario_report.Level_Error)
)

// Log appends a line to the scenario's log in the report (bounded; the
// excess is counted, not kept).
func Log(level Level, message string) {
	rigor_scenario_report.Log(uint8(level), message)
}

// Logf logs a formatted line.
func Logf(level Level, format string, args ...any) {
	Log(level, fmt.Sprintf(format, args...))
}
