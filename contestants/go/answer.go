// answer.go: the answers the server writes, the same as common/response.c: the
// head of a 200, a whole error answer (4xx, closing) and a whole failure answer
// (502, 500: the connection kept), with a cached Date header.
package main

import (
	"strconv"
	"sync/atomic"
	"time"
)

// dateCache holds the Date header's text and the second it shows, formatted
// once a second and swapped atomically, since goroutines share it.
type dateCache struct {
	sec  int64
	text []byte
}

var date atomic.Value // *dateCache

func dateText() []byte {
	now := time.Now()
	if d, _ := date.Load().(*dateCache); d != nil && d.sec == now.Unix() {
		return d.text
	}
	d := &dateCache{sec: now.Unix(), text: []byte(now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))}
	date.Store(d)
	return d.text
}

const serverHeader = "Server: tvt-go\r\n"

// appendHeadOK appends the head of a 200 (status line to blank line); shared >
// 0: a state=shared request's count of its key after the update, as an
// `X-Shared-Count: N` header.
func appendHeadOK(out []byte, bodyLen int, keepAlive bool, minor int, shared uint64) []byte {
	out = append(out, "HTTP/1.1 200 OK\r\n"+serverHeader+"Date: "...)
	out = append(out, dateText()...)
	out = append(out, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(bodyLen), 10)
	out = append(out, "\r\n"...)
	if shared > 0 {
		out = append(out, "X-Shared-Count: "...)
		out = strconv.AppendUint(out, shared, 10)
		out = append(out, "\r\n"...)
	}
	// HTTP/1.0 clients keep the connection only when told so.
	if !keepAlive {
		out = append(out, "Connection: close\r\n"...)
	} else if minor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

func reason(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Unknown"
}

// appendFailure appends a whole answer for a request that was well formed but
// could not be served (502 the backend failed, 500 the file read failed, 503
// the shared table is full): the reason as a text body, the connection kept
// unless the request asked to close.
func appendFailure(out []byte, status int, why string, keepAlive bool, minor int) []byte {
	if len(why) > 200 {
		why = why[:200]
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, reason(status)...)
	out = append(out, "\r\n"+serverHeader+"Date: "...)
	out = append(out, dateText()...)
	out = append(out, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(why)+1), 10)
	out = append(out, "\r\n"...)
	if !keepAlive {
		out = append(out, "Connection: close\r\n"...)
	} else if minor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	out = append(out, why...)
	return append(out, '\n')
}

// appendError appends a whole error answer (the reason as a text body,
// Connection: close).
func appendError(out []byte, status int, why string) []byte {
	return appendFailure(out, status, why, false, 1)
}
