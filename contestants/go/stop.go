// stop.go: the graceful stop at SIGTERM/SIGINT, by hand since net/http is not
// used. The listener is closed at once (new connects are refused); every
// connection goroutine is reached through a registry: a read deadline in the
// past wakes one waiting for a request, which closes its connection; one with
// a request in flight answers it with `Connection: close`; past --grace-ms a
// channel closed and deadlines in the past (the backend's too) cut the rest.
package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	phaseRunning  = iota
	phaseStopping // the signal came: answer what is in flight, close the rest
	phaseCut      // the grace is over: what is still in flight is cut
)

// cutDrain: after the cut, how long connections get to end before the counters
// are printed; those still busy (burning work_us, reading the data file) are
// counted in unfinished_at_exit and end with the process.
const cutDrain = time.Second

var (
	phase int32                               // phaseRunning, phaseStopping, phaseCut
	cutCh chan struct{} = make(chan struct{}) // closed at the cut: wakes a wait
	past                = time.Unix(1, 0)     // a deadline that has passed
)

func stopPhase() int32 { return atomic.LoadInt32(&phase) }

// connEntry is one live connection as the stop reaches it.
type connEntry struct {
	c       *net.TCPConn
	mu      sync.Mutex // orders the goroutine's deadlines against the stop's
	stopped bool       // the stop has begun: no read of a new request
	back    net.Conn   // the io=net backend connection, while one is open
}

// armRead sets the read deadline of a new request (d > 0: the idle timeout);
// false once the stop has begun, whose deadline in the past then stays.
func (e *connEntry) armRead(d time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return false
	}
	if d > 0 {
		e.c.SetReadDeadline(time.Now().Add(d))
	}
	return true
}

// setBackend records the backend connection (nil: dropped), for the cut.
func (e *connEntry) setBackend(c net.Conn) {
	e.mu.Lock()
	e.back = c
	e.mu.Unlock()
}

// registry holds every live connection, locked when one starts and ends.
type registry struct {
	mu     sync.Mutex
	live   map[*connEntry]struct{}
	closed bool          // stopping: no new connection joins
	empty  chan struct{} // closed once stopping with no connection left
}

func newRegistry() *registry {
	return &registry{live: make(map[*connEntry]struct{}), empty: make(chan struct{})}
}

// join is false when the stop came first (the caller closes c).
func (r *registry) join(e *connEntry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.live[e] = struct{}{}
	return true
}

func (r *registry) leave(e *connEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, e)
	if r.closed && len(r.live) == 0 {
		close(r.empty)
	}
}

// stopReading is the start of the stop: no connection joins any more, and a
// read deadline in the past wakes every goroutine waiting for a request.
func (r *registry) stopReading() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for e := range r.live {
		e.mu.Lock()
		e.stopped = true
		e.c.SetReadDeadline(past)
		e.mu.Unlock()
	}
	if len(r.live) == 0 {
		close(r.empty)
	}
}

// cut is the end of the grace: deadlines in the past fail a blocked write of
// an answer and a backend exchange, and cutCh ends a timer's wait.
func (r *registry) cut() {
	atomic.StoreInt32(&phase, phaseCut)
	close(cutCh)
	r.mu.Lock()
	defer r.mu.Unlock()
	for e := range r.live {
		e.mu.Lock()
		e.c.SetDeadline(past)
		if e.back != nil {
			e.back.SetDeadline(past)
		}
		e.mu.Unlock()
	}
}

// wait returns how many connections are live once they have all left or d
// has passed.
func (r *registry) wait(d time.Duration) int {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.empty:
	case <-t.C:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// gracefulStop runs from the signal to the counters: returns once every
// connection has ended, or the grace and the cut's drain are over.
func gracefulStop(l *net.TCPListener, reg *registry, grace time.Duration) {
	tSig := time.Now()
	atomic.StoreInt32(&phase, phaseStopping)
	l.Close()
	reg.stopReading()
	if reg.wait(grace) > 0 {
		reg.cut()
		if left := reg.wait(cutDrain); left > 0 {
			atomic.AddUint64(&counters[ctrUnfinishedAtExit], uint64(left))
		}
	}
	atomic.StoreUint64(&counters[ctrStopMS], uint64(time.Since(tSig).Milliseconds()))
}

// stopEnded counts a request that ended during the stop: it was in flight at
// the signal, and was answered or cut (or neither: the client went away).
func stopEnded(e reqEnd) {
	count(ctrStopInflight)
	switch e {
	case reqKeep, reqDone:
		count(ctrStopAnswered)
	case reqCut:
		count(ctrStopCut)
	}
}

// stopClosed counts a connection the stop found waiting for a request; mid:
// holding part of one.
func stopClosed(mid bool) {
	if mid {
		count(ctrStopPartial)
	} else {
		count(ctrStopIdle)
	}
}
