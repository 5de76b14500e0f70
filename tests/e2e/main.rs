//! End-to-end tests: the `rigor` binary against real redis-server processes
//! and real components, hostile guests included.

mod cache;
mod catalog_errors;
mod compare;
mod conformance;
mod deploy;
mod fs;
mod hostile_guests;
mod http;
mod http_load;
mod http_servers;
mod http_tls;
mod invalid_input;
mod languages;
mod languages_c_zig;
mod languages_go;
mod managed_redis;
mod memory;
mod monitoring;
mod process;
mod redis_cluster;
mod redis_latency;
mod redis_load;
mod redis_tls;
mod report_readability;
mod reports;
mod run_signals;
mod sandbox_budget;
mod sandbox_process;
mod sandbox_redis;
mod sandbox_verdicts;
mod sdk_coverage;
mod shards;
mod vus;
mod websocket_probe;
