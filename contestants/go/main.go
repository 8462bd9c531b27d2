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
	ctrStatus505
	ctrAborted
	ctrIOErrors
	ctrAcceptErrors
	ctrAcceptEmfile
	ctrCount
)

// counterNames are the keys of common/counters.c.
var counterNames = [ctrCount]string{
	"accepted", "closed", "requests", "status_400", "status_404", "status_405", "status_413",
	"status_414", "status_431", "status_505", "aborted", "io_errors", "accept_errors",
	"accept_emfile",
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
		s += fmt.Sprintf(`,"%s":%d`, name, atomic.LoadUint64(&counters[i]))
	}
	return s + "}"
}

const usageText = `usage: go_server [options]
HTTP/1.1 keep-alive server of the tasks-vs-threads suite, in Go (a contestant):
one goroutine per connection on raw net, standard library only.
GET /?wait_us=N&work_us=N&bytes=N waits wait_us (time.Sleep), burns work_us of the
thread's CPU time, then answers 200 with a body of ` + "`bytes`" + ` bytes; the flags set
the defaults.

  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port; 0 lets the kernel pick (default 0)
  --wait-us N            default wait per request, 0..60000000 (default 0)
  --work-us N            default CPU per request, 0..10000000 (default 0)
  --bytes N              default body length, 0..1048576 (default 64)
  --backlog N            listen backlog (default 4096; capped by somaxconn)
  -h, --help             this text

GOMAXPROCS (default: the CPUs this process may run on) sets the threads that run
goroutines. Prints ` + "`listening on HOST:PORT`" + ` on stdout when ready. On SIGTERM or
SIGINT prints one JSON line of counters on stderr and exits 0.
`

type opts struct {
	host     string
	port     uint64
	defaults workload
	backlog  uint64
}

func usageError(msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
	os.Exit(2)
}

func parseArgs() opts {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(new(nullWriter))
	var o opts
	var wait, work, bytes uint64
	fs.StringVar(&o.host, "host", "127.0.0.1", "")
	fs.Uint64Var(&o.port, "port", 0, "")
	fs.Uint64Var(&wait, "wait-us", 0, "")
	fs.Uint64Var(&work, "work-us", 0, "")
	fs.Uint64Var(&bytes, "bytes", 64, "")
	fs.Uint64Var(&o.backlog, "backlog", 4096, "")
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
	check := func(flag string, v, max uint64) uint32 {
		if v > max {
			usageError(fmt.Sprintf("--%s: '%d' is not an integer from 0 to %d", flag, v, max))
		}
		return uint32(v)
	}
	check("port", o.port, 65535)
	check("backlog", o.backlog, 1<<31-1)
	o.defaults = workload{
		waitUS: check("wait-us", wait, waitUSMax),
		workUS: check("work-us", work, workUSMax),
		bytes:  check("bytes", bytes, bytesMax),
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

func acceptLoop(l *net.TCPListener, defaults workload) {
	for {
		c, err := l.AcceptTCP()
		if err == nil {
			count(ctrAccepted)
			go serve(c, defaults)
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
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	l, err := listen(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	go acceptLoop(l, o.defaults)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "listening on %s:%d\n", o.host, l.Addr().(*net.TCPAddr).Port)
	out.Flush()
	<-stop
	fmt.Fprintln(os.Stderr, countersJSON())
	os.Exit(0)
}
