//! Virtual users of a session store: each VU logs in once (creates its
//! session hash with a TTL), then every iteration reads its session,
//! updates it and thinks. VUs share a small pool of Redis connections
//! (`Redis::pooled`), so 10,000 VUs need as many connections as calls in
//! flight, not 10,000.

use std::time::Duration;

use rigor_guest::prelude::*;

struct SessionStore;

fn key(prefix: &str, vu: u32) -> String {
    format!("{prefix}session:{vu}")
}

impl VuScenario for SessionStore {
    fn describe() -> Info {
        Info::new(
            "vu-session-store",
            "Users of a Redis session store: log in, read and update the session, think",
        )
        .param("vus", "20", "concurrent virtual users")
        .param("duration", "3s", "how long they run")
        .param("think-ms", "100", "pause after each iteration")
        .param(
            "key-prefix",
            "rigor:vu-session-store:",
            "prefix of every key",
        )
        .param("target", "default", "Redis target")
    }

    fn setup(params: &Params) -> Result<Params> {
        let prefix: String = params.get("key-prefix")?;
        let target: String = params.get("target")?;
        let cleared = Redis::open(&target)?.clear_prefix(&prefix)?;
        log::info(format!(
            "cleared {cleared} keys under `{prefix}` before the run"
        ));
        Ok(params.clone())
    }

    fn iteration(vu: &Vu, data: &Params) -> Result<()> {
        let prefix: String = data.get("key-prefix")?;
        let target: String = data.get("target")?;
        let think = Duration::from_millis(data.get("think-ms")?);
        let session = key(&prefix, vu.id);
        {
            let redis = Redis::pooled(&target)?;
            if vu.iteration == 0 {
                let login = Histogram::latency("session.login");
                let token = format!("{:016x}", vu.rng().next_u64());
                redis.command_timed(
                    &[
                        b"HSET",
                        session.as_bytes(),
                        b"token",
                        token.as_bytes(),
                        b"views",
                        b"0",
                    ],
                    &login,
                )?;
                redis.command(&[b"EXPIRE", session.as_bytes(), b"300"])?;
            }
            let read = Histogram::latency("session.read");
            let reply = redis.command_timed(&[b"HGET", session.as_bytes(), b"token"], &read)?;
            check(
                "session found",
                !matches!(reply, rigor_guest::redis::Reply::Nil),
                format!("VU {} iteration {}", vu.id, vu.iteration),
            );
            let update = Histogram::latency("session.update");
            redis.command_timed(&[b"HINCRBY", session.as_bytes(), b"views", b"1"], &update)?;
        }
        sleep(think);
        Ok(())
    }

    fn teardown(data: &Params) -> Result<()> {
        let prefix: String = data.get("key-prefix")?;
        let target: String = data.get("target")?;
        Redis::open(&target)?.clear_prefix(&prefix)?;
        Ok(())
    }
}

rigor_guest::vu_scenario!(SessionStore);
