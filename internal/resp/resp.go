// Package resp encodes Redis commands and reads Redis replies in RESP2, for
// the clients that talk to Redis without go-redis: the lean cb (its hook
// call is one write and two replies) and cb emit's pipeline. It imports the
// standard library only, so linking it keeps cb small.
package resp

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Limits on what a reply may announce.
const (
	// MaxBulk bounds one bulk string (the largest answer cbd sends is a
	// hook result carrying a rewritten input).
	MaxBulk = 512 << 20
	// MaxArray bounds the elements of one array.
	MaxArray = 1 << 20
)

// AppendArray appends the header of an array of n elements; the elements
// follow (AppendBulk for a command's arguments).
func AppendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends s as a bulk string.
func AppendBulk[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendInt appends n as a bulk string (Redis takes numbers as text).
func AppendInt(b []byte, n int64) []byte {
	var buf [20]byte
	return AppendBulk(b, strconv.AppendInt(buf[:0], n, 10))
}

// AppendCommand appends the command args (an array of bulk strings).
func AppendCommand(b []byte, args ...string) []byte {
	b = AppendArray(b, len(args))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}

// Error is an error reply ("-ERR ...", "-NOSCRIPT ...") without the "-".
type Error string

func (e Error) Error() string { return string(e) }

// ReadLine reads one CRLF-terminated line: its type byte and the text after
// it, valid until the next read from r.
func ReadLine(r *bufio.Reader) (kind byte, body []byte, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, nil, malformed(line)
	}
	return line[0], line[1 : len(line)-2], nil
}

func malformed(line []byte) error { return fmt.Errorf("resp: malformed reply %q", line) }

// length parses the length of a bulk string or an array: -1 (null) up to
// max.
func length(kind byte, body []byte, max int) (int, error) {
	n, err := strconv.Atoi(string(body))
	if err != nil || n < -1 || n > max {
		return 0, malformed(append([]byte{kind}, body...))
	}
	return n, nil
}

// Read reads one reply: a string (simple or bulk), an int64, a []any, nil
// (a null bulk string or array), or an Error as the error. Within an array
// an error reply is the element's value.
func Read(r *bufio.Reader) (any, error) {
	kind, body, err := ReadLine(r)
	if err != nil {
		return nil, err
	}
	switch kind {
	case '+':
		return string(body), nil
	case '-':
		return nil, Error(body)
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return nil, malformed(append([]byte{kind}, body...))
		}
		return n, nil
	case '$':
		n, err := length(kind, body, MaxBulk)
		if err != nil || n < 0 {
			return nil, err
		}
		// Read what is there rather than allocate the announced length up
		// front: a corrupt length costs no more than the bytes sent.
		b, err := io.ReadAll(io.LimitReader(r, int64(n)+2))
		if err != nil {
			return nil, err
		}
		if len(b) < n+2 {
			return nil, io.ErrUnexpectedEOF
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, malformed(b[n:])
		}
		return string(b[:n]), nil
	case '*':
		n, err := length(kind, body, MaxArray)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			v, err := Read(r)
			if e, ok := err.(Error); ok {
				v, err = e, nil
			}
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, malformed(append([]byte{kind}, body...))
}

// Skip reads one reply and drops it, without keeping its strings; an
// error reply is returned as an Error.
func Skip(r *bufio.Reader) error {
	kind, body, err := ReadLine(r)
	if err != nil {
		return err
	}
	switch kind {
	case '+':
		return nil
	case '-':
		return Error(body)
	case ':':
		if _, err := strconv.ParseInt(string(body), 10, 64); err != nil {
			return malformed(append([]byte{kind}, body...))
		}
		return nil
	case '$':
		n, err := length(kind, body, MaxBulk)
		if err != nil || n < 0 {
			return err
		}
		_, err = r.Discard(n + 2)
		return err
	case '*':
		n, err := length(kind, body, MaxArray)
		if err != nil {
			return err
		}
		for range n {
			if err := Skip(r); err != nil {
				if _, ok := err.(Error); !ok {
					return err
				}
			}
		}
		return nil
	}
	return malformed(append([]byte{kind}, body...))
}
