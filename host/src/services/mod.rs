//! Services rigor manages for a run, such as a throwaway redis-server.

pub mod redis_server;
