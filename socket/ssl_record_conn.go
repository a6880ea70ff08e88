package socket

import (
	gonet "net"
)

// recordConn sits between crypto/tls and the transport conn. It reads ahead
// in large chunks, but hands crypto/tls at most the rest of the current TLS
// record. crypto/tls otherwise buffers whatever the transport gave it past
// the record it needed (a close_notify right behind the last response, say)
// and offers no way to ask whether it did; here those bytes stay where
// IsConnectedAndIdle can see them, as Chromium's SSLClientSocketImpl asks
// its transport adapter for pending read data.
//
// It also watches the records go by, for the error mapping: whether the
// peer answered the ClientHello with an alert, and which plaintext alert we
// sent last.
//
// The read side is used by one goroutine at a time (the handshake, then one
// reader per pending Read), the write side likewise; the loop reads the
// fields only while no goroutine of that side runs, after a posted
// completion, which orders the accesses.
type recordConn struct {
	gonet.Conn

	buf    []byte
	r, w   int   // buf[r:w] is read ahead and not yet handed over
	err    error // transport error met while reading ahead, reported once buf is drained
	remain int   // bytes of the current record not yet handed over

	records            int  // record headers seen from the peer
	alertAnsweredHello bool // the peer's first record was an alert
	sentAlert          uint8
}

// recordConnReadAhead is how much recordConn asks the transport for at once:
// two full records.
const recordConnReadAhead = 2 * (tlsRecordHeaderLen + tlsMaxPlaintextRecordBytes + 256)

func newRecordConn(c gonet.Conn) *recordConn {
	return &recordConn{Conn: c, buf: make([]byte, recordConnReadAhead)}
}

// buffered is how many bytes from the peer crypto/tls has not been given.
func (c *recordConn) buffered() int { return c.w - c.r }

// fill reads more from the transport, keeping what is buffered.
func (c *recordConn) fill() error {
	if c.err != nil {
		return c.err
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.r > 0 && len(c.buf)-c.w < tlsRecordHeaderLen {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	n, err := c.Conn.Read(c.buf[c.w:])
	c.w += n
	if err != nil {
		c.err = err
		if n == 0 {
			return err
		}
	}
	return nil
}

// Read implements net.Conn for crypto/tls.
func (c *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.remain == 0 {
		// At a record boundary: learn the next record's length first.
		for c.buffered() < tlsRecordHeaderLen {
			if err := c.fill(); err != nil {
				if c.buffered() > 0 {
					break // hand over the stub; crypto/tls reports the truncation
				}
				return 0, err
			}
		}
		if c.buffered() >= tlsRecordHeaderLen {
			h := c.buf[c.r : c.r+tlsRecordHeaderLen]
			if c.records == 0 && h[0] == tlsRecordTypeAlert {
				c.alertAnsweredHello = true
			}
			c.records++
			c.remain = tlsRecordHeaderLen + (int(h[3])<<8 | int(h[4]))
		} else {
			c.remain = c.buffered()
		}
	}
	if c.buffered() == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p[:min(len(p), c.remain)], c.buf[c.r:c.w])
	c.r += n
	c.remain -= n
	return n, nil
}

// Write implements net.Conn for crypto/tls, noting the plaintext alerts
// crypto/tls sends (encrypted ones are unreadable, and not needed).
func (c *recordConn) Write(p []byte) (int, error) {
	for off := 0; off+tlsRecordHeaderLen <= len(p); {
		n := int(p[off+3])<<8 | int(p[off+4])
		if p[off] == tlsRecordTypeAlert && n == 2 && off+tlsRecordHeaderLen+2 <= len(p) {
			c.sentAlert = p[off+tlsRecordHeaderLen+1]
		}
		off += tlsRecordHeaderLen + n
	}
	return c.Conn.Write(p)
}
