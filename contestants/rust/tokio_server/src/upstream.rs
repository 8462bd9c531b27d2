//! upstream.rs: io=net on Tokio: one keep-alive backend connection per front
//! connection, a tokio TcpStream opened at its first io=net request and reused.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use proto::backend::{self, Answer};
use proto::cli::Upstream;

/// A front connection's backend side. Any failure drops the connection, so
/// the next request reconnects.
pub struct Backend {
    stream: Option<TcpStream>,
    reused: bool, // the connection has carried a whole answer before
    buf: Vec<u8>,
}

/// How an exchange failed: `stale` when a reused connection ended before any
/// byte of the answer (the backend closed it while idle): worth one retry.
struct Failure {
    why: String,
    stale: bool,
}

fn fail(why: String) -> Failure {
    Failure { why, stale: false }
}

impl Backend {
    pub fn new() -> Backend {
        Backend {
            stream: None,
            reused: false,
            buf: Vec::new(),
        }
    }

    /// Sends the request for wait_us and reads the backend's whole answer,
    /// all within limit. Err: why, for the 502's body.
    pub async fn exchange(
        &mut self,
        up: &Upstream,
        wait_us: u32,
        limit: Duration,
    ) -> Result<(), String> {
        let result = tokio::time::timeout(limit, async {
            match self.once(up, wait_us).await {
                Err(f) if f.stale => {
                    self.drop_conn();
                    self.once(up, wait_us).await
                }
                other => other,
            }
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(f)) => {
                self.drop_conn();
                Err(f.why)
            }
            Err(_) => {
                self.drop_conn();
                Err(format!(
                    "backend {} gave no whole answer within {} ms (--upstream-timeout-ms)",
                    up.host_header,
                    limit.as_millis()
                ))
            }
        }
    }

    fn drop_conn(&mut self) {
        self.stream = None;
        self.reused = false;
        self.buf = Vec::new(); // an idle connection keeps no answer buffer
    }

    async fn once(&mut self, up: &Upstream, wait_us: u32) -> Result<(), Failure> {
        if self.stream.is_none() {
            let s = TcpStream::connect(up.addr)
                .await
                .map_err(|e| fail(format!("cannot connect to backend {}: {e}", up.host_header)))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
            self.reused = false;
        }
        let reused = self.reused;
        let s = self.stream.as_mut().expect("connected above");
        self.buf.clear();
        backend::request(&mut self.buf, wait_us, &up.host_header);
        if let Err(e) = s.write_all(&self.buf).await {
            let why = format!("cannot send to backend {}: {e}", up.host_header);
            return Err(Failure { why, stale: reused });
        }
        self.buf.clear();
        loop {
            match backend::parse_answer(&self.buf) {
                Answer::Done { len, status, close } => {
                    if let Some(why) = backend::status_failure(status) {
                        return Err(fail(why));
                    }
                    if close || len != self.buf.len() {
                        // closing, or bytes nobody asked for: not reusable
                        self.drop_conn();
                    } else {
                        self.reused = true;
                    }
                    return Ok(());
                }
                Answer::Malformed(why) => return Err(fail(why)),
                Answer::More => {}
            }
            let at = self.buf.len();
            self.buf.resize(at + 4096, 0);
            let n = s.read(&mut self.buf[at..]).await;
            self.buf.truncate(at + *n.as_ref().unwrap_or(&0));
            match n {
                Ok(0) => {
                    let why = format!("backend {} closed the connection", up.host_header);
                    return Err(Failure {
                        why,
                        stale: reused && at == 0,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    let why = format!("backend {}: {e}", up.host_header);
                    return Err(Failure {
                        why,
                        stale: reused && at == 0,
                    });
                }
            }
        }
    }
}
