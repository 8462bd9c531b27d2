//! net.rs: the listening socket, made with the system calls so that the
//! backlog is the one asked for and SO_REUSEPORT can be set before bind.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::io::FromRawFd;

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// A bound TCP socket on host:port; listening with `backlog` unless it is
/// None (a socket that only holds the port). reuseport: SO_REUSEPORT, so that
/// several processes each listen on the port. Err names the cause and the fix.
pub fn listen(
    host: &str,
    port: u16,
    backlog: Option<u32>,
    reuseport: bool,
) -> Result<TcpListener, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --host {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve --host {host}: no address"))?;
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", io::Error::last_os_error()));
    }
    // From here the listener owns fd and closes it on every early return.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let set = |opt| unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set(libc::SO_REUSEADDR) < 0 || (reuseport && set(libc::SO_REUSEPORT) < 0) {
        return Err(format!("setsockopt: {}", io::Error::last_os_error()));
    }
    let (ss, len) = sockaddr(&addr);
    if unsafe { libc::bind(fd, &ss as *const _ as *const libc::sockaddr, len) } < 0 {
        let e = io::Error::last_os_error();
        let hint = match e.raw_os_error() {
            Some(libc::EADDRINUSE) => {
                " (another process holds the port; pick another with --port, or 0)"
            }
            Some(libc::EADDRNOTAVAIL) => " (no local interface has that address; try 127.0.0.1)",
            _ => "",
        };
        return Err(format!("cannot bind {host}:{port}: {e}{hint}"));
    }
    if let Some(b) = backlog {
        let b = b.min(i32::MAX as u32) as libc::c_int;
        if unsafe { libc::listen(fd, b) } < 0 {
            return Err(format!("listen: {}", io::Error::last_os_error()));
        }
    }
    Ok(listener)
}

/// The port a socket is bound to (0 if unknown).
pub fn local_port(l: &TcpListener) -> u16 {
    l.local_addr().map_or(0, |a| a.port())
}
