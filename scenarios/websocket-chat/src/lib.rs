//! websocket-chat: start the service under test, check its WebSocket echo
//! (text, binary, ping, clean close), run a native echo load whose round
//! trips are matched per message by a correlation id, and fill a chat room
//! with several members: every message must reach every member exactly
//! once, and every member must close cleanly (1000).

#[path = "../../sut/guest.rs"]
mod sut;

use std::collections::BTreeMap;
use std::time::Duration;

use rigor_guest::prelude::*;

struct WebSocketChat;

/// How long one receive may wait for a message that must come.
const RECEIVE: Duration = Duration::from_secs(5);

impl Scenario for WebSocketChat {
    fn describe() -> Info {
        Info::new(
            "websocket-chat",
            "WebSocket echo and chat room of the service: connect time, round-trip p99 of a matched echo load, every message delivered to every member, clean closes",
        )
        .param("ready-timeout-ms", "5000", "how long the service may take to become ready")
        .param("members", "4", "members of the chat room")
        .param("chat-messages", "20", "messages each member sends to the room")
        .param("connections", "8", "connections of the echo load")
        .param("messages", "200", "messages per connection of the echo load")
        .param("rate", "0", "messages per second per connection (0: closed model)")
        .param("round-trip-p99-ms", "50", "threshold on the p99 round trip of the echo load")
        .param("connect-p99-ms", "100", "threshold on the p99 connect time (TCP + upgrade)")
    }

    fn run(params: &Params) -> Result<()> {
        let ready_timeout = Duration::from_millis(params.get("ready-timeout-ms")?);
        let members: u32 = params.get("members")?;
        let chat_messages: u32 = params.get("chat-messages")?;
        let connections: u32 = params.get("connections")?;
        let messages: u64 = params.get("messages")?;
        let rate: f64 = params.get("rate")?;
        let rt_p99: u64 = params.get("round-trip-p99-ms")?;
        let connect_p99: u64 = params.get("connect-p99-ms")?;

        let Some(service) = sut::start("healthy", ready_timeout)? else {
            return Ok(());
        };
        let ws_base = service.base.replace("http://", "ws://");

        echo(&format!("{ws_base}/ws/echo"))?;
        echo_load(&format!("{ws_base}/ws/echo"), connections, messages, rate)?;
        chat(
            &format!("{ws_base}/ws/chat?room=rigor"),
            members,
            chat_messages,
        )?;

        threshold("echo", &format!("p(99) < {rt_p99}ms"))?;
        threshold("echo.connect", &format!("p(99) < {connect_p99}ms"))?;
        threshold("chat.connect", &format!("p(99) < {connect_p99}ms"))?;
        sut::stop(service, Duration::from_secs(3));
        Ok(())
    }
}

/// One connection: text and binary echoed as sent, a ping answered, a
/// close answered with the code sent.
fn echo(url: &str) -> Result<()> {
    let ws = WebSocket::connect(url)?;
    let t = ws.timing();
    check(
        "connect phases add up",
        t.connect_ns > 0 && t.upgrade_ns > 0 && t.total_ns >= t.connect_ns + t.upgrade_ns,
        format!(
            "dns {} ns, connect {} ns, tls {} ns, upgrade {} ns, total {} ns",
            t.dns_ns, t.connect_ns, t.tls_ns, t.upgrade_ns, t.total_ns
        ),
    );
    ws.send_text("héllo, rigor")?;
    let got = ws.receive(RECEIVE)?;
    check(
        "text is echoed as sent",
        matches!(&got, Incoming::Text(t) if t == "héllo, rigor"),
        format!("{got:?}"),
    );
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    ws.send_binary(&binary)?;
    let got = ws.receive(RECEIVE)?;
    check(
        "a 70000-byte binary message is echoed as sent",
        matches!(&got, Incoming::Binary(b) if *b == binary),
        "compared byte for byte",
    );
    let rtt = ws.ping_timed(&Histogram::latency("ping"))?;
    check("ping is answered", true, format!("pong after {rtt:?}"));
    let code = ws.close(1000, "done")?;
    check(
        "echo connection closes cleanly",
        code == 1000,
        format!("the service answered the close with {code}"),
    );
    Ok(())
}

/// The native load: every answer matched to its message by id.
fn echo_load(url: &str, connections: u32, messages: u64, rate: f64) -> Result<()> {
    let mut load = WsLoad::new(url, "echo")
        .connections(connections)
        .messages(messages)
        .text_template(r#"{"id":"{id}","text":"hello from rigor"}"#, "{id}")
        .json_id("id");
    if rate > 0.0 {
        load = load.rate(rate);
    }
    let r = load.run()?;
    log::info(format!(
        "echo load: {} connected, {} sent, {} received, {} matched, {} lost, {:.0} msg/s sent, round trip p50 {} ns p99 {} ns, closes {:?}, errors {:?}",
        r.connected,
        r.sent,
        r.received,
        r.matched,
        r.lost,
        r.sent_per_second,
        r.round_trip.p50,
        r.round_trip.p99,
        r.close_codes,
        r.errors
    ));
    let expected = u64::from(connections) * messages;
    check(
        "every echo load message is answered",
        r.sent == expected && r.matched == expected && r.lost == 0,
        format!(
            "{} of {expected} sent, {} matched, {} lost",
            r.sent, r.matched, r.lost
        ),
    );
    check(
        "no unmatched or duplicate answers",
        r.unmatched == 0 && r.duplicates == 0,
        format!("{} unmatched, {} duplicates", r.unmatched, r.duplicates),
    );
    check(
        "echo load connections close cleanly (1000)",
        r.close_codes == vec![(1000, u64::from(connections))] && r.errors.is_empty(),
        format!(
            "close codes {:?}, errors {:?} {:?}",
            r.close_codes, r.errors, r.first_error
        ),
    );
    Ok(())
}

/// Reads until the join notice says `members` are in.
fn wait_for_everyone(ws: &WebSocket, members: u32) -> Result<()> {
    let want = format!(r#""members": {members}"#);
    loop {
        let text = ws.receive_text(RECEIVE)?;
        if text.contains(r#""type": "join""#) && text.contains(&want) {
            return Ok(());
        }
    }
}

/// A room of `members`: each sends `messages`, each must receive all of them.
fn chat(url: &str, members: u32, messages: u32) -> Result<()> {
    let connect = Histogram::latency("chat.connect");
    let mut room = Vec::new();
    for _ in 0..members {
        let ws = WebSocket::connect(url)?;
        connect.record(ws.timing().total_ns);
        room.push(ws);
    }
    for ws in &room {
        wait_for_everyone(ws, members)?;
    }
    for (from, ws) in room.iter().enumerate() {
        for seq in 0..messages {
            ws.send_text(&format!(r#"{{"type":"msg","from":{from},"seq":{seq}}}"#))?;
        }
    }
    let total = members * messages;
    let mut complete = 0;
    let mut problems = Vec::new();
    for (member, ws) in room.iter().enumerate() {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut got = 0;
        while got < total {
            let text = match ws.receive_text(RECEIVE) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("member {member}: after {got} messages: {e}"));
                    break;
                }
            };
            if text.contains(r#""type":"msg""#) {
                *seen.entry(text).or_default() += 1;
                got += 1;
            }
        }
        if seen.len() as u32 == total && seen.values().all(|n| *n == 1) {
            complete += 1;
        } else if got == total {
            problems.push(format!("member {member}: duplicates among {got} messages"));
        }
    }
    check(
        "every chat message reaches every member exactly once",
        complete == members,
        format!(
            "{complete} of {members} members got all {total} messages; {}",
            if problems.is_empty() {
                "no problems".to_owned()
            } else {
                problems.join("; ")
            }
        ),
    );
    let mut codes = Vec::new();
    for ws in &room {
        codes.push(ws.close(1000, "bye")?);
    }
    check(
        "chat members close cleanly (1000)",
        codes.iter().all(|c| *c == 1000),
        format!("close codes {codes:?}"),
    );
    Ok(())
}

rigor_guest::scenario!(WebSocketChat);
