// Package scenario is http-check-go: an HTTP check in Go. It starts the
// service under test (scenarios/sut/service.py) on a free port with a
// production environment, waits until /health answers 200, times GETs of
// /health and /items into histograms, checks their statuses, holds their
// p99 to a threshold, and stops the service.
package scenario

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"rigor"
)

// The service, as the catalog grants it.
const program = "./sut/service.py"

func init() {
	rigor.Scenario(rigor.Info{
		Name:        "http-check-go",
		Description: "Start the service, time GET /health and GET /items, check their statuses and p99, stop it, in Go",
		Params: []rigor.Param{
			{Name: "requests", Default: "100", Help: "timed GETs per endpoint"},
			{Name: "ready-timeout", Default: "10s", Help: "how long the service may take to become ready"},
			{Name: "max-p99", Default: "100ms", Help: "p99 of either endpoint above which the scenario fails"},
		},
	}, run)
}

func run(p rigor.Params) error {
	requests, err := p.Int("requests")
	if err != nil {
		return err
	}
	readyTimeout, err := p.Duration("ready-timeout")
	if err != nil {
		return err
	}
	maxP99, err := p.String("max-p99")
	if err != nil {
		return err
	}

	port, err := rigor.FreePort()
	if err != nil {
		return err
	}
	service, err := rigor.Spawn(rigor.Command{
		Program: program,
		Env: []string{
			"PORT=" + strconv.Itoa(int(port)),
			"APP_ENV=production",
			"SECRET_KEY=rigor-http-check-go",
			"PYTHONUNBUFFERED=1",
		},
	})
	if err != nil {
		return err
	}
	defer service.Close()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	ready, err := service.WaitHTTP(base+"/health", 200, readyTimeout)
	if err != nil {
		rigor.Check("service becomes ready", false, err.Error())
		rigor.AddFinding(rigor.Finding{
			Severity: rigor.SeverityCritical,
			Title:    "The service does not become ready",
			Detail:   fmt.Sprintf("%v; stderr ends with:\n%s", err, service.Tail(rigor.Stderr)),
			Action:   "Start the service by hand with the same environment and read its error.",
		})
		return nil
	}
	rigor.Gauge("time-to-ready", float64(ready.After), rigor.Nanoseconds)
	rigor.Check("service becomes ready", true, fmt.Sprintf("/health answered 200 %v after spawn", ready.After))

	health := rigor.NewLatency("health")
	defer health.Close()
	items := rigor.NewLatency("items")
	defer items.Close()
	for _, endpoint := range []struct {
		path string
		into *rigor.Histogram
	}{{"/health", health}, {"/items", items}} {
		failures, lastProblem := 0, ""
		for i := 0; i < requests; i++ {
			r, err := rigor.Send(rigor.Request{URL: base + endpoint.path, Timeout: 5 * time.Second}, endpoint.into)
			switch {
			case err != nil:
				failures, lastProblem = failures+1, err.Error()
			case r.Status != 200:
				failures, lastProblem = failures+1, fmt.Sprintf("status %d", r.Status)
			case endpoint.path == "/items" && !json.Valid(r.Body):
				failures, lastProblem = failures+1, "the body is not JSON: "+string(r.Body)
			}
		}
		detail := fmt.Sprintf("%d of %d requests failed", failures, requests)
		if failures > 0 {
			detail += "; last: " + lastProblem
		}
		rigor.Check(fmt.Sprintf("GET %s answers 200", endpoint.path), failures == 0, detail)
		if _, err := rigor.Threshold(endpoint.into.Name(), "p(99) < "+maxP99); err != nil {
			return err
		}
	}

	exit := service.Kill(3 * time.Second)
	rigor.Check("service stops on SIGTERM", exit.Status.Signaled && exit.Status.Signal == 15 || !exit.Status.Signaled && exit.Status.Code == 0,
		fmt.Sprintf("%s after %v", exit.Status, exit.After))
	return nil
}
