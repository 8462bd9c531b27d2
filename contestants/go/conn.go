// conn.go: one goroutine per connection: read, frame, wait, update the shared
// table, spin, answer, in order.
package main

import (
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// readBuf is the per-connection read buffer, as CONN_READ_BUF in the C
// servers; it grows (to headBufMax) only for a head that does not fit.
const readBuf = 4096

// body is every 200's body: the first `bytes` bytes of one shared buffer.
var body = func() []byte {
	b := make([]byte, bytesMax)
	for i := range b {
		b[i] = 'x'
	}
	return b
}()

// server is what every connection shares.
type server struct {
	defaults        workload
	idle            time.Duration // 0: never
	upstream        *upstream     // nil: io=net answers 400
	upstreamTimeout time.Duration
	data            *dataFile // nil: io=file answers 400
}

// isTimeout: a deadline passed (the idle timeout).
func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// serve runs one connection until the peer closes, an error answer, an idle
// timeout, or a `Connection: close` request. Pipelined requests wait in the
// buffer until the one before them is answered. Go multiplexes these
// goroutines over its own threads and netpoller: thread-style code on an
// event loop.
func serve(c *net.TCPConn, srv *server, id uint64) {
	defer func() {
		c.Close()
		count(ctrClosed)
	}()
	buf := make([]byte, readBuf)
	start, end := 0, 0
	out := make([]byte, 0, 256)
	var be *backend    // at the first io=net request
	var fileBuf []byte // at the first io=file request
	var r *rng
	// The whole request must arrive within the idle timeout, as in the C
	// thread server: one read deadline per request.
	setDeadline := func() {
		if srv.idle > 0 {
			c.SetReadDeadline(time.Now().Add(srv.idle))
		}
	}
	// gone counts how a read ended the connection; mid: part of a request is in.
	gone := func(err error, mid bool) {
		if isTimeout(err) {
			count(ctrIdleTimeouts)
		}
		if mid {
			count(ctrAborted)
		} else if err != io.EOF && !isTimeout(err) && !errors.Is(err, syscall.ECONNRESET) {
			count(ctrIOErrors) // a reset between requests is a close
		}
	}
	write := func(bufs net.Buffers) bool {
		if srv.idle > 0 {
			c.SetWriteDeadline(time.Now().Add(srv.idle))
		}
		if _, err := bufs.WriteTo(c); err != nil { // one writev, as the C servers
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
				count(ctrAborted)
			} else {
				count(ctrIOErrors)
			}
			return false
		}
		return true
	}
	setDeadline()
	for {
		for start < end {
			p := parseHead(buf[start:end], srv.defaults)
			if p.status == 0 {
				break
			}
			if p.status != 200 {
				countStatus(p.status)
				write(net.Buffers{appendError(out[:0], p.status, p.why)})
				return
			}
			start += p.headLen
			req := p.req
			// A GET body is read and dropped, never stored.
			for skip := req.bodyLen; skip > 0; {
				take := skip
				if take > end-start {
					take = end - start
				}
				start += take
				skip -= take
				if skip > 0 {
					n, err := c.Read(buf)
					if n == 0 {
						gone(err, true)
						return
					}
					start, end = 0, n
				}
			}
			w := req.work
			if w.io == ioNet && srv.upstream == nil {
				countStatus(400)
				write(net.Buffers{appendError(out[:0], 400, "io=net needs the server started with --upstream HOST:PORT")})
				return
			}
			if w.io == ioFile && srv.data == nil {
				countStatus(400)
				write(net.Buffers{appendError(out[:0], 400, "io=file needs the server started with --data-file PATH")})
				return
			}
			var failure error
			status := 0
			switch w.io {
			case ioTimer:
				if w.waitUS > 0 {
					time.Sleep(time.Duration(w.waitUS) * time.Microsecond)
				}
			case ioNet:
				if be == nil {
					be = &backend{}
				}
				if failure = be.exchange(srv.upstream, w.waitUS, srv.upstreamTimeout); failure != nil {
					status = 502
					count(ctrStatus502)
					count(ctrUpstreamErrors)
				}
			case ioFile:
				n := int(w.fileKiB) * 1024
				if len(fileBuf) < n {
					fileBuf = alignedBuf(n)
				}
				if r == nil {
					r = newRng(id)
				}
				if failure = srv.data.read(fileBuf[:n], r); failure != nil {
					status = 500
					count(ctrFileErrors)
				}
			}
			var shared uint64
			if failure == nil && w.state == stateShared {
				if shared = sharedServe(&w); shared == 0 {
					failure, status = errors.New(sharedFullReason), 503
					count(ctrStatus503)
				}
			}
			if failure != nil {
				if !write(net.Buffers{appendFailure(out[:0], status, failure.Error(), req.keepAlive, req.minor)}) {
					return
				}
			} else {
				spin(w.workUS)
				out = appendHeadOK(out[:0], int(w.bytes), req.keepAlive, req.minor, shared)
				count(ctrRequests)
				bufs := net.Buffers{out}
				if !req.headOnly && w.bytes > 0 {
					bufs = append(bufs, body[:w.bytes])
				}
				if !write(bufs) {
					return
				}
			}
			if !req.keepAlive {
				return
			}
			setDeadline() // the next request's time starts now
		}
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			} else {
				// parseHead already answered 431 at headBufMax.
				grown := make([]byte, min(2*len(buf), headBufMax))
				copy(grown, buf[:end])
				buf = grown
			}
		}
		n, err := c.Read(buf[end:])
		end += n
		if err != nil {
			gone(err, start < end)
			return
		}
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// threadCPUNs is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPUNs() int64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

var spinSink uint64

// spin burns workUS of CPU time of the thread running the goroutine. The
// goroutine is locked to its thread meanwhile, so that the scheduler cannot
// move it and make another thread's clock count the work.
func spin(workUS uint32) {
	if workUS == 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	until := threadCPUNs() + int64(workUS)*1000
	sink := uint64(0)
	for threadCPUNs() < until {
		for i := uint64(0); i < 256; i++ {
			sink += i
		}
	}
	spinSink += sink // keeps the loop from being optimized away (racy, and it does not matter)
}
