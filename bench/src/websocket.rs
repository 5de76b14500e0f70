//! WebSocket load next to a bare tokio-tungstenite echo loop, same echo
//! server (tokio-tungstenite, on its own thread), same run: messages per
//! second of the probe's closed-model load (every answer matched to its
//! message by id, round trips into an HDR histogram) against a loop that
//! sends a message and reads its echo, nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures_util::{SinkExt, StreamExt};
use rigor::events::ProgressSink;
use rigor::probes::websocket::client::{self, ConnectSpec, WsUrl};
use rigor::probes::websocket::correlation::{IdLocation, Template};
use rigor::probes::websocket::load::{self, LoadPlan};
use rigor::tls::TlsTrust;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::median;

const CONNECTIONS: u32 = 50;
const MESSAGES: u64 = 1_000;
const ROUNDS: usize = 9;
const TEMPLATE: &str = r#"{"id":"{id}","text":"hello from the websocket bench"}"#;

/// An echo server on its own runtime thread, pinned to CPU 0; its address.
fn echo_server() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    // Spawned from a thread pinned to CPU 0, it stays there.
    crate::pinned(&[], 0, || {
        Ok(std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("echo server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((tcp, _)) = listener.accept().await {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                            return;
                        };
                        while let Some(Ok(m)) = ws.next().await {
                            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        }))
    })?;
    Ok(addr)
}

fn plan(addr: SocketAddr, location: IdLocation) -> Result<LoadPlan> {
    Ok(LoadPlan {
        connect: ConnectSpec {
            url: WsUrl::parse(&format!("ws://{addr}/"))?,
            headers: Vec::new(),
            max_message: load::DEFAULT_MAX_MESSAGE,
            timeout: Duration::from_secs(10),
            trust: TlsTrust::default(),
        },
        connections: CONNECTIONS,
        messages: Some(MESSAGES),
        duration: None,
        rate: None,
        template: Arc::new(Template::new(TEMPLATE.as_bytes(), "{id}").map_err(anyhow::Error::msg)?),
        text: true,
        location: Arc::new(location),
        grace: Duration::from_secs(1),
        progress: ProgressSink::detached(),
    })
}

/// The probe's load: messages per second over its active time.
async fn rigor_round(addr: SocketAddr, location: IdLocation) -> Result<f64> {
    let outcome = load::run(plan(addr, location)?).await;
    let expected = u64::from(CONNECTIONS) * MESSAGES;
    if outcome.matched != expected {
        bail!(
            "the rigor load matched {} of {expected}: {:?}",
            outcome.matched,
            outcome.first_error
        );
    }
    Ok(outcome.received_per_second())
}

/// The bare loop: connect every connection, then each sends and awaits its
/// echo `MESSAGES` times; messages per second from the first send.
async fn bare_round(addr: SocketAddr, config: Option<WebSocketConfig>) -> Result<f64> {
    let mut sockets = Vec::new();
    for _ in 0..CONNECTIONS {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), tcp, config)
                .await?;
        sockets.push(ws);
    }
    let text = TEMPLATE.replace("{id}", "0000000000000000");
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in sockets {
        let text = text.clone();
        tasks.spawn(async move {
            for _ in 0..MESSAGES {
                ws.send(Message::text(text.clone())).await?;
                match ws.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(anyhow::Error::from(e)),
                    None => bail!("the echo server closed"),
                }
            }
            // The close is outside the measured window, as in the probe's.
            let last = Instant::now();
            let _ = ws.close(None).await;
            Ok(last)
        });
    }
    let mut end = start;
    while let Some(done) = tasks.join_next().await {
        end = end.max(done??);
    }
    Ok((u64::from(CONNECTIONS) * MESSAGES) as f64 / (end - start).as_secs_f64())
}

pub fn run() -> Result<()> {
    let addr = echo_server()?;
    // The runtime `rigor run` uses.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!(
        "{CONNECTIONS} connections × {MESSAGES} messages, closed model, {}-byte text, median of {ROUNDS} alternating rounds (messages/s; ratio: median of the rounds' ratios)",
        TEMPLATE.len() + 16 - 4
    );
    // The bare loop with tungstenite's defaults (128 KiB read buffer, zeroed
    // before every read), and with the probe's buffer sizes, to tell the
    // buffers from the rest.
    let json = || IdLocation::JsonField("id".into());
    let range = || IdLocation::ByteRange(7, 16);
    let probe = || Some(client::config(load::DEFAULT_MAX_MESSAGE));
    // One buffer as the probe's, the other at tungstenite's default, to
    // tell which of the two makes a difference.
    let probe_read = || {
        Some(
            WebSocketConfig::default()
                .read_buffer_size(client::READ_BUFFER_BYTES)
                .max_message_size(Some(load::DEFAULT_MAX_MESSAGE))
                .max_frame_size(Some(load::DEFAULT_MAX_MESSAGE)),
        )
    };
    let probe_write = || {
        Some(
            WebSocketConfig::default()
                .write_buffer_size(client::WRITE_BUFFER_BYTES)
                .max_write_buffer_size(
                    load::DEFAULT_MAX_MESSAGE + client::WRITE_BUFFER_BYTES + 1024,
                ),
        )
    };
    let cases = [
        ("id in a JSON field, bare: defaults", json(), None),
        ("id in a byte range, bare: defaults", range(), None),
        ("id in a JSON field, bare: probe's buffers", json(), probe()),
        (
            "id in a byte range, bare: probe's buffers",
            range(),
            probe(),
        ),
        (
            "id in a JSON field, bare: probe's read buffer",
            json(),
            probe_read(),
        ),
        (
            "id in a JSON field, bare: probe's write buffer",
            json(),
            probe_write(),
        ),
    ];
    let messages = (u64::from(CONNECTIONS) * MESSAGES) as f64;
    // CPU time of the thread that runs the client per message: the echo
    // server has its own thread, so this is the client's work alone,
    // whatever the scheduler does with the wake-ups between them.
    let cpu_per_message = |work: &mut dyn FnMut() -> Result<f64>| -> Result<(f64, f64)> {
        let cpu = crate::thread_cpu();
        let rate = work()?;
        let used = crate::thread_cpu().saturating_sub(cpu);
        Ok((rate, used.as_secs_f64() * 1e6 / messages))
    };
    // Whether a reply must wake a halted vCPU decides more than either
    // client does, so the client's thread is pinned, once beside the echo
    // server and once on its CPU.
    for (placement, client_cpu) in crate::PLACEMENTS {
        println!("\n{placement} (echo server on CPU 0, client on CPU {client_cpu})");
        println!(
            "{:<46} {:>9} {:>9} {:>7} {:>9} {:>9}",
            "case", "rigor", "bare loop", "ratio", "rigor CPU", "bare CPU"
        );
        crate::pinned(&[], client_cpu, || -> Result<()> {
            for (name, location, config) in &cases {
                let (location, config) = (location.clone(), *config);
                let (mut ours, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
                let (mut our_cpu, mut bare_cpu) = (Vec::new(), Vec::new());
                for _ in 0..ROUNDS {
                    let (o, oc) = cpu_per_message(&mut || {
                        runtime.block_on(rigor_round(addr, location.clone()))
                    })?;
                    let (b, bc) =
                        cpu_per_message(&mut || runtime.block_on(bare_round(addr, config)))?;
                    // Each round's pair ran back to back: the median of their
                    // ratios is robust to the machine's load drifting between rounds.
                    ratios.push(o / b);
                    ours.push(o);
                    bare.push(b);
                    our_cpu.push(oc);
                    bare_cpu.push(bc);
                }
                println!(
                    "{:<46} {:>9.0} {:>9.0} {:>6.2}× {:>7.2}µs {:>7.2}µs",
                    name,
                    median(ours),
                    median(bare),
                    median(ratios),
                    median(our_cpu),
                    median(bare_cpu)
                );
            }
            Ok(())
        })?;
    }
    println!(
        "(target: ratio ≥ 0.95; CPU: the client thread's CPU time per message, each side's own)"
    );
    Ok(())
}
