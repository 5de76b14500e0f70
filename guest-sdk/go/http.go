package rigor

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_http"
)

// HTTPVersion is an HTTP version; the zero value lets the host choose.
type HTTPVersion uint8

// HTTP versions.
const (
	// HTTPAuto: on https:// the server picks through ALPN, on http://
	// HTTP/1.1.
	HTTPAuto HTTPVersion = iota
	HTTP1
	HTTP2
)

func (v HTTPVersion) String() string {
	switch v {
	case HTTP1:
		return "HTTP/1.1"
	case HTTP2:
		return "HTTP/2"
	}
	return "auto"
}

func versionFrom(v rigor_scenario_http.HttpVersion) HTTPVersion {
	if v == rigor_scenario_http.HttpVersion_Http2 {
		return HTTP2
	}
	return HTTP1
}

// Header is one HTTP header.
type Header struct{ Name, Value string }

func headersTo(hs []Header) []witTypes.Tuple2[string, string] {
	out := []witTypes.Tuple2[string, string]{}
	for _, h := range hs {
		out = append(out, witTypes.Tuple2[string, string]{F0: h.Name, F1: h.Value})
	}
	return out
}

func headersFrom(hs []witTypes.Tuple2[string, string]) []Header {
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{h.F0, h.F1}
	}
	return out
}

// Request is one HTTP request. URLs must name a granted host
// (`http = ["127.0.0.1"]`); anything else is ErrDenied.
type Request struct {
	// GET when empty.
	Method string
	// http://host[:port]/path?query or https://...
	URL string
	// Extra headers; Host, Content-Length and Connection are set by the host.
	Headers []Header
	Body    []byte
	// Limit for the whole exchange; 0: 10 s.
	Timeout time.Duration
	// HTTPAuto, HTTP1 or HTTP2 (on https:// fails if the server disagrees).
	Version HTTPVersion
	// Redirects to follow (at most 16); 0 returns the 3xx response.
	MaxRedirects uint32
	// A client certificate by its name in the catalog's `client-certs`.
	ClientIdentity string
}

func (r Request) wit() rigor_scenario_http.Request {
	req := rigor_scenario_http.Request{
		Method: cmp(r.Method, "GET"), Url: r.URL, Headers: headersTo(r.Headers), Body: r.Body,
		TimeoutNs: uint64(r.Timeout), MaxRedirects: r.MaxRedirects,
		Version: witTypes.None[rigor_scenario_http.HttpVersion](), ClientIdentity: optString(r.ClientIdentity),
	}
	if req.Body == nil {
		req.Body = []byte{}
	}
	switch r.Version {
	case HTTP1:
		req.Version = witTypes.Some(rigor_scenario_http.HttpVersion_Http1)
	case HTTP2:
		req.Version = witTypes.Some(rigor_scenario_http.HttpVersion_Http2)
	}
	return req
}

// Response is an HTTP response with the time each phase took. A 4xx or
// 5xx status is a response, not an error.
type Response struct {
	Status  uint16
	Headers []Header
	// The body, cut at 1 MiB; BodyBytes counts all of it.
	Body      []byte
	BodyBytes uint64
	Version   HTTPVersion
	// The URL that answered (differs from the request's after redirects).
	URL       string
	Redirects uint32
	// Name resolution, TCP connect and TLS handshake of the last hop.
	DNS, Connect, TLS time.Duration
	// From the start of the resolve to the first and the last byte.
	FirstByte, Total time.Duration
}

// Header returns the first value of the header name (case-insensitive).
func (r Response) Header(name string) (string, bool) {
	for _, h := range r.Headers {
		if equalFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Send sends one request on a new connection, timed; `into` records the
// total time. Errors are ErrConnection, ErrTimeout, ErrDenied, ErrInvalid.
func Send(req Request, into *Histogram) (Response, error) {
	r, err := result(rigor_scenario_http.Send(req.wit(), into.into()))
	if err != nil {
		return Response{}, err
	}
	return Response{
		Status: r.Status, Headers: headersFrom(r.Headers), Body: r.Body, BodyBytes: r.BodyBytes,
		Version: versionFrom(r.Version), URL: r.Url, Redirects: r.Redirects,
		DNS: time.Duration(r.DnsNs), Connect: time.Duration(r.ConnectNs), TLS: time.Duration(r.TlsNs),
		FirstByte: time.Duration(r.FirstByteNs), Total: time.Duration(r.TotalNs),
	}, nil
}

// Get sends `GET url` with the default limits.
func Get(url string, into *Histogram) (Response, error) {
	return Send(Request{URL: url}, into)
}

// HTTPLoad is a load of identical requests from concurrent workers.
type HTTPLoad struct {
	// The request every worker sends.
	Request Request
	// Concurrent requests in flight (1..=1024).
	Workers uint32
	// HTTP/2: connections the workers share; 0: one per worker.
	Connections uint32
	// Event-loop threads; 0: half the cores.
	Threads uint32
	// Total requests, or (when 0) until Duration.
	Requests uint64
	Duration time.Duration
	// Open model at this many requests/s (latency from each intended send
	// time: no coordinated omission); 0: closed model.
	Rate float64
	// The latency histogram's name; the host adds `<metric>.first-byte`,
	// `.connect`, `.tls`, `.throughput` and `.error-rate`.
	Metric string
}

// HTTPLoadReport is what an HTTP load produced.
type HTTPLoadReport struct {
	// Requests sent; responses below 400; responses 400 and above;
	// requests with no response.
	Sent, OK, HTTPErrors, Failed uint64
	// Responses per status code.
	Statuses   map[uint16]uint64
	Duration   time.Duration
	Throughput float64
	Latency    Summary
	// The first transport error, if any.
	FirstError string
	// The version spoken (HTTPAuto: no connection opened).
	Version                           HTTPVersion
	Connections, StreamsPerConnection uint32
	ConnectionsOpened                 uint64
}

// RunHTTPLoad runs a load natively: ErrDenied for an ungranted host,
// ErrInvalid for zero workers or neither Requests nor Duration.
func RunHTTPLoad(l HTTPLoad) (HTTPLoadReport, error) {
	spec := rigor_scenario_http.LoadSpec{
		Request: l.Request.wit(), Workers: l.Workers, Connections: l.Connections, Threads: l.Threads,
		Requests: l.Requests, DurationNs: uint64(l.Duration), Rate: witTypes.None[float64](), Metric: l.Metric,
	}
	if l.Rate > 0 {
		spec.Rate = witTypes.Some(l.Rate)
	}
	r, err := result(rigor_scenario_http.RunLoad(spec))
	if err != nil {
		return HTTPLoadReport{}, err
	}
	out := HTTPLoadReport{
		Sent: r.Sent, OK: r.Ok, HTTPErrors: r.HttpErrors, Failed: r.Failed, Statuses: map[uint16]uint64{},
		Duration: time.Duration(r.DurationNs), Throughput: r.Throughput, Latency: summaryFrom(r.Latency),
		FirstError: r.FirstError.SomeOr(""), Connections: r.Connections,
		StreamsPerConnection: r.StreamsPerConnection, ConnectionsOpened: r.ConnectionsOpened,
	}
	for _, s := range r.Statuses {
		out.Statuses[s.F0] = s.F1
	}
	if r.Version.IsSome() {
		out.Version = versionFrom(r.Version.Some())
	}
	return out, nil
}
