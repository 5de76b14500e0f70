package rigor

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/rigor_scenario_websocket"
)

// WebSocketOptions say how to open a WebSocket connection.
type WebSocketOptions struct {
	// Extra request headers of the upgrade (Authorization, Origin,
	// Sec-WebSocket-Protocol).
	Headers []Header
	// Limit for the whole connect; 0: 10 s.
	Timeout time.Duration
	// Largest message in either direction; 0: 1 MiB, at most 16 MiB.
	MaxMessageBytes uint32
}

// ConnectTiming is where the time of a connect went.
type ConnectTiming struct {
	DNS, Connect, TLS, Upgrade, Total time.Duration
}

// WebSocket is an open WebSocket connection (RFC 6455), granted by the
// `http` grant of its host; it counts against the `connections` budget
// until closed.
type WebSocket struct {
	c *rigor_scenario_websocket.Connection
}

// ConnectWebSocket resolves, connects, negotiates TLS for wss:// and
// upgrades, each phase timed. Errors: ErrDenied, ErrInvalid (not a
// ws:// or wss:// URL), ErrConnection, ErrTimeout, ErrServer (refused
// upgrade).
func ConnectWebSocket(url string, o WebSocketOptions) (*WebSocket, error) {
	c, err := result(rigor_scenario_websocket.ConnectionConnect(url, rigor_scenario_websocket.ConnectOptions{
		Headers: headersTo(o.Headers), TimeoutNs: uint64(o.Timeout), MaxMessageBytes: o.MaxMessageBytes,
	}))
	if err != nil {
		return nil, err
	}
	return &WebSocket{c}, nil
}

// Timing returns the phases of the connect.
func (w *WebSocket) Timing() ConnectTiming {
	t := w.c.Timing()
	return ConnectTiming{time.Duration(t.DnsNs), time.Duration(t.ConnectNs), time.Duration(t.TlsNs),
		time.Duration(t.UpgradeNs), time.Duration(t.TotalNs)}
}

// SendText sends one text message (ErrInvalid past MaxMessageBytes).
func (w *WebSocket) SendText(text string) error {
	_, err := result(w.c.SendText(text))
	return err
}

// SendBinary sends one binary message.
func (w *WebSocket) SendBinary(data []byte) error {
	_, err := result(w.c.SendBinary(nonNil(data)))
	return err
}

// MessageKind says what Receive got.
type MessageKind uint8

// Kinds of incoming messages.
const (
	MessageText   MessageKind = MessageKind(rigor_scenario_websocket.Incoming_Text)
	MessageBinary MessageKind = MessageKind(rigor_scenario_websocket.Incoming_Binary)
	// MessageClosed: the peer closed; nothing more can be received.
	MessageClosed MessageKind = MessageKind(rigor_scenario_websocket.Incoming_Closed)
)

// Message is what Receive returns.
type Message struct {
	Kind MessageKind
	// For MessageText.
	Text string
	// For MessageBinary.
	Data []byte
	// For MessageClosed: the close code (1005 when the frame had none) and
	// reason.
	CloseCode   uint16
	CloseReason string
}

// Receive returns the next text or binary message or the peer's close;
// ErrTimeout after timeout (0: 10 s). Pings are answered by the host.
func (w *WebSocket) Receive(timeout time.Duration) (Message, error) {
	in, err := result(w.c.Receive(uint64(timeout)))
	if err != nil {
		return Message{}, err
	}
	m := Message{Kind: MessageKind(in.Tag())}
	switch m.Kind {
	case MessageText:
		m.Text = in.Text()
	case MessageBinary:
		m.Data = nonNil(in.Binary())
	case MessageClosed:
		f := in.Closed()
		m.CloseCode, m.CloseReason = f.Code, f.Reason
	}
	return m, nil
}

// Ping sends a ping and waits for its pong (timeout 0: 10 s); it returns
// the round trip, recorded into `into` when not nil.
func (w *WebSocket) Ping(into *Histogram, timeout time.Duration) (time.Duration, error) {
	ns, err := result(w.c.Ping(into.into(), uint64(timeout)))
	return time.Duration(ns), err
}

// Shutdown starts the close handshake with code (1000 normal) and reason
// (at most 123 bytes) and waits (timeout 0: 10 s) for the peer's close;
// it returns the peer's close code.
func (w *WebSocket) Shutdown(code uint16, reason string, timeout time.Duration) (uint16, error) {
	return result(w.c.Close(code, reason, uint64(timeout)))
}

// Close releases the connection without a close handshake (use Shutdown
// for one first).
func (w *WebSocket) Close() error {
	if w != nil && w.c != nil {
		w.c.Drop()
		w.c = nil
	}
	return nil
}

// IDLocation is where the host finds a message's correlation id in an
// answer: IDInJSONField or IDInBytes.
type IDLocation struct {
	l rigor_scenario_websocket.IdLocation
}

// IDInJSONField: a top-level field of a JSON object (string or number).
func IDInJSONField(name string) IDLocation {
	return IDLocation{rigor_scenario_websocket.MakeIdLocationJsonField(name)}
}

// IDInBytes: length bytes at offset holding the id's digits.
func IDInBytes(offset, length uint32) IDLocation {
	return IDLocation{rigor_scenario_websocket.MakeIdLocationByteRange(witTypes.Tuple2[uint32, uint32]{F0: offset, F1: length})}
}

// WebSocketLoad is a load: connections that each send messages and match
// the answers by correlation id.
type WebSocketLoad struct {
	// ws:// or wss:// URL, checked against the grants.
	URL string
	// Concurrent connections (1..=1024).
	Connections uint32
	// Messages per connection, or (when 0) until Duration.
	Messages uint64
	Duration time.Duration
	// Open model: messages per second per connection; 0: closed model.
	Rate float64
	// The message; the host writes each message's id (16 digits) over the
	// first IDPlaceholder. Binary sends it as a binary message.
	Template      []byte
	Binary        bool
	IDPlaceholder string
	IDLocation    IDLocation
	// How long to wait for answers after the last send; 0: 1 s.
	Grace time.Duration
	// Largest message; 0: 64 KiB.
	MaxMessageBytes uint32
	// Name of the round-trip histogram; the host adds `.sent-rate`,
	// `.received-rate`, `.lost` and `.connect`.
	Metric string
}

// WebSocketLoadReport is what a WebSocket load produced.
type WebSocketLoadReport struct {
	Connected                                                   uint32
	Sent, Received, Matched, Unmatched, Duplicates, Lost        uint64
	BytesSent, BytesReceived                                    uint64
	Duration                                                    time.Duration
	SentPerSecond, ReceivedPerSecond                            float64
	RoundTrip                                                   Summary
	ConnectDNS, ConnectTCP, ConnectTLS, ConnectUpgrade, Connect Summary
	// Close codes the peers sent, with how often.
	CloseCodes map[uint16]uint64
	// Failures by kind (`connect`, `tls`, `upgrade`, `send`, ...).
	Errors     map[string]uint64
	FirstError string
}

// RunWebSocketLoad runs a load natively: ErrDenied for an ungranted host
// or budget, ErrInvalid for bad numbers or a template without the
// placeholder.
func RunWebSocketLoad(l WebSocketLoad) (WebSocketLoadReport, error) {
	spec := rigor_scenario_websocket.LoadSpec{
		Url: l.URL, Connections: l.Connections, Messages: l.Messages, DurationNs: uint64(l.Duration),
		Rate: witTypes.None[float64](), Template: nonNil(l.Template), Text: !l.Binary,
		IdPlaceholder: l.IDPlaceholder, IdLocation: l.IDLocation.l, GraceNs: uint64(l.Grace),
		MaxMessageBytes: l.MaxMessageBytes, Metric: l.Metric,
	}
	if l.Rate > 0 {
		spec.Rate = witTypes.Some(l.Rate)
	}
	r, err := result(rigor_scenario_websocket.RunLoad(spec))
	if err != nil {
		return WebSocketLoadReport{}, err
	}
	out := WebSocketLoadReport{
		Connected: r.Connected, Sent: r.Sent, Received: r.Received, Matched: r.Matched, Unmatched: r.Unmatched,
		Duplicates: r.Duplicates, Lost: r.Lost, BytesSent: r.BytesSent, BytesReceived: r.BytesReceived,
		Duration: time.Duration(r.DurationNs), SentPerSecond: r.SentPerSecond, ReceivedPerSecond: r.ReceivedPerSecond,
		RoundTrip: summaryFrom(r.RoundTrip), ConnectDNS: summaryFrom(r.Connect.Dns),
		ConnectTCP: summaryFrom(r.Connect.Connect), ConnectTLS: summaryFrom(r.Connect.Tls),
		ConnectUpgrade: summaryFrom(r.Connect.Upgrade), Connect: summaryFrom(r.Connect.Total),
		CloseCodes: map[uint16]uint64{}, Errors: map[string]uint64{}, FirstError: r.FirstError.SomeOr(""),
	}
	for _, c := range r.CloseCodes {
		out.CloseCodes[c.F0] += c.F1
	}
	for _, e := range r.Errors {
		out.Errors[e.F0] += e.F1
	}
	return out, nil
}
