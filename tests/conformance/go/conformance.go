// Package conformance is the conformance scenario (tests/conformance/SPEC.md)
// through the Go SDK: every probe of the contract, its success and its
// error paths.
package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"rigor"
)

const (
	sut  = "../../scenarios/sut/service.py"
	wait = 5 * time.Second
)

func init() {
	rigor.Scenario(rigor.Info{
		Name:        "conformance",
		Description: "Every probe of the contract through the SDK, success and error paths",
		Params:      []rigor.Param{{Name: "ops", Default: "20", Help: "operations per loop"}},
	}, run)
}

// expect records name as passed iff err is nil and ok; a failed call is a
// failed check with the error as its detail, and the run goes on.
func expect(name string, ok bool, err error) {
	if err != nil {
		rigor.Check(name, false, err.Error())
		return
	}
	rigor.Check(name, ok, "")
}

// expectError passes iff err is a probe failure of the given kind.
func expectError(name string, kind error, err error) {
	switch {
	case err == nil:
		rigor.Check(name, false, "the call succeeded")
	default:
		rigor.Check(name, errors.Is(err, kind), err.Error())
	}
}

func run(p rigor.Params) error {
	ops, err := p.Int("ops")
	if err != nil {
		return err
	}
	rigor.Check("params.ops", ops == 20, fmt.Sprintf("ops = %d", ops))
	clockAndMetrics()
	reportCalls()
	redis(uint64(ops))
	service, base := process()
	if service != nil {
		http(base, uint64(ops))
		websocket(base, uint64(ops))
	}
	files(uint64(ops))
	memory(service)
	if service != nil {
		exit := service.Kill(2 * time.Second)
		rigor.Check("process.kill", true, exit.Status.String())
	}
	rigor.AddFinding(rigor.Finding{Severity: rigor.SeverityInfo, Title: "conformance complete"})
	return nil
}

func clockAndMetrics() {
	t0 := rigor.Now()
	rigor.Sleep(2 * time.Millisecond)
	t1 := rigor.Now()
	rigor.Check("clock.sleep", t1-t0 >= 2*time.Millisecond, (t1 - t0).String())

	values := rigor.NewHistogram("conf.values", rigor.Count)
	defer values.Close()
	for v := uint64(1); v <= 50; v++ {
		values.Record(v)
	}
	var rest []uint64
	for v := uint64(51); v <= 100; v++ {
		rest = append(rest, v)
	}
	values.RecordMany(rest)
	s := values.Summary()
	rigor.Check("metrics.histogram", s.Count == 100 && s.Min == 1 && s.Max == 100 && values.Name() == "conf.values",
		fmt.Sprintf("%+v", s))
	rigor.Gauge("conf.gauge", 42.5, rigor.NoUnit)
	rigor.CounterAdd("conf.counter", 3)
	rigor.CounterAdd("conf.counter", 4)
}

func reportCalls() {
	rigor.Log(rigor.LevelInfo, "conformance: started")
	v, err := rigor.Threshold("conf.values", "max<=100")
	expect("report.threshold", v.Passed && v.Observed == 100, err)
	_, err = rigor.Threshold("conf.values", "p(99)<<1")
	expectError("report.threshold-invalid", rigor.ErrInvalid, err)
	rigor.AddFinding(rigor.Finding{
		Severity: rigor.SeverityLow, Title: "conformance finding", Detail: "recorded by the SDK", Action: "none",
	})
}

func redis(ops uint64) {
	r, err := rigor.OpenRedis("default")
	if err != nil {
		rigor.Check("redis.open", false, err.Error())
		return
	}
	defer r.Close()
	_, _ = r.ClearPrefix("conf:")
	h := rigor.NewLatency("conf.redis")
	defer h.Close()
	_, _ = r.Set("conf:key", []byte("value"), h)
	got, err := r.Get("conf:key", h)
	expect("redis.get", got.Found && string(got.Value) == "value", err)
	got, err = r.Get("conf:missing", nil)
	expect("redis.get-missing", !got.Found, err)
	n, err := r.Del([]string{"conf:key"}, nil)
	expect("redis.del", n == 1, err)
	reply, err := r.Do("INCRBY", "conf:n", "5")
	expect("redis.command", reply.Kind == rigor.ReplyInteger && reply.Integer == 5, err)
	_, err = r.Do("FLUSHALL")
	expectError("redis.denied", rigor.ErrDenied, err)
	_, err = rigor.OpenRedis("nowhere")
	expectError("redis.target-denied", rigor.ErrDenied, err)

	load, err := rigor.RunRedisLoad(rigor.RedisLoad{
		Target:       "default",
		Workers:      2,
		OpsPerWorker: ops,
		Mix:          []rigor.WeightedOp{{Op: rigor.OpSet(), Weight: 1}, {Op: rigor.OpGet(), Weight: 1}},
		ValueSize:    16,
		KeyPrefix:    "conf:load:",
		KeyCount:     50,
		MetricPrefix: "conf.load",
	})
	expect("redis.run-load", load.OK == 2*ops && load.Errors == 0, err)

	pooled, err := rigor.OpenRedisPooled("default")
	if err == nil {
		defer pooled.Close()
		got, err = pooled.Get("conf:n", nil)
	}
	expect("redis.pooled", string(got.Value) == "5", err)
	n, err = r.ClearPrefix("conf:")
	expect("redis.clear-prefix", n >= 1, err)
}

// process starts the service under test; it returns the child (nil when
// it did not start) and its base URL.
func process() (*rigor.Child, string) {
	_, err := rigor.WorkDir()
	expect("process.work-dir", true, err)
	port, err := rigor.FreePort()
	if err != nil {
		rigor.Check("process.free-port", false, err.Error())
		return nil, ""
	}
	rigor.Check("process.free-port", port > 0, strconv.Itoa(int(port)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	child, err := rigor.Spawn(rigor.Command{
		Program: sut,
		Env:     []string{"PORT=" + strconv.Itoa(int(port)), "APP_ENV=production", "SECRET_KEY=conformance", "PYTHONUNBUFFERED=1"},
	})
	if err != nil {
		rigor.Check("process.wait-http", false, err.Error())
		rigor.Check("process.wait-line", false, err.Error())
	} else {
		_, err = child.WaitHTTP(base+"/health", 200, 10*time.Second)
		expect("process.wait-http", true, err)
		_, err = child.WaitLine(rigor.Stdout, "listening on", wait)
		expect("process.wait-line", true, err)
	}
	startup := rigor.NewLatency("conf.startup")
	defer startup.Close()
	t, err := rigor.TimeStartup(rigor.Command{Program: "/bin/true"}, 1, 5, startup)
	expect("process.time-startup", t.Runs == 5 && t.FailedRuns == 0, err)
	_, err = rigor.Spawn(rigor.Command{Program: "/bin/cat"})
	expectError("process.denied", rigor.ErrDenied, err)
	_, err = rigor.Spawn(rigor.Command{Program: "/bin/true", Env: []string{"LD_PRELOAD=x.so"}})
	expectError("process.env-denied", rigor.ErrDenied, err)
	return child, base
}

func http(base string, ops uint64) {
	h := rigor.NewLatency("conf.http")
	defer h.Close()
	r, err := rigor.Send(rigor.Request{URL: base + "/health", Timeout: wait}, h)
	expect("http.send", r.Status == 200, err)
	r, err = rigor.Send(rigor.Request{URL: base + "/missing", Timeout: wait}, nil)
	expect("http.status", r.Status == 404, err)
	_, err = rigor.Send(rigor.Request{URL: "http://192.0.2.1/", Timeout: time.Second}, nil)
	expectError("http.denied", rigor.ErrDenied, err)
	l, err := rigor.RunHTTPLoad(rigor.HTTPLoad{
		Request:     rigor.Request{URL: base + "/health", Timeout: wait},
		Workers:     2,
		Connections: 2,
		Threads:     1,
		Requests:    ops,
		Metric:      "conf.http.load",
	})
	expect("http.run-load", l.OK == ops && l.Failed == 0, err)
}

func websocket(base string, ops uint64) {
	url := strings.Replace(base, "http://", "ws://", 1) + "/ws/echo"
	ws, err := rigor.ConnectWebSocket(url, rigor.WebSocketOptions{Timeout: wait})
	if err != nil {
		for _, name := range []string{"websocket.echo", "websocket.binary", "websocket.ping", "websocket.close"} {
			rigor.Check(name, false, err.Error())
		}
	} else {
		defer ws.Close()
		_ = ws.SendText("conformance")
		m, err := ws.Receive(wait)
		expect("websocket.echo", m.Kind == rigor.MessageText && m.Text == "conformance", err)
		_ = ws.SendBinary([]byte{1, 2, 3})
		m, err = ws.Receive(wait)
		expect("websocket.binary", m.Kind == rigor.MessageBinary && bytes.Equal(m.Data, []byte{1, 2, 3}), err)
		ping := rigor.NewLatency("conf.ws.ping")
		defer ping.Close()
		_, err = ws.Ping(ping, wait)
		expect("websocket.ping", true, err)
		code, err := ws.Shutdown(1000, "done", wait)
		expect("websocket.close", code == 1000, err)
	}
	_, err = rigor.ConnectWebSocket("ws://192.0.2.1/", rigor.WebSocketOptions{Timeout: time.Second})
	expectError("websocket.denied", rigor.ErrDenied, err)
	l, err := rigor.RunWebSocketLoad(rigor.WebSocketLoad{
		URL:             url,
		Connections:     2,
		Messages:        ops,
		Template:        []byte(`{"id":"{id}"}`),
		IDPlaceholder:   "{id}",
		IDLocation:      rigor.IDInJSONField("id"),
		Grace:           2 * time.Second,
		MaxMessageBytes: 65536,
		Metric:          "conf.ws.load",
	})
	expect("websocket.run-load", l.Matched == l.Sent && l.Sent > 0 && l.Lost == 0, err)
}

func files(ops uint64) {
	d, err := rigor.Scratch()
	if err != nil {
		rigor.Check("fs.scratch", false, err.Error())
		return
	}
	defer d.Close()
	h := rigor.NewLatency("conf.fs")
	defer h.Close()
	_, _ = d.Write("a.txt", rigor.Data([]byte("hello")), rigor.WriteOptions{Into: h})
	read, err := d.Read("a.txt", h)
	expect("fs.read", string(read.Data) == "hello", err)
	_, _ = d.Append("a.txt", rigor.Data([]byte("!")), rigor.WriteOptions{})
	read, err = d.Read("a.txt", nil)
	expect("fs.append", string(read.Data) == "hello!", err)
	_ = d.Mkdir("sub")
	_, _ = d.Write("sub/b.bin", rigor.Fill(4096), rigor.WriteOptions{})
	has := func(l rigor.Listing, name string, kind rigor.EntryKind) bool {
		for _, e := range l.Entries {
			if e.Name == name && e.Kind == kind {
				return true
			}
		}
		return false
	}
	l, err := d.List(".")
	expect("fs.list", has(l, "a.txt", rigor.EntryFile) && has(l, "sub", rigor.EntryDirectory), err)
	_, _ = d.Rename("a.txt", "c.txt", nil)
	_, _ = d.Delete("c.txt", nil)
	l, err = d.List(".")
	gone := true
	for _, e := range l.Entries {
		if e.Name == "a.txt" || e.Name == "c.txt" {
			gone = false
		}
	}
	expect("fs.rename-delete", gone, err)
	_, _ = d.Dump("rows.csv", rigor.Records{
		Columns: []string{"name", "value"},
		Rows:    [][]string{{"a", "1"}, {"b", "2"}},
	}, rigor.CSV, rigor.WriteOptions{})
	read, err = d.Read("rows.csv", nil)
	expect("fs.dump", strings.Contains(string(read.Data), "a,1"), err)
	_, err = d.Read("../outside", nil)
	expectError("fs.escape-denied", rigor.ErrDenied, err)
	_, err = rigor.OpenDir("nowhere")
	expectError("fs.open-denied", rigor.ErrDenied, err)
	r, err := d.RunIOLoad(rigor.IOLoad{
		Name: "conf.io", Workers: 2, FilesPerWorker: 1, FileSize: 65536, BlockSize: 4096,
		ReadPercent: 50, Fsync: rigor.FsyncNever, Random: false, Ops: ops * 10,
	})
	expect("fs.io-load", r.Errors == 0 && r.Reads+r.Writes == ops*10, err)
}

func memory(service *rigor.Child) {
	u, err := rigor.Sample(rigor.TargetHost())
	expect("memory.sample", u.RSS > 0, err)
	if service != nil {
		u, err = rigor.Sample(rigor.TargetChild(service.Pid()))
		expect("memory.child", u.RSS > 0, err)
	} else {
		rigor.Check("memory.child", false, "the service did not start")
	}
	_, err = rigor.Sample(rigor.TargetPid(1))
	expectError("memory.denied", rigor.ErrDenied, err)
	w, err := rigor.StartWatcher("conf.mem", rigor.TargetHost(), rigor.RSS, 0)
	if err != nil {
		rigor.Check("memory.watcher", false, err.Error())
		return
	}
	defer w.Close()
	for k := uint64(1); k <= 5; k++ {
		_, _ = w.OpsDone(k)
	}
	v, err := w.Verdict(rigor.Criteria{})
	expect("memory.watcher", v.Samples >= 5 && len(w.Series()) >= 5, err)
	w.Stop()
}
