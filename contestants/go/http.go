// http.go: request framing, the same rules as common/framing.c, parsed by hand
// (the standard library's net/http would bring its own connection handling,
// which is not what is measured); the answers are in answer.go.
package main

import (
	"bytes"
	"strconv"
	"strings"
)

const (
	urlMax        = 2048      // longer request-target: 414
	headFieldsMax = 8192      // header names + values: 431 past it
	bodyMax       = 65536     // a GET needs no body; a larger one: 413
	headBufMax    = 32 * 1024 // bytes of a head buffered before giving up on it
	waitUSMax     = 60000000
	workUSMax     = 10000000
	bytesMax      = 1 << 20
	fileKiBMin    = 4
	fileKiBMax    = 1024
	fileKiBRule   = "a multiple of 4 from 4 to 1024"
	shareUSMax    = 1000000 // 1 s of CPU inside one update of the shared table
	keyMax        = 32      // key=: 1..32 characters of [A-Za-z0-9_.-]
	keyRule       = "1 to 32 characters of A-Z a-z 0-9 _ . -"
)

// What a request does to the state every connection of the process shares.
const (
	stateNone   = iota // nothing
	stateShared        // one update of the process's shared table (shared.go) under key
)

func parseState(s string) (int, bool) {
	switch s {
	case "none":
		return stateNone, true
	case "shared":
		return stateShared, true
	}
	return 0, false
}

// keyOK: 1..keyMax characters of [A-Za-z0-9_.-].
func keyOK(k []byte) bool {
	if len(k) == 0 || len(k) > keyMax {
		return false
	}
	for _, c := range k {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// What a request waits on.
const (
	ioTimer = iota // waitUS of time.Sleep
	ioNet          // a request to the --upstream backend, which answers after waitUS
	ioFile         // fileKiB read with O_DIRECT at a random aligned offset of --data-file
)

var ioNames = []string{"timer", "net", "file"}

func parseIO(s string) (int, bool) {
	for i, n := range ioNames {
		if s == n {
			return i, true
		}
	}
	return 0, false
}

func fileKiBOK(v uint64) bool {
	return v >= fileKiBMin && v <= fileKiBMax && v%4 == 0
}

type workload struct {
	waitUS  uint32 // the wait: a timer, or the backend's (io=net)
	workUS  uint32 // CPU time the serving thread burns
	bytes   uint32 // body length of the answer
	io      int    // ioTimer, ioNet, ioFile
	fileKiB uint32 // io=file: KiB per read
	state   int    // stateNone, stateShared
	shareUS uint32 // state=shared: CPU spent inside the update
	key     string // state=shared: the table's key
}

type request struct {
	work      workload // the server's defaults with the query applied
	keepAlive bool
	headOnly  bool // HEAD: Content-Length but no body
	minor     int  // 0 for HTTP/1.0: keep-alive must be announced
	bodyLen   int  // Content-Length: bytes to read and drop
}

// parseResult: more (no complete head yet), ok (a head of headLen bytes), or
// an error status to answer before closing.
type parseResult struct {
	status  int // 0: more input needed; 200: a request; else the error status
	headLen int
	why     string
	req     request
}

func fail(status int, why string) parseResult {
	return parseResult{status: status, why: why}
}

func isToken(c byte) bool {
	return c > 0x20 && c < 0x7f && strings.IndexByte("()<>@,;:\\\"/[]?={}", c) < 0
}

func trimOWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}

// nextLine returns the line at buf[pos:] without its CRLF (or bare LF), and
// the position after it; ok false when the line is not complete yet.
func nextLine(buf []byte, pos int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(buf[pos:], '\n')
	if i < 0 {
		return nil, 0, false
	}
	line = buf[pos : pos+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, pos + i + 1, true
}

// parseHead parses the first request head in buf. Only the first: pipelined
// requests are parsed again after the one before them is answered.
func parseHead(buf []byte, defaults workload) parseResult {
	if len(buf) >= headBufMax {
		return fail(431, "request head larger than 32 KiB")
	}
	line, pos, ok := nextLine(buf, 0)
	if !ok {
		sp := bytes.IndexByte(buf, ' ')
		if sp >= 0 && len(buf)-sp-1 > urlMax {
			return fail(414, "request-target longer than 2048 bytes")
		}
		if sp < 0 && len(buf) > 32 {
			return fail(400, "malformed request: method too long")
		}
		return parseResult{}
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return fail(400, "malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 {
		if len(rest) > urlMax {
			return fail(414, "request-target longer than 2048 bytes")
		}
		return fail(400, "malformed request line")
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	if len(target) == 0 {
		return fail(400, "malformed request line")
	}
	if len(target) > urlMax {
		return fail(414, "request-target longer than 2048 bytes")
	}
	for _, c := range method {
		if !isToken(c) {
			return fail(400, "malformed method")
		}
	}
	var minor int
	switch string(version) {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
		minor = 0
	default:
		if len(version) == 8 && bytes.HasPrefix(version, []byte("HTTP/")) && version[6] == '.' {
			return fail(505, "only HTTP/1.0 and HTTP/1.1 are served")
		}
		return fail(400, "malformed HTTP version")
	}

	fields := 0
	closeTok, keepTok, chunked := false, false, false
	bodyLen := 0
	for {
		hl, next, ok := nextLine(buf, pos)
		if !ok {
			// Count the incomplete line too, so a huge header fails early.
			if fields+len(buf)-pos > headFieldsMax {
				return fail(431, "request header fields larger than 8 KiB")
			}
			return parseResult{}
		}
		pos = next
		if len(hl) == 0 {
			break
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return fail(400, "malformed header line")
		}
		name, value := hl[:colon], trimOWS(hl[colon+1:])
		for _, c := range name {
			if !isToken(c) {
				return fail(400, "malformed header name")
			}
		}
		fields += len(name) + len(value)
		if fields > headFieldsMax {
			return fail(431, "request header fields larger than 8 KiB")
		}
		switch {
		case bytes.EqualFold(name, []byte("connection")):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = trimOWS(tok)
				closeTok = closeTok || bytes.EqualFold(tok, []byte("close"))
				keepTok = keepTok || bytes.EqualFold(tok, []byte("keep-alive"))
			}
		case bytes.EqualFold(name, []byte("content-length")):
			n, err := strconv.ParseUint(string(value), 10, 64)
			if err != nil || len(value) == 0 || value[0] == '+' {
				return fail(400, "malformed Content-Length")
			}
			if n > bodyMax {
				return fail(413, "request body larger than 64 KiB")
			}
			bodyLen = int(n)
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = true
		}
	}
	if string(method) != "GET" && string(method) != "HEAD" {
		return fail(405, "only GET and HEAD are served")
	}
	if chunked {
		// The C servers skip chunked bodies through libhttp-parser; no
		// benchmark client sends one with a GET, so this server refuses it.
		return fail(400, "chunked request bodies are not served")
	}
	work := defaults
	if status, why := parseTarget(target, &work); status != 0 {
		return fail(status, why)
	}
	keep := !closeTok
	if minor == 0 {
		keep = keepTok && !closeTok
	}
	return parseResult{status: 200, headLen: pos, req: request{
		work: work, keepAlive: keep, headOnly: string(method) == "HEAD", minor: minor,
		bodyLen: bodyLen,
	}}
}

// parseTarget resolves the target: path "/" only, the query over w.
func parseTarget(target []byte, w *workload) (int, string) {
	if i := bytes.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	path, query, hasQuery := target, []byte(nil), false
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		path, query, hasQuery = target[:i], target[i+1:], true
	}
	switch {
	case len(path) > 0 && path[0] == '/':
	case hasPrefixFold(path, "http://") || hasPrefixFold(path, "https://"):
		// absolute-form, as a proxy-style client sends it
		rest := path[bytes.Index(path, []byte("//"))+2:]
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		} else {
			path = nil
		}
	default:
		return 400, "malformed request-target"
	}
	if len(path) > 0 && string(path) != "/" {
		return 404, "no such path: only / is served"
	}
	if hasQuery {
		if why := parseQuery(query, w); why != "" {
			return 400, why
		}
	}
	return 0, ""
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// parseQuery applies "wait_us=2000&bytes=64&state=shared&key=k07" over w; ""
// ok, else the reason.
// Unknown keys are errors so that a typo cannot silently run the default.
func parseQuery(q []byte, w *workload) string {
	next := *w
	for _, pair := range bytes.Split(q, []byte("&")) {
		if len(pair) == 0 {
			continue // "a=1&&b=2": tolerated
		}
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 {
			return "query parameter '" + clip(pair, 32) + "' has no value"
		}
		key, value := string(pair[:eq]), pair[eq+1:]
		var field *uint32
		var max uint64
		switch key {
		case "wait_us":
			field, max = &next.waitUS, waitUSMax
		case "work_us":
			field, max = &next.workUS, workUSMax
		case "bytes":
			field, max = &next.bytes, bytesMax
		case "share_us":
			field, max = &next.shareUS, shareUSMax
		case "state":
			k, ok := parseState(string(value))
			if !ok {
				return "state must be none or shared, not '" + clip(value, 16) + "'"
			}
			next.state = k
			continue
		case "key":
			if !keyOK(value) {
				return "key must be " + keyRule
			}
			next.key = string(value)
			continue
		case "io":
			k, ok := parseIO(string(value))
			if !ok {
				return "io must be timer, net or file, not '" + clip(value, 32) + "'"
			}
			next.io = k
			continue
		case "file_kib":
			v, ok := decimal(value, fileKiBMax)
			if !ok || !fileKiBOK(v) {
				return "file_kib must be " + fileKiBRule
			}
			next.fileKiB = uint32(v)
			continue
		default:
			return "unknown query parameter '" + clip(pair[:eq], 32) + "' (known: wait_us, work_us, bytes, io, file_kib, state, share_us, key)"
		}
		v, ok := decimal(value, max)
		if !ok {
			return key + " must be an integer from 0 to " + strconv.FormatUint(max, 10)
		}
		*field = uint32(v)
	}
	*w = next
	return ""
}

// decimal parses 1..10 digits into a value <= max.
func decimal(s []byte, max uint64) (uint64, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= max
}
