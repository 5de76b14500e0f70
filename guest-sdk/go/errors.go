package rigor

import (
	"errors"
	"fmt"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_types"
)

// ErrorKind is the kind of a probe failure, as the contract names it.
type ErrorKind uint8

// The kinds of probe failures.
const (
	// KindDenied: the scenario was not granted the capability; the message
	// names the catalog line that grants it.
	KindDenied ErrorKind = iota
	// KindTimeout: the operation did not complete within its time limit.
	KindTimeout
	// KindConnection: the remote end could not be reached, or the
	// connection broke.
	KindConnection
	// KindIO: a local I/O failure (disk full, permission, missing file).
	KindIO
	// KindInvalid: the arguments were invalid.
	KindInvalid
	// KindServer: the server answered with an error (Redis WRONGTYPE).
	KindServer
)

// String is the kind's name in the contract (`denied`, `timeout`, ...).
func (k ErrorKind) String() string {
	switch k {
	case KindDenied:
		return "denied"
	case KindTimeout:
		return "timeout"
	case KindConnection:
		return "connection"
	case KindIO:
		return "io"
	case KindInvalid:
		return "invalid"
	case KindServer:
		return "server"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ProbeError is a probe call's failure: its kind and the host's message,
// which says what failed and what to do about it.
type ProbeError struct {
	Kind    ErrorKind
	Message string
}

// Error formats the failure as `kind: message`.
func (e *ProbeError) Error() string {
	return e.Kind.String() + ": " + e.Message
}

// Is makes errors.Is(err, rigor.ErrDenied) (and the other Err* values)
// match a *ProbeError of that kind.
func (e *ProbeError) Is(target error) bool {
	if k, ok := target.(kindError); ok {
		return e.Kind == ErrorKind(k)
	}
	return false
}

// kindError is the type of the Err* values: a kind to match against.
type kindError ErrorKind

func (k kindError) Error() string { return ErrorKind(k).String() }

// Values to match a probe failure's kind with errors.Is.
var (
	ErrDenied     error = kindError(KindDenied)
	ErrTimeout    error = kindError(KindTimeout)
	ErrConnection error = kindError(KindConnection)
	ErrIO         error = kindError(KindIO)
	ErrInvalid    error = kindError(KindInvalid)
	ErrServer     error = kindError(KindServer)
)

// KindOf returns the kind of a probe failure anywhere in err's chain, and
// false when err is not one.
func KindOf(err error) (ErrorKind, bool) {
	var p *ProbeError
	if errors.As(err, &p) {
		return p.Kind, true
	}
	return 0, false
}

func probeError(e rigor_scenario_types.ProbeError) error {
	switch e.Tag() {
	case rigor_scenario_types.ProbeError_Denied:
		return &ProbeError{KindDenied, e.Denied()}
	case rigor_scenario_types.ProbeError_Timeout:
		return &ProbeError{KindTimeout, e.Timeout()}
	case rigor_scenario_types.ProbeError_Connection:
		return &ProbeError{KindConnection, e.Connection()}
	case rigor_scenario_types.ProbeError_Io:
		return &ProbeError{KindIO, e.Io()}
	case rigor_scenario_types.ProbeError_Invalid:
		return &ProbeError{KindInvalid, e.Invalid()}
	default:
		return &ProbeError{KindServer, e.Server()}
	}
}

// result turns a contract result into Go's (value, error).
func result[T any](r witTypes.Result[T, rigor_scenario_types.ProbeError]) (T, error) {
	if r.IsErr() {
		var zero T
		return zero, probeError(r.Err())
	}
	return r.Ok(), nil
}

// ParamError is a parameter that is missing or does not parse.
type ParamError struct {
	Name  string
	Value string
	// Want says what was expected (`an integer`, `a size such as 1KiB`).
	Want string
}

func (e *ParamError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("parameter %q is not declared (add it to Info.Params and the catalog entry)", e.Name)
	}
	return fmt.Sprintf("parameter %q = %q: expected %s", e.Name, e.Value, e.Want)
}
