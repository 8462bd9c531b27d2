// conn.go: one goroutine per connection: read, frame, wait, spin, answer, in order.
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
	reg             *registry // the live connections, for the stop
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

// reqEnd is how one request ended, for the serving loop and the stop's counts.
type reqEnd int

const (
	reqKeep   reqEnd = iota // answered; the connection is kept
	reqDone                 // answered; the connection closes
	reqFailed               // not answered: the write failed (counted)
	reqCut                  // not answered: the stop's grace ran out
)

// conn is one connection's goroutine state.
type conn struct {
	c       *net.TCPConn
	e       *connEntry
	srv     *server
	id      uint64
	out     []byte
	be      *backend    // at the first io=net request
	fileBuf []byte      // at the first io=file request
	r       *rng        // at the first io=file request
	timer   *time.Timer // at the first timed wait; reused
}

// ended counts how a read ended the connection; mid: part of a request is in.
func (k *conn) ended(err error, mid bool) {
	if stopPhase() != phaseRunning {
		stopClosed(mid) // the stop's deadline woke the read
		return
	}
	if isTimeout(err) {
		count(ctrIdleTimeouts)
	}
	if mid {
		count(ctrAborted)
	} else if err != io.EOF && !isTimeout(err) && !errors.Is(err, syscall.ECONNRESET) {
		count(ctrIOErrors) // a reset between requests is a close
	}
}

// write writes bufs with one writev, as the C servers do; false: it failed
// (counted unless the cut made it fail).
func (k *conn) write(bufs net.Buffers) bool {
	if k.srv.idle > 0 {
		k.c.SetWriteDeadline(time.Now().Add(k.srv.idle))
	}
	if _, err := bufs.WriteTo(k.c); err != nil {
		if stopPhase() == phaseCut {
			return false
		}
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			count(ctrAborted)
		} else {
			count(ctrIOErrors)
		}
		return false
	}
	return true
}

// sleep waits d on the connection's timer, or until the cut.
func (k *conn) sleep(d time.Duration) {
	if k.timer == nil {
		k.timer = time.NewTimer(d)
	} else {
		k.timer.Reset(d)
	}
	select {
	case <-k.timer.C:
	case <-cutCh:
		if !k.timer.Stop() {
			<-k.timer.C
		}
	}
}

// request serves one complete request: its wait, the shared table's update,
// the work and the answer; at a stop with Connection: close.
func (k *conn) request(req *request) reqEnd {
	w := req.work
	srv := k.srv
	if w.io == ioNet && srv.upstream == nil {
		countStatus(400)
		k.write(net.Buffers{appendError(k.out[:0], 400, "io=net needs the server started with --upstream HOST:PORT")})
		return reqDone
	}
	if w.io == ioFile && srv.data == nil {
		countStatus(400)
		k.write(net.Buffers{appendError(k.out[:0], 400, "io=file needs the server started with --data-file PATH")})
		return reqDone
	}
	var failure error
	status := 0
	switch w.io {
	case ioTimer:
		if w.waitUS > 0 {
			k.sleep(time.Duration(w.waitUS) * time.Microsecond)
		}
	case ioNet:
		if k.be == nil {
			k.be = &backend{watch: k.e.setBackend}
		}
		if failure = k.be.exchange(srv.upstream, w.waitUS, srv.upstreamTimeout); failure != nil {
			status = 502
		}
	case ioFile:
		n := int(w.fileKiB) * 1024
		if len(k.fileBuf) < n {
			k.fileBuf = alignedBuf(n)
		}
		if k.r == nil {
			k.r = newRng(k.id)
		}
		if failure = srv.data.read(k.fileBuf[:n], k.r); failure != nil {
			status = 500
		}
	}
	if stopPhase() == phaseCut {
		return reqCut // cut short at the end of the grace: not answered
	}
	var shared uint64
	if failure == nil && w.state == stateShared {
		if shared = sharedServe(&w); shared == 0 {
			failure, status = errors.New(sharedFullReason), 503
		}
	}
	keep := req.keepAlive && stopPhase() == phaseRunning
	var bufs net.Buffers
	switch status {
	case 0:
		spin(w.workUS)
		k.out = appendHeadOK(k.out[:0], int(w.bytes), keep, req.minor, shared)
		count(ctrRequests)
		bufs = net.Buffers{k.out}
		if !req.headOnly && w.bytes > 0 {
			bufs = append(bufs, body[:w.bytes])
		}
	case 502:
		count(ctrStatus502)
		count(ctrUpstreamErrors)
	case 503:
		count(ctrStatus503)
	default:
		count(ctrFileErrors)
	}
	if failure != nil {
		bufs = net.Buffers{appendFailure(k.out[:0], status, failure.Error(), keep, req.minor)}
	}
	if !k.write(bufs) {
		if stopPhase() == phaseCut {
			return reqCut
		}
		return reqFailed
	}
	if keep {
		return reqKeep
	}
	return reqDone
}

// serve runs one connection until the peer closes, an error answer, an idle
// timeout, a `Connection: close` request, or the stop. Pipelined requests
// wait in the buffer until the one before them is answered. Go multiplexes
// these goroutines over its own threads and netpoller: thread-style code on
// an event loop.
func serve(c *net.TCPConn, srv *server, id uint64) {
	e := &connEntry{c: c}
	if !srv.reg.join(e) { // accepted, but the stop came first
		c.Close()
		stopClosed(false)
		count(ctrClosed)
		return
	}
	defer func() {
		c.Close()
		count(ctrClosed)
		srv.reg.leave(e) // after the close: the stop's wait ends with the FIN sent
	}()
	k := &conn{c: c, e: e, srv: srv, id: id, out: make([]byte, 0, 256)}
	buf := make([]byte, readBuf)
	start, end := 0, 0
	// The whole request must arrive within the idle timeout, as in the C
	// thread server: one read deadline per request, set before its first read.
	armed := false
	for {
		for start < end {
			p := parseHead(buf[start:end], srv.defaults)
			if p.status == 0 {
				break
			}
			if p.status != 200 {
				countStatus(p.status)
				k.write(net.Buffers{appendError(k.out[:0], p.status, p.why)})
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
						k.ended(err, true)
						return
					}
					start, end = 0, n
				}
			}
			r := k.request(&req)
			if stopPhase() != phaseRunning {
				stopEnded(r) // then close: what follows it is not read
				return
			}
			if r != reqKeep {
				return
			}
			armed = false // the next request's time starts now
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
		if !armed {
			if !e.armRead(srv.idle) {
				stopClosed(start < end)
				return
			}
			armed = true
		}
		n, err := c.Read(buf[end:])
		end += n
		if err != nil {
			k.ended(err, start < end)
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
