//! proto: the suite's protocol for the Rust contestants, once: framing (http),
//! a connection's input buffer (input), answers (answer), the workload and its
//! query keys (workload), counters, the command line (cli), the start, accept
//! errors and the answer after a wait (server), the io=file data file
//! (datafile), the io=net backend's request, answer and connection (backend),
//! the table state=shared updates (shared), what a graceful stop counts
//! (stop), CPU work (spin), the listener (net) and --workers processes
//! (workers). How each server waits, guards its table and reaches its
//! connections at a stop is its own.

pub mod answer;
pub mod backend;
pub mod cli;
pub mod counters;
pub mod datafile;
pub mod http;
pub mod input;
pub mod net;
pub mod server;
pub mod shared;
pub mod spin;
pub mod stop;
pub mod workers;
pub mod workload;

/// The whole 200 body: the first `bytes` bytes of one shared buffer.
pub static BODY: [u8; workload::BYTES_MAX as usize] = [b'x'; workload::BYTES_MAX as usize];
