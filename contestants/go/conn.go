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

// serve runs one connection until the peer closes, an error answer, or a
// `Connection: close` request. Pipelined requests wait in the buffer until
// the one before them is answered. Go multiplexes these goroutines over its
// own threads and netpoller: thread-style code on an event loop.
func serve(c *net.TCPConn, defaults workload) {
	defer func() {
		c.Close()
		count(ctrClosed)
	}()
	buf := make([]byte, readBuf)
	start, end := 0, 0
	out := make([]byte, 0, 256)
	for {
		for start < end {
			p := parseHead(buf[start:end], defaults)
			if p.status == 0 {
				break
			}
			if p.status != 200 {
				countStatus(p.status)
				c.Write(appendError(out[:0], p.status, p.why))
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
					n, _ := c.Read(buf)
					if n == 0 {
						count(ctrAborted)
						return
					}
					start, end = 0, n
				}
			}
			w := req.work
			if w.waitUS > 0 {
				time.Sleep(time.Duration(w.waitUS) * time.Microsecond)
			}
			spin(w.workUS)
			out = appendHeadOK(out[:0], int(w.bytes), req.keepAlive, req.minor)
			count(ctrRequests)
			var err error
			if req.headOnly || w.bytes == 0 {
				_, err = c.Write(out)
			} else {
				bufs := net.Buffers{out, body[:w.bytes]} // one writev, as the C servers
				_, err = bufs.WriteTo(c)
			}
			if err != nil {
				if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
					count(ctrAborted)
				} else {
					count(ctrIOErrors)
				}
				return
			}
			if !req.keepAlive {
				return
			}
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
			if start < end {
				count(ctrAborted)
			} else if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				count(ctrIOErrors) // a reset between requests is a close
			}
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
