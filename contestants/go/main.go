// go_server: the suite's protocol with one goroutine per connection on raw
// net (M:N green threads: thread-style code on an event loop), standard
// library only. A contestant next to the two C designs; see ../README.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

const prog = "go_server"

const (
	ctrAccepted = iota
	ctrClosed
	ctrRequests
	ctrStatus400
	ctrStatus404
	ctrStatus405
	ctrStatus413
	ctrStatus414
	ctrStatus431
	ctrStatus502
	ctrStatus503
	ctrStatus505
	ctrAborted
	ctrIdleTimeouts
	ctrIOErrors
	ctrAcceptErrors
	ctrAcceptEmfile
	ctrThreadCreateFailed
	ctrOutOfMemory
	ctrUnfinishedAtExit
	ctrUpstreamErrors
	ctrFileErrors
	ctrSharedUpdates // state=shared (shared.go): updates made, counted outside the table
	ctrSharedCounted // the table's per-key counts summed at exit
	ctrSharedLost    // shared_updates - shared_counted
	ctrShareNS       // from wanting the table to done with it, summed
	ctrShareWaitNS   // of share_ns, the wait for the lock
	ctrLockContended // updates that found the lock taken
	ctrLockSwitches  // not measurable for goroutines: printed as null
	ctrSharedFull    // a new key with every slot taken: answered 503
	ctrStopInflight  // the graceful stop (stop.go): requests in flight at the signal
	ctrStopAnswered  // of them, answered
	ctrStopCut       // of them, cut at the end of --grace-ms
	ctrStopIdle      // idle keep-alive connections closed at the signal
	ctrStopPartial   // connections closed at the signal holding part of a request
	ctrStopMS        // from the signal to the last connection closed
	ctrCount
)

// counterNames are the keys of common/counters.c, every one, zero where a
// goroutine server cannot meet the event, so that all servers' lines read alike.
var counterNames = [ctrCount]string{
	"accepted", "closed", "requests", "status_400", "status_404", "status_405", "status_413",
	"status_414", "status_431", "status_502", "status_503", "status_505", "aborted",
	"idle_timeouts", "io_errors", "accept_errors", "accept_emfile", "thread_create_failed",
	"out_of_memory", "unfinished_at_exit", "upstream_errors", "file_errors",
	"shared_updates", "shared_counted", "shared_lost", "share_ns", "share_wait_ns",
	"lock_contended", "lock_switches", "shared_full", "stop_inflight", "stop_answered",
	"stop_cut", "stop_idle_closed", "stop_partial_closed", "stop_ms",
}

var counters [ctrCount]uint64

func count(k int) { atomic.AddUint64(&counters[k], 1) }

func countStatus(status int) {
	switch status {
	case 404:
		count(ctrStatus404)
	case 405:
		count(ctrStatus405)
	case 413:
		count(ctrStatus413)
	case 414:
		count(ctrStatus414)
	case 431:
		count(ctrStatus431)
	case 505:
		count(ctrStatus505)
	default:
		count(ctrStatus400)
	}
}

func countersJSON() string {
	s := `{"impl":"go"`
	for i, name := range counterNames {
		if i == ctrLockSwitches {
			s += `,"lock_switches":null` // a parked goroutine is no thread's switch
			continue
		}
		s += fmt.Sprintf(`,"%s":%d`, name, atomic.LoadUint64(&counters[i]))
	}
	return s + "}"
}

const usageText = `usage: go_server [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, in Go (a contestant):
one goroutine per connection on raw net, standard library only.
GET /?wait_us=N&work_us=N&bytes=N&io=KIND&file_kib=K waits (io=timer: a timer;
io=net: a net.Conn to the backend, with deadlines; io=file: os.File.ReadAt with
O_DIRECT, which blocks a thread: Go's poller cannot wait for a file), with
&state=shared&share_us=N&key=KEY updates the process's shared table (behind a
sync.Mutex), burns work_us of the thread's CPU time, then answers 200 with a
body of ` + "`bytes`" + ` bytes; the flags set the defaults.

  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port; 0 lets the kernel pick (default 0)
  --wait-us N            default wait per request, 0..60000000 (default 0)
  --work-us N            default CPU per request, 0..10000000 (default 0)
  --bytes N              default body length, 0..1048576 (default 64)
  --backlog N            listen backlog (default 4096; capped by somaxconn)
  --idle-timeout-ms N    close a connection that sends no whole request this
                         long; 0 never (default 60000)
  --io timer|net|file    default wait kind (query key io=; default timer):
                         net: GET /?wait_us=W&work_us=0&bytes=0 to --upstream on
                         one keep-alive backend connection per client connection;
                         file: file_kib KiB at a random 4 KiB-aligned offset of
                         --data-file (wait_us unused)
  --upstream HOST:PORT   the io=net backend (loopback only, unless --allow-remote)
  --allow-remote         allow an --upstream that is not a loopback address
  --upstream-timeout-ms N  connect + answer bound of a backend request; past it
                         502 (default 5000)
  --data-file PATH       the io=file data file: a regular file of at least
                         1024 KiB on a filesystem that supports O_DIRECT
  --file-kib K           default KiB per io=file read, a multiple of 4 from 4 to
                         1024 (default 4; query key file_kib=)
  --state none|shared    shared: each request updates the table every connection
                         of the process shares, under key=KEY (1..32 of A-Z a-z
                         0-9 _ . -; default -), and its answer says the key's
                         count (X-Shared-Count); a full table (1024 keys)
                         answers 503 (query key state=; default none)
  --share-us N           CPU spent inside each update, between reading the key's
                         count and writing it back, 0..1000000 (query key
                         share_us=; default 2)
  --grace-ms MS          at SIGTERM/SIGINT: how long requests in flight get to be
                         answered before they are cut, 0..600000 (default 5000)
  --workers N            GOMAXPROCS: the threads that run goroutines at once
                         (default: the CPUs this process may run on)
  -h, --help             this text

Prints ` + "`listening on HOST:PORT`" + ` on stdout when ready. On SIGTERM or
SIGINT it stops gracefully: it closes the listener at once, closes idle
connections, answers the requests in flight (with Connection: close) within
--grace-ms and cuts the rest, then prints one JSON line of counters on stderr
and exits 0. Exit 1: a runtime failure; 2: a usage error or a --data-file that
cannot be read with O_DIRECT.
`

type opts struct {
	host     string
	port     uint64
	defaults workload
	backlog  uint64
	srv      server
	workers  uint64
	grace    time.Duration
}

func usageError(msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
	os.Exit(2)
}

func parseArgs() opts {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(new(nullWriter))
	var o opts
	var wait, work, bytes, idle, upTimeout, fileKiB, shareUS, graceMS uint64
	var ioKind, upstreamArg, dataFile, state string
	var allowRemote bool
	fs.StringVar(&o.host, "host", "127.0.0.1", "")
	fs.Uint64Var(&o.port, "port", 0, "")
	fs.Uint64Var(&wait, "wait-us", 0, "")
	fs.Uint64Var(&work, "work-us", 0, "")
	fs.Uint64Var(&bytes, "bytes", 64, "")
	fs.Uint64Var(&o.backlog, "backlog", 4096, "")
	fs.Uint64Var(&idle, "idle-timeout-ms", 60000, "")
	fs.StringVar(&ioKind, "io", "timer", "")
	fs.StringVar(&upstreamArg, "upstream", "", "")
	fs.BoolVar(&allowRemote, "allow-remote", false, "")
	fs.Uint64Var(&upTimeout, "upstream-timeout-ms", 5000, "")
	fs.StringVar(&dataFile, "data-file", "", "")
	fs.Uint64Var(&fileKiB, "file-kib", 4, "")
	fs.Uint64Var(&o.workers, "workers", 0, "")
	fs.StringVar(&state, "state", "none", "")
	fs.Uint64Var(&shareUS, "share-us", 2, "")
	fs.Uint64Var(&graceMS, "grace-ms", 5000, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Print(usageText)
			os.Exit(0)
		}
		usageError(err.Error() + " (try --help)")
	}
	if *help {
		fmt.Print(usageText)
		os.Exit(0)
	}
	if fs.NArg() > 0 {
		usageError(fmt.Sprintf("unexpected argument '%s' (try --help)", fs.Arg(0)))
	}
	check := func(flag string, v, min, max uint64) uint32 {
		if v < min || v > max {
			usageError(fmt.Sprintf("--%s: '%d' is not an integer from %d to %d", flag, v, min, max))
		}
		return uint32(v)
	}
	check("port", o.port, 0, 65535)
	check("backlog", o.backlog, 0, 1<<20)
	if o.workers != 0 {
		check("workers", o.workers, 1, 1024)
	}
	kind, ok := parseIO(ioKind)
	if !ok {
		usageError(fmt.Sprintf("--io: '%s' is not timer, net or file", ioKind))
	}
	stateKind, ok := parseState(state)
	if !ok {
		usageError(fmt.Sprintf("--state: '%s' is neither none nor shared", state))
	}
	if !fileKiBOK(fileKiB) {
		usageError(fmt.Sprintf("--file-kib: '%d' is not %s", fileKiB, fileKiBRule))
	}
	o.defaults = workload{
		waitUS:  check("wait-us", wait, 0, waitUSMax),
		workUS:  check("work-us", work, 0, workUSMax),
		bytes:   check("bytes", bytes, 0, bytesMax),
		io:      kind,
		fileKiB: uint32(fileKiB),
		state:   stateKind,
		shareUS: check("share-us", shareUS, 0, shareUSMax),
		key:     "-",
	}
	o.grace = time.Duration(check("grace-ms", graceMS, 0, 600000)) * time.Millisecond
	o.srv = server{
		reg:             newRegistry(),
		defaults:        o.defaults,
		idle:            time.Duration(check("idle-timeout-ms", idle, 0, 24*3600*1000)) * time.Millisecond,
		upstreamTimeout: time.Duration(check("upstream-timeout-ms", upTimeout, 1, 3600000)) * time.Millisecond,
	}
	if upstreamArg != "" {
		up, err := parseUpstream(upstreamArg, allowRemote)
		if err != nil {
			usageError(err.Error())
		}
		o.srv.upstream = up
	}
	if kind == ioNet && o.srv.upstream == nil {
		usageError("--io net needs --upstream HOST:PORT (the backend to ask)")
	}
	if kind == ioFile && dataFile == "" {
		usageError("--io file needs --data-file PATH (the file to read)")
	}
	if dataFile != "" {
		d, err := openDataFile(dataFile)
		if err != nil {
			usageError(err.Error())
		}
		o.srv.data = d
	}
	return o
}

type nullWriter struct{}

func (*nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// listen binds with an explicit backlog (net.Listen takes somaxconn), through
// the raw socket calls, and hands the socket to net's poller.
func listen(o opts) (*net.TCPListener, error) {
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(o.host, strconv.FormatUint(o.port, 10)))
	if err != nil {
		return nil, fmt.Errorf("cannot resolve --host %s: %v", o.host, err)
	}
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if ip4 := addr.IP.To4(); ip4 != nil || addr.IP == nil {
		a := &syscall.SockaddrInet4{Port: addr.Port}
		copy(a.Addr[:], ip4)
		sa = a
	} else {
		family = syscall.AF_INET6
		a := &syscall.SockaddrInet6{Port: addr.Port}
		copy(a.Addr[:], addr.IP.To16())
		sa = a
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %v", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close() // net.FileListener dups the descriptor
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return nil, fmt.Errorf("setsockopt: %v", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		hint := ""
		if err == syscall.EADDRINUSE {
			hint = " (another process holds the port; pick another with --port, or 0)"
		} else if err == syscall.EADDRNOTAVAIL {
			hint = " (no local interface has that address; try 127.0.0.1)"
		}
		return nil, fmt.Errorf("cannot bind %s:%d: %v%s", o.host, o.port, err, hint)
	}
	if err := syscall.Listen(fd, int(o.backlog)); err != nil {
		return nil, fmt.Errorf("listen: %v", err)
	}
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listener: %v", err)
	}
	return l.(*net.TCPListener), nil
}

// acceptLoop accepts until the stop closes l.
func acceptLoop(l *net.TCPListener, srv *server) {
	for id := uint64(1); ; {
		c, err := l.AcceptTCP()
		if err != nil && stopPhase() != phaseRunning {
			return
		}
		if err == nil {
			count(ctrAccepted)
			go serve(c, srv, id)
			id++
			continue
		}
		var errno syscall.Errno
		if ne, ok := err.(*net.OpError); ok {
			if se, ok := ne.Err.(*os.SyscallError); ok {
				errno, _ = se.Err.(syscall.Errno)
			}
		}
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
			// Out of fds: pause rather than spin. Open connections go on.
			count(ctrAcceptEmfile)
			time.Sleep(100 * time.Millisecond)
		default:
			count(ctrAcceptErrors) // ECONNABORTED and friends: one client
		}
	}
}

func main() {
	o := parseArgs()
	if o.workers > 0 {
		runtime.GOMAXPROCS(int(o.workers))
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	l, err := listen(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	go acceptLoop(l, &o.srv)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "listening on %s:%d\n", o.host, l.Addr().(*net.TCPAddr).Port)
	out.Flush()
	<-stop
	gracefulStop(l, o.srv.reg, o.grace)
	sharedSettle()
	fmt.Fprintln(os.Stderr, countersJSON())
	os.Exit(0)
}
