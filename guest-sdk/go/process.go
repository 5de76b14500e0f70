package rigor

import (
	"fmt"
	"strings"
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_process"
)

// Command is what to run. No shell is involved: Program is executed with
// Args. The text `{work}` in Program, Args, Env values and Dir is replaced
// by the scenario's work directory.
type Command struct {
	// A program the catalog grants (`exec = [...]`), spelled as the grant
	// spells it; anything else is ErrDenied.
	Program string
	Args    []string
	// Environment variables as `KEY=value`, like os/exec. The environment
	// is empty except for these unless InheritEnv is set.
	Env []string
	// Start from the host's environment (needs `inherit-env = true` in the
	// scenario's grants), then apply Env.
	InheritEnv bool
	// Working directory relative to the work directory; empty: the work
	// directory.
	Dir string
}

func (c Command) wit() rigor_scenario_process.Command {
	cmd := rigor_scenario_process.Command{Program: c.Program, Args: c.Args, InheritEnv: c.InheritEnv, Cwd: optString(c.Dir)}
	if cmd.Args == nil {
		cmd.Args = []string{}
	}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		cmd.Env = append(cmd.Env, witTypes.Tuple2[string, string]{F0: k, F1: v})
	}
	return cmd
}

// Stream is one of a child's output streams.
type Stream uint8

// Output streams.
const (
	Stdout Stream = Stream(rigor_scenario_process.OutputStream_Stdout)
	Stderr Stream = Stream(rigor_scenario_process.OutputStream_Stderr)
)

// ExitStatus is how a process ended: with a code, or killed by a signal.
type ExitStatus struct {
	// Signaled: killed by Signal (15 = SIGTERM, 9 = SIGKILL); else exited
	// with Code.
	Signaled bool
	Code     int32
	Signal   int32
}

func (s ExitStatus) String() string {
	if s.Signaled {
		return fmt.Sprintf("killed by signal %d", s.Signal)
	}
	return fmt.Sprintf("exit code %d", s.Code)
}

func exitStatus(s rigor_scenario_process.ExitStatus) ExitStatus {
	if s.Tag() == rigor_scenario_process.ExitStatus_Signal {
		return ExitStatus{Signaled: true, Signal: s.Signal()}
	}
	return ExitStatus{Code: s.Code()}
}

// Exit is a child that has ended, with what it printed last.
type Exit struct {
	Status ExitStatus
	// Time from spawn to exit.
	After time.Duration
	// The last bytes of standard output and error (lossy UTF-8, bounded).
	StdoutTail, StderrTail string
}

func exitFrom(e rigor_scenario_process.ChildExit) Exit {
	return Exit{exitStatus(e.Status), time.Duration(e.AfterNs), e.StdoutTail, e.StderrTail}
}

// Ready is a child that became ready.
type Ready struct {
	// From spawn to ready: the start-up time.
	After time.Duration
	// How long this wait lasted.
	Waited time.Duration
	// For WaitLine, the matching line.
	Line string
}

// NotReadyError is a readiness wait that did not succeed: the child
// exited (Exited), the wait timed out with the child still running
// (errors.Is(err, ErrTimeout)), or the wait was refused (a *ProbeError,
// e.g. ErrDenied for an ungranted URL).
type NotReadyError struct {
	// The child's exit when it ended before it became ready.
	Exited *Exit
	// When the wait ran out of time: how long it lasted and why the last
	// attempt failed (`connection refused`, `status 503`).
	Waited      time.Duration
	LastAttempt string
	// What the child printed last (for timeouts).
	StdoutTail, StderrTail string
	// The refusal of the wait itself (or a *ProbeError of kind timeout).
	Err error
}

func (e *NotReadyError) Error() string {
	if e.Exited != nil {
		return fmt.Sprintf("the child ended before it was ready (%s after %v); stderr: %s", e.Exited.Status, e.Exited.After, e.Exited.StderrTail)
	}
	return e.Err.Error()
}

// Unwrap gives the *ProbeError of a timeout or a refusal.
func (e *NotReadyError) Unwrap() error { return e.Err }

func readyResult(r witTypes.Result[rigor_scenario_process.Ready, rigor_scenario_process.NotReady]) (Ready, error) {
	if r.IsOk() {
		ok := r.Ok()
		return Ready{time.Duration(ok.AfterNs), time.Duration(ok.WaitedNs), ok.Line.SomeOr("")}, nil
	}
	nr := r.Err()
	switch nr.Tag() {
	case rigor_scenario_process.NotReady_Exited:
		exit := exitFrom(nr.Exited())
		return Ready{}, &NotReadyError{Exited: &exit}
	case rigor_scenario_process.NotReady_Timeout:
		t := nr.Timeout()
		return Ready{}, &NotReadyError{
			Waited: time.Duration(t.WaitedNs), LastAttempt: t.LastAttempt,
			StdoutTail: t.StdoutTail, StderrTail: t.StderrTail,
			Err: &ProbeError{KindTimeout, fmt.Sprintf("not ready after %v: %s", time.Duration(t.WaitedNs), t.LastAttempt)},
		}
	default:
		return Ready{}, &NotReadyError{Err: probeError(nr.Failed())}
	}
}

// Child is a running (or ended) child process. It leads its own process
// group and is stopped (SIGTERM, then SIGKILL) and reaped when closed, and
// when the scenario ends.
type Child struct {
	c *rigor_scenario_process.Child
}

// Spawn starts cmd in its own process group, stdin closed, stdout and
// stderr captured into bounded tails. ErrDenied when the program (or an
// environment variable) is not granted, ErrIO when it cannot be executed.
func Spawn(cmd Command) (*Child, error) {
	c, err := result(rigor_scenario_process.Spawn(cmd.wit()))
	if err != nil {
		return nil, err
	}
	return &Child{c}, nil
}

// Pid is the process id (also its process group id).
func (c *Child) Pid() uint32 { return c.c.Pid() }

// Elapsed is the time since spawn (until exit, once it has ended).
func (c *Child) Elapsed() time.Duration { return time.Duration(c.c.ElapsedNs()) }

// Wait waits up to timeout for the child to end; ok is false while it
// still runs. Once ended, the exit is returned on every call.
func (c *Child) Wait(timeout time.Duration) (exit Exit, ok bool) {
	e := c.c.Wait(uint64(timeout))
	if e.IsNone() {
		return Exit{}, false
	}
	return exitFrom(e.Some()), true
}

// Kill stops the child: SIGTERM to its process group, SIGKILL after grace
// (0: 2 s), then reaps it. A child that had already ended returns that
// exit.
func (c *Child) Kill(grace time.Duration) Exit { return exitFrom(c.c.Kill(uint64(grace))) }

// Tail is the last bytes written to a stream (at most 64 KiB are kept).
func (c *Child) Tail(s Stream) string { return c.c.Tail(uint8(s)) }

// OutputBytes is the total bytes the child wrote to a stream, kept or not.
func (c *Child) OutputBytes(s Stream) uint64 { return c.c.OutputBytes(uint8(s)) }

// WaitPort waits until 127.0.0.1:port accepts a TCP connection.
func (c *Child) WaitPort(port uint16, timeout time.Duration) (Ready, error) {
	return readyResult(c.c.WaitPort(port, uint64(timeout)))
}

// WaitHTTP waits until `GET url` answers with status. The URL's host must
// be granted (`http = ["127.0.0.1"]`).
func (c *Child) WaitHTTP(url string, status uint16, timeout time.Duration) (Ready, error) {
	return readyResult(c.c.WaitHttp(url, status, uint64(timeout)))
}

// WaitLine waits until a line of stream matches the regular expression
// pattern (Rust regex syntax); lines already in the tail count too.
func (c *Child) WaitLine(s Stream, pattern string, timeout time.Duration) (Ready, error) {
	return readyResult(c.c.WaitLine(uint8(s), pattern, uint64(timeout)))
}

// Close stops the child if it still runs and releases the handle.
func (c *Child) Close() error {
	if c != nil && c.c != nil {
		c.c.Drop()
		c.c = nil
	}
	return nil
}

// StartupStats are start-up timings over the measured runs.
type StartupStats struct {
	// Measured runs (warm-up runs excluded).
	Runs                uint32
	Mean, Stdev, Median time.Duration
	Min, Max            time.Duration
	// Mean user and system CPU time per run (from wait4).
	User, System time.Duration
	// Runs that did not exit with code 0 (they are still measured).
	FailedRuns uint32
	// How the last failing run ended.
	LastFailure *ExitStatus
}

// TimeStartup runs cmd warmup times untimed, then runs times timed, one
// after the other without a shell (hyperfine -N): each run is the wall
// time from spawn to exit, recorded into `into` when not nil. runs must be
// 1..=10000 and warmup at most 1000.
func TimeStartup(cmd Command, warmup, runs uint32, into *Histogram) (StartupStats, error) {
	s, err := result(rigor_scenario_process.TimeStartup(cmd.wit(), warmup, runs, into.into()))
	if err != nil {
		return StartupStats{}, err
	}
	out := StartupStats{
		Runs: s.Runs, Mean: time.Duration(s.MeanNs), Stdev: time.Duration(s.StdevNs),
		Median: time.Duration(s.MedianNs), Min: time.Duration(s.MinNs), Max: time.Duration(s.MaxNs),
		User: time.Duration(s.UserNs), System: time.Duration(s.SystemNs), FailedRuns: s.FailedRuns,
	}
	if s.LastFailure.IsSome() {
		st := exitStatus(s.LastFailure.Some())
		out.LastFailure = &st
	}
	return out, nil
}

// WorkDir is the scenario's work directory: its scratch directory, the
// default working directory of children and what `{work}` stands for.
func WorkDir() (string, error) { return result(rigor_scenario_process.WorkDir()) }

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (uint16, error) { return result(rigor_scenario_process.FreePort()) }
