//! upstream.rs: io=net on Tokio: one keep-alive backend connection per front
//! connection, a tokio TcpStream opened at its first io=net request and
//! reused; the exchange awaits, bounded by one tokio timeout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use proto::backend::{self, Failure, Link};
use proto::cli::Upstream;

pub type Backend = Link<TcpStream>;

/// Sends the request for wait_us on link and reads the backend's whole
/// answer, all within limit; a stale reused connection is retried once on a
/// new one. Err: why, for the 502's body.
pub async fn exchange(
    link: &mut Backend,
    up: &Upstream,
    wait_us: u32,
    limit: Duration,
) -> Result<(), String> {
    let result = tokio::time::timeout(limit, async {
        match once(link, up, wait_us).await {
            Err(f) if f.stale => {
                link.drop_conn();
                once(link, up, wait_us).await
            }
            other => other,
        }
    })
    .await;
    let why = match result {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(f)) => f.why,
        Err(_) => backend::too_slow(up, limit),
    };
    link.drop_conn();
    Err(why)
}

async fn once(link: &mut Backend, up: &Upstream, wait_us: u32) -> Result<(), Failure> {
    if !link.is_open() {
        let s = TcpStream::connect(up.addr)
            .await
            .map_err(|e| backend::fail(backend::cannot_connect(up, &e)))?;
        let _ = s.set_nodelay(true);
        link.opened(s);
    }
    let reused = link.reused();
    let (s, req) = link.request(wait_us, &up.host_header);
    if let Err(e) = s.write_all(req).await {
        return Err(backend::send_failed(up, &e, reused));
    }
    link.sent();
    loop {
        if let Some(r) = link.answer() {
            return r;
        }
        let (s, room) = link.room();
        let n = s.read(room).await;
        link.filled(*n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => return Err(link.ended(up, None)),
            Ok(_) => {}
            Err(e) => return Err(link.ended(up, Some(&e))),
        }
    }
}
