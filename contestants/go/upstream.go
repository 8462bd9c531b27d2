// upstream.go: io=net in Go: one keep-alive backend connection per front
// connection, a net.Conn with deadlines, opened at its first io=net request.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// answerMax bounds a backend answer read: its head plus a body up to bytesMax.
const answerMax = bytesMax + 16*1024

type upstream struct {
	addr string // resolved ip:port to dial
	host string // HOST:PORT as given, for the Host header
}

// parseUpstream resolves HOST:PORT now; loopback only unless allowRemote.
func parseUpstream(v string, allowRemote bool) (*upstream, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return nil, fmt.Errorf("--upstream: '%s' is not HOST:PORT (for example 127.0.0.1:8081)", v)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("--upstream: '%s' needs a port from 1 to 65535", v)
	}
	a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("--upstream: cannot resolve '%s': %v", host, err)
	}
	if !allowRemote && !a.IP.IsLoopback() {
		return nil, fmt.Errorf("--upstream %s is %s, not a loopback address: the suite's load "+
			"stays on this machine (add --allow-remote to use another host)", v, a.IP)
	}
	return &upstream{addr: a.String(), host: v}, nil
}

// backend is a front connection's backend side; any failure drops it, so the
// next request reconnects.
type backend struct {
	c      net.Conn
	reused bool // it has carried a whole answer before
	buf    []byte
	watch  func(net.Conn) // told of each connection opened, nil when dropped (the stop's cut)
}

func (b *backend) drop() {
	if b.c != nil {
		b.c.Close()
		b.watch(nil)
	}
	b.c, b.reused, b.buf = nil, false, nil
}

// staleError: a reused connection ended before any byte of the answer (the
// backend closed it while idle): worth one retry.
type staleError struct{ err error }

func (e staleError) Error() string { return e.err.Error() }

// exchange sends the request for waitUS and reads the whole answer within
// limit; the error says why, for the 502's body.
func (b *backend) exchange(up *upstream, waitUS uint32, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	err := b.once(up, waitUS, deadline, limit)
	var stale staleError
	if errors.As(err, &stale) {
		b.drop()
		err = b.once(up, waitUS, deadline, limit)
	}
	if err != nil {
		b.drop()
	}
	return err
}

func (b *backend) once(up *upstream, waitUS uint32, deadline time.Time, limit time.Duration) error {
	// tooSlow names the deadline when raw (a net error) was a timeout, else gives err.
	tooSlow := func(raw, err error) error {
		var ne net.Error
		if errors.As(raw, &ne) && ne.Timeout() {
			return fmt.Errorf("backend %s gave no whole answer within %d ms (--upstream-timeout-ms)",
				up.host, limit.Milliseconds())
		}
		return err
	}
	if b.c == nil {
		c, err := net.DialTimeout("tcp", up.addr, time.Until(deadline))
		if err != nil {
			return tooSlow(err, fmt.Errorf("cannot connect to backend %s: %v", up.host, err))
		}
		c.(*net.TCPConn).SetNoDelay(true)
		b.c, b.reused = c, false
		b.watch(c)
	}
	reused := b.reused
	b.c.SetDeadline(deadline)
	req := "GET /?wait_us=" + strconv.FormatUint(uint64(waitUS), 10) +
		"&work_us=0&bytes=0 HTTP/1.1\r\nHost: " + up.host + "\r\n\r\n"
	if _, err := io.WriteString(b.c, req); err != nil {
		err = tooSlow(err, fmt.Errorf("cannot send to backend %s: %v", up.host, err))
		if reused {
			return staleError{err}
		}
		return err
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, 512)
	}
	b.buf = b.buf[:0]
	for {
		n, status, closing, why := parseAnswer(b.buf)
		if why != "" {
			return errors.New(why)
		}
		if n > 0 {
			if status < 200 || status > 299 {
				return fmt.Errorf("backend answered %d", status)
			}
			if closing || n != len(b.buf) {
				b.drop() // closing, or bytes nobody asked for: not reusable
			} else {
				b.reused = true
			}
			return nil
		}
		if cap(b.buf)-len(b.buf) < 4096 {
			grown := make([]byte, len(b.buf), 2*cap(b.buf)+4096)
			copy(grown, b.buf)
			b.buf = grown
		}
		at := len(b.buf)
		m, err := b.c.Read(b.buf[at:cap(b.buf)])
		b.buf = b.buf[:at+m]
		if err != nil && m == 0 {
			if err == io.EOF {
				err = fmt.Errorf("backend %s closed the connection", up.host)
			} else {
				err = tooSlow(err, fmt.Errorf("backend %s: %v", up.host, err))
			}
			if reused && at == 0 {
				return staleError{err}
			}
			return err
		}
	}
}

// parseAnswer frames the first answer in buf: its length (0: not all of it
// yet), status and whether the backend closes; why != "": malformed.
func parseAnswer(buf []byte) (n, status int, closing bool, why string) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) >= 16*1024 {
			return 0, 0, false, "backend answer head larger than 16 KiB"
		}
		return 0, 0, false, ""
	}
	lines := strings.Split(string(buf[:end]), "\r\n")
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || len(f[1]) != 3 {
		return 0, 0, false, "malformed backend answer: status line '" + clip([]byte(lines[0]), 64) + "'"
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false, "malformed backend answer: status '" + f[1] + "'"
	}
	closing = f[0] == "HTTP/1.0"
	length := -1
	for _, l := range lines[1:] {
		colon := strings.IndexByte(l, ':')
		if colon <= 0 {
			return 0, 0, false, "malformed backend answer: header line"
		}
		name, value := l[:colon], strings.TrimSpace(l[colon+1:])
		switch {
		case strings.EqualFold(name, "content-length"):
			v, err := strconv.ParseUint(value, 10, 32)
			if err != nil || value[0] == '+' {
				return 0, 0, false, "malformed Content-Length from the backend"
			}
			length = int(v)
		case strings.EqualFold(name, "transfer-encoding"):
			return 0, 0, false, "chunked backend answers are not read"
		case strings.EqualFold(name, "connection"):
			for _, t := range strings.Split(value, ",") {
				closing = closing || strings.EqualFold(strings.TrimSpace(t), "close")
			}
		}
	}
	if length < 0 {
		return 0, 0, false, "backend answer without Content-Length"
	}
	total := end + 4 + length
	if total > answerMax {
		return 0, 0, false, fmt.Sprintf("backend answer of %d bytes is too large", total)
	}
	if len(buf) < total {
		return 0, 0, false, ""
	}
	return total, status, closing, ""
}
