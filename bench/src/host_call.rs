//! The floor of a guest → host call in wasmtime 48, without Rigor's
//! bindings: a tiny hand-written component calls host functions that do
//! nothing, return at once from an async function, or wait once (suspending
//! the guest's fiber), next to host code that waits the same way. It sets
//! how much of a guest-driven Redis GET's extra cost (the `languages-gets`
//! section) any binding could remove.

use std::time::{Duration, Instant};

use anyhow::Result;
use wasmtime::component::{Component, Linker, TypedFunc};
use wasmtime::{Config, Engine, Store};

/// Calls per measurement.
const CALLS: u32 = 200_000;
/// Rounds; the variants alternate within each, figures are medians.
const ROUNDS: usize = 11;
/// The size of the value the GET-shaped call returns, as in `languages-gets`.
const VALUE: usize = 100;

/// The calls the guest loops over: the host function, and how the core
/// module calls it.
const CALLS_MADE: [(&str, &str); 4] = [
    ("nothing", "(call $nothing)"),
    ("ready", "(call $ready)"),
    ("wait", "(call $wait)"),
    // key:0 at 16, the returned (pointer, length) at 64.
    (
        "get",
        "(call $get (i32.const 16) (i32.const 5) (i32.const 64))",
    ),
];

/// A component with one loop per host function, each `run-*(n)` making `n`
/// calls. The GET-shaped import takes a string and returns a list, lowered
/// through `realloc` into one reused buffer.
fn guest() -> String {
    let mut loops = String::new();
    let mut exports = String::new();
    for (name, call) in CALLS_MADE {
        loops.push_str(&format!(
            r#"
    (func (export "run-{name}") (param $n i32)
      (block $done (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        {call}
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again))))"#
        ));
        exports.push_str(&format!(
            r#"
  (func (export "run-{name}") (param "n" u32) (canon lift (core func $loops "run-{name}")))"#
        ));
    }
    format!(
        r#"
(component
  (import "nothing" (func $nothing))
  (import "ready" (func $ready))
  (import "wait" (func $wait))
  (import "get" (func $get (param "key" string) (result (list u8))))
  (core module $libc
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 4096)))
  (core instance $libc (instantiate $libc))
  (core func $nothing-lowered (canon lower (func $nothing)))
  (core func $ready-lowered (canon lower (func $ready)))
  (core func $wait-lowered (canon lower (func $wait)))
  (core func $get-lowered
    (canon lower (func $get) (memory (core memory $libc "memory"))
      (realloc (core func $libc "realloc"))))
  (core module $loops
    (import "libc" "memory" (memory 1))
    (import "host" "nothing" (func $nothing))
    (import "host" "ready" (func $ready))
    (import "host" "wait" (func $wait))
    (import "host" "get" (func $get (param i32 i32 i32)))
    (data (i32.const 16) "key:0"){loops})
  (core instance $loops (instantiate $loops
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "nothing" (func $nothing-lowered))
      (export "ready" (func $ready-lowered))
      (export "wait" (func $wait-lowered))
      (export "get" (func $get-lowered)))))){exports})
"#
    )
}

/// What a host function does once called.
fn linker(engine: &Engine) -> Result<Linker<()>> {
    let mut linker = Linker::new(engine);
    let mut root = linker.root();
    root.func_wrap("nothing", |_, (): ()| Ok(()))?;
    root.func_wrap_async("ready", |_, (): ()| Box::new(async { Ok(()) }))?;
    root.func_wrap_async("wait", |_, (): ()| {
        Box::new(async {
            tokio::task::yield_now().await;
            Ok(())
        })
    })?;
    root.func_wrap_async("get", |_, (key,): (String,)| {
        Box::new(async move {
            tokio::task::yield_now().await;
            std::hint::black_box(key);
            Ok((vec![b'x'; VALUE],))
        })
    })?;
    Ok(linker)
}

/// Wall and CPU time of `work`, per call.
async fn per_call(work: impl Future<Output = Result<()>>) -> Result<(f64, f64)> {
    let (wall, cpu) = (Instant::now(), crate::thread_cpu());
    work.await?;
    let per = |d: Duration| d.as_secs_f64() * 1e9 / f64::from(CALLS);
    Ok((
        per(wall.elapsed()),
        per(crate::thread_cpu().saturating_sub(cpu)),
    ))
}

pub fn run() -> Result<()> {
    // As `rigor run` has it: epoch interruption on, one thread.
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, guest())
        .map_err(|e| anyhow::anyhow!("the bench component: {e:#}"))?;
    let linker = linker(&engine)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let labels = [
        "sync host function, returns",
        "async host function, ready at once",
        "async host function, waits once",
        "same, GET-shaped: string in, 100 B list out",
    ];
    let variants: Vec<(&str, String)> = labels
        .iter()
        .zip(CALLS_MADE)
        .map(|(label, (name, _))| (*label, format!("run-{name}")))
        .collect();
    let mut samples: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); variants.len() + 1];
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = linker.instantiate_async(&mut store, &component).await?;
        let funcs = variants
            .iter()
            .map(|(_, export)| instance.get_typed_func::<(u32,), ()>(&mut store, export.as_str()))
            .collect::<wasmtime::Result<Vec<TypedFunc<(u32,), ()>>>>()?;
        for func in &funcs {
            func.call_async(&mut store, (1_000,)).await?; // warm up
        }
        for _ in 0..ROUNDS {
            for (func, (wall, cpu)) in funcs.iter().zip(samples.iter_mut()) {
                let (w, c) = per_call(async {
                    func.call_async(&mut store, (CALLS,)).await?;
                    Ok(())
                })
                .await?;
                wall.push(w);
                cpu.push(c);
            }
            let (w, c) = per_call(async {
                for _ in 0..CALLS {
                    tokio::task::yield_now().await;
                }
                Ok(())
            })
            .await?;
            samples[variants.len()].0.push(w);
            samples[variants.len()].1.push(c);
        }
        anyhow::Ok(())
    })?;
    let medians: Vec<(f64, f64)> = samples
        .into_iter()
        .map(|(w, c)| (crate::median(w), crate::median(c)))
        .collect();
    let native_wait = medians[variants.len()];
    println!(
        "{CALLS} calls per round, {ROUNDS} rounds, medians; a hand-written component on wasmtime \
         48 as `rigor run` configures it, no Rigor binding\n"
    );
    println!(
        "{:<46} {:>11} {:>11} {:>22}",
        "call", "wall ns", "CPU ns", "CPU ns − host waiting"
    );
    for ((name, _), (wall, cpu)) in variants.iter().zip(&medians) {
        let waits = name.contains("wait") || name.contains("GET");
        let extra = if waits {
            format!("{:.0}", cpu - native_wait.1)
        } else {
            "—".into()
        };
        println!("{name:<46} {wall:>11.0} {cpu:>11.0} {extra:>22}");
    }
    println!(
        "{:<46} {:>11.0} {:>11.0} {:>22}",
        "host code waiting once (no guest)", native_wait.0, native_wait.1, "—"
    );
    println!(
        "\nwaits once: the host future is pending once (tokio::task::yield_now), so the guest's fiber \
         is suspended and resumed, as on every Redis round trip; the last column is what the guest \
         adds to host code that waits the same way"
    );
    Ok(())
}
