//! End-to-end tests: the `rigor` binary against real redis-server processes
//! and real components, hostile guests included.

mod cache;
mod hostile_guests;
mod invalid_input;
mod managed_redis;
mod redis_latency;
