package socket

import "github.com/netfetch/netfetch/net"

// requestQueue holds a group's waiting requests: highest priority first,
// first come first served within a priority (Chromium's priority queue of
// unbound requests). One FIFO per priority keeps adding and taking the
// first request O(1), so ten thousand waiting requests drain in linear time.
type requestQueue struct {
	buckets [net.NumPriorities][]*poolRequest
	n       int
}

// Len is the number of waiting requests.
func (q *requestQueue) Len() int { return q.n }

// Push adds req behind the requests of its priority.
func (q *requestQueue) Push(req *poolRequest) {
	q.buckets[req.priority] = append(q.buckets[req.priority], req)
	q.n++
}

// At returns the i-th request in queue order.
func (q *requestQueue) At(i int) *poolRequest {
	for p := net.NumPriorities - 1; p >= 0; p-- {
		if b := q.buckets[p]; i < len(b) {
			return b[i]
		} else {
			i -= len(b)
		}
	}
	return nil
}

// Front returns the first request, nil when the queue is empty.
func (q *requestQueue) Front() *poolRequest { return q.At(0) }

// PopFront removes and returns the first request.
func (q *requestQueue) PopFront() *poolRequest {
	for p := net.NumPriorities - 1; p >= 0; p-- {
		if b := q.buckets[p]; len(b) > 0 {
			req := b[0]
			b[0] = nil
			q.buckets[p] = b[1:]
			q.n--
			return req
		}
	}
	return nil
}

// Remove takes req out of the queue, reporting whether it was there.
func (q *requestQueue) Remove(req *poolRequest) bool {
	b := q.buckets[req.priority]
	for i, r := range b {
		if r == req {
			copy(b[i:], b[i+1:])
			b[len(b)-1] = nil
			q.buckets[req.priority] = b[:len(b)-1]
			q.n--
			return true
		}
	}
	return false
}

// Find returns the request of handle h, or nil.
func (q *requestQueue) Find(h *ClientSocketHandle) *poolRequest {
	for p := net.NumPriorities - 1; p >= 0; p-- {
		for _, r := range q.buckets[p] {
			if r.handle == h {
				return r
			}
		}
	}
	return nil
}

// Index returns req's position in queue order, or -1.
func (q *requestQueue) Index(req *poolRequest) int {
	i := 0
	for p := net.NumPriorities - 1; p >= 0; p-- {
		for _, r := range q.buckets[p] {
			if r == req {
				return i
			}
			i++
		}
	}
	return -1
}

// Drain empties the queue and returns its requests in order.
func (q *requestQueue) Drain() []*poolRequest {
	out := make([]*poolRequest, 0, q.n)
	for p := net.NumPriorities - 1; p >= 0; p-- {
		out = append(out, q.buckets[p]...)
		q.buckets[p] = nil
	}
	q.n = 0
	return out
}
