package http

import (
	"github.com/netfetch/netfetch/netlog"
)

// H2SessionPool keeps the HTTP/2 sessions that new requests may share
// (Chromium's SpdySessionPool, without IP pooling). It is owned by the loop.
//
// A session added to the pool is offered by Find until it stops taking new
// streams: it leaves the pool by itself when it receives a GOAWAY, when its
// connection fails, or when it is closed. Info lists every session added
// and not yet closed, including those still finishing their streams after a
// GOAWAY.
type H2SessionPool struct {
	available map[H2SessionKey][]*H2Session
	// all holds every live session, in the order added, for Info and
	// CloseAll.
	all []*H2Session
}

// NewH2SessionPool returns an empty pool.
func NewH2SessionPool() *H2SessionPool {
	return &H2SessionPool{available: make(map[H2SessionKey][]*H2Session)}
}

// Find returns a session for key that can take a new stream, or nil. When
// it finds one it logs HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION on nl (the
// stream job's NetLog; the zero value logs nothing), pointing at the
// session.
func (p *H2SessionPool) Find(key H2SessionKey, nl netlog.WithSource) *H2Session {
	for _, s := range p.available[key] {
		if s.CanTakeNewRequest() {
			nl.AddEventReferencingSource(netlog.EventHTTP2SessionPoolFoundExistingSession, s.nl.Source())
			return s
		}
	}
	return nil
}

// Add makes s available to Find under its key. nl is the NetLog of the job
// that created the session: it gets HTTP2_SESSION_POOL_IMPORTED_SESSION_
// FROM_SOCKET, pointing at the session, as Chromium logs when a session is
// made from a freshly connected socket. A closed session is not added.
func (p *H2SessionPool) Add(s *H2Session, nl netlog.WithSource) {
	if s.pool == p || s.state == h2Closed {
		return
	}
	if s.pool != nil {
		s.pool.remove(s)
		s.pool.forget(s)
	}
	s.pool = p
	p.all = append(p.all, s)
	nl.AddEventReferencingSource(netlog.EventHTTP2SessionPoolImportedSessionFromSocket, s.nl.Source())
	if s.state == h2Starting || s.state == h2Available {
		p.available[s.key] = append(p.available[s.key], s)
	}
}

// remove takes s out of Find's reach, logging HTTP2_SESSION_POOL_REMOVE_
// SESSION on the session.
func (p *H2SessionPool) remove(s *H2Session) {
	list := p.available[s.key]
	for i, x := range list {
		if x == s {
			list = append(list[:i:i], list[i+1:]...)
			if len(list) == 0 {
				delete(p.available, s.key)
			} else {
				p.available[s.key] = list
			}
			s.nl.AddEvent(netlog.EventHTTP2SessionPoolRemoveSession, nil)
			return
		}
	}
}

// forget drops a closed session from the pool altogether.
func (p *H2SessionPool) forget(s *H2Session) {
	for i, x := range p.all {
		if x == s {
			p.all = append(p.all[:i:i], p.all[i+1:]...)
			break
		}
	}
	if s.pool == p {
		s.pool = nil
	}
}

// CloseAll closes every session: their streams fail with net.ErrAborted and
// their sockets go back to their pools. Call it before the loop shuts
// down, or the sessions' goroutines outlive it.
func (p *H2SessionPool) CloseAll() {
	for len(p.all) > 0 {
		p.all[0].Close()
	}
}

// Len is the number of live sessions (available or going away).
func (p *H2SessionPool) Len() int { return len(p.all) }

// Info is polledData.spdySessionInfo: one entry per live session, in the
// shape netlog-viewer's HTTP/2 tab reads.
func (p *H2SessionPool) Info() []netlog.Params {
	out := make([]netlog.Params, 0, len(p.all))
	for _, s := range p.all {
		out = append(out, s.Info())
	}
	return out
}
