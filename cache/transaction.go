package cache

import (
	"context"
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

type txState int

const (
	txNone txState = iota
	txGetBackend
	txInitEntry
	txAddToEntry
	txOpenEntry
	txOpenEntryComplete
	txDispatchValidation
	txSendRequest
	txSendRequestComplete
	txWriteUpdatedInfo
	txWriteUpdatedInfoComplete
)

// txMode is what a transaction may do with the cache (Chromium's Mode
// bits).
type txMode int

const (
	modeNone  txMode = 0 // pass through
	modeRead  txMode = 1
	modeWrite txMode = 2
)

// Transaction is one request through the cache (Chromium's
// HttpCache::Transaction), a DoLoop state machine whose main paths are:
// not cached (open misses, send, write the body as it is read); cached and
// fresh (open, dispatch validation, read from the entry); revalidated by
// 304 (send a conditional request, update the stored headers, read from
// the entry); replaced by 200 (send, write anew); and pass-through. It is
// owned by the cache's loop.
type Transaction struct {
	cache    *HttpCache
	priority net.RequestPriority
	info     *http.RequestInfo
	nl       netlog.WithSource
	cb       net.CompletionCallback
	next     txState
	mode     txMode
	flags    net.LoadFlags
	dirs     RequestDirectives
	head     bool
	unsafe   bool

	// The entry: key is the URL's, entryKey the one read (a variant's
	// under a Vary index).
	key         string
	entryKey    string
	entry       *Entry
	entryInfo   *EntryInfo
	varyIndex   *EntryInfo
	entrySrc    netlog.WithSource
	hasEntrySrc bool

	// active is the entry lock t holds or waits for.
	active       *activeEntry
	waiting      bool
	lockDeadline *net.DelayedTask

	network     http.Transaction
	sent        http.RequestInfo
	conditional bool
	cantCond    bool
	response    *http.ResponseInfo
	op          net.Op

	// Reading.
	fromCache  bool
	readOffset int
	writing    bool
	body       []byte
	readBuf    []byte
	readCB     net.CompletionCallback
	closed     bool
}

var _ http.Transaction = (*Transaction)(nil)

// Start implements http.Transaction.
func (t *Transaction) Start(info *http.RequestInfo, cb net.CompletionCallback, nl netlog.WithSource) int {
	t.info, t.nl = info, nl
	t.next = txGetBackend
	rv := t.doLoop(net.OK)
	if rv == net.IOPending {
		t.cb = cb
	}
	return rv
}

func (t *Transaction) onIOComplete(rv int) {
	rv = t.doLoop(rv)
	if rv == net.IOPending {
		return
	}
	if cb := t.cb; cb != nil {
		t.cb = nil
		cb(rv)
	}
}

func (t *Transaction) doLoop(rv int) int {
	for {
		state := t.next
		t.next = txNone
		switch state {
		case txGetBackend:
			rv = t.doGetBackend()
		case txInitEntry:
			rv = t.doInitEntry()
		case txAddToEntry:
			rv = t.doAddToEntry()
		case txOpenEntry:
			rv = t.doOpenEntry()
		case txOpenEntryComplete:
			rv = t.doOpenEntryComplete(rv)
		case txDispatchValidation:
			rv = t.doDispatchValidation()
		case txSendRequest:
			rv = t.doSendRequest()
		case txSendRequestComplete:
			rv = t.doSendRequestComplete(rv)
		case txWriteUpdatedInfo:
			rv = t.doWriteUpdatedInfo()
		case txWriteUpdatedInfoComplete:
			rv = t.doWriteUpdatedInfoComplete(rv)
		default:
			panic("cache: bad transaction state")
		}
		if rv == net.IOPending || t.next == txNone {
			return rv
		}
	}
}

func (t *Transaction) doGetBackend() int {
	t.nl.BeginEvent(netlog.EventHTTPCacheGetBackend, nil)
	t.nl.EndEvent(netlog.EventHTTPCacheGetBackend, nil)
	t.next = txInitEntry
	return net.OK
}

// doInitEntry picks the mode from the method, the load flags and the
// request's own headers (Chromium's SetRequest and the mode selection).
func (t *Transaction) doInitEntry() int {
	c := t.cache
	method := strings.ToUpper(t.info.Method)
	if method == "" {
		method = "GET"
	}
	t.head = method == "HEAD"
	t.flags = t.info.LoadFlags | ImpliedLoadFlags(method, &t.info.Headers)
	t.dirs = ParseRequestDirectives(&t.info.Headers)
	t.next = txSendRequest
	switch method {
	case "POST", "PUT", "DELETE", "PATCH":
		// Never stored; a success invalidates what is stored for the URL.
		t.unsafe = true
		return net.OK
	}
	enabled := c.params.Backend != nil && c.params.Mode != Disable && t.flags&net.LoadDisableCache == 0 && !c.closed
	switch {
	case !enabled, method != "GET" && !t.head, t.info.Headers.Has("Range"), HasValidators(&t.info.Headers):
		// A range is never served from or written to the cache, so a 206
		// can never stand in for a whole response; the caller's own
		// conditional request goes as it is.
		t.mode = modeNone
	case t.flags&net.LoadOnlyFromCache != 0:
		if t.flags&net.LoadBypassCache != 0 {
			return int(net.ErrCacheMiss)
		}
		t.mode = modeRead
	case t.flags&net.LoadBypassCache != 0:
		t.mode = modeWrite
	default:
		t.mode = modeRead | modeWrite
	}
	if t.head {
		// A HEAD response is never stored; a stored GET may answer it.
		t.mode &^= modeWrite
	}
	if t.mode == modeNone {
		if t.flags&net.LoadOnlyFromCache != 0 {
			return int(net.ErrCacheMiss)
		}
		return net.OK
	}
	t.key = Key(t.info.URL, 0)
	t.entryKey = t.key
	t.next = txAddToEntry
	return net.OK
}

// doAddToEntry takes the entry's lock or waits for it (load state
// WAITING_FOR_CACHE), at most LockTimeout.
func (t *Transaction) doAddToEntry() int {
	t.nl.BeginEvent(netlog.EventHTTPCacheAddToEntry, nil)
	if t.cache.addToEntry(t, t.key) {
		t.nl.EndEvent(netlog.EventHTTPCacheAddToEntry, nil)
		t.next = txOpenEntry
		return net.OK
	}
	t.waiting = true
	t.lockDeadline = t.cache.params.Loop.PostDelayed(t.cache.params.LockTimeout, t.onLockTimeout)
	return net.IOPending
}

// retryAddToEntry runs when the transaction ahead released the entry.
func (t *Transaction) retryAddToEntry() {
	if t.closed || !t.waiting {
		return
	}
	if !t.cache.addToEntry(t, t.key) {
		return // queued again behind the one that took it
	}
	t.waiting = false
	t.lockDeadline.Cancel()
	t.nl.EndEvent(netlog.EventHTTPCacheAddToEntry, nil)
	t.next = txOpenEntry
	t.onIOComplete(net.OK)
}

// onLockTimeout gives up waiting: a read-only transaction misses, others
// go to the network without the cache (Chromium's cache lock timeout).
func (t *Transaction) onLockTimeout() {
	if t.closed || !t.waiting {
		return
	}
	t.waiting = false
	t.cache.removeWaiter(t)
	t.nl.EndEventWithNetErrorCode(netlog.EventHTTPCacheAddToEntry, int(net.ErrCacheLockTimeout))
	if t.mode == modeRead {
		t.onIOComplete(int(net.ErrCacheMiss))
		return
	}
	t.mode = modeNone
	t.next = txSendRequest
	t.onIOComplete(net.OK)
}

func (t *Transaction) openEvent() netlog.EventType {
	if t.mode == modeRead {
		return netlog.EventHTTPCacheOpenEntry
	}
	return netlog.EventHTTPCacheOpenOrCreateEntry
}

func (t *Transaction) doOpenEntry() int {
	t.next = txOpenEntryComplete
	if t.mode == modeWrite {
		// LOAD_BYPASS_CACHE: never read; the response replaces the entry,
		// which is created when its body is complete.
		t.nl.BeginEvent(netlog.EventHTTPCacheCreateEntry, nil)
		t.nl.EndEvent(netlog.EventHTTPCacheCreateEntry, nil)
		return net.OK
	}
	t.nl.BeginEvent(t.openEvent(), nil)
	key := t.entryKey
	return backendCall(t, func(b Backend) (*Entry, error) { return b.Open(key) }, func(e *Entry, err error) int {
		t.entry = e
		if err != nil {
			t.entry = nil
		}
		rv := net.OK
		if t.entry == nil && t.mode == modeRead {
			rv = int(net.ErrCacheMiss)
		}
		if t.entry != nil {
			t.openEntrySource(false)
			t.nl.EndEventWithParams(t.openEvent(), t.entrySrc.Source().DependencyParams())
		} else {
			t.nl.EndEventWithNetErrorCode(t.openEvent(), rv)
		}
		return net.OK
	})
}

// openEntrySource starts the NetLog source of the entry being used.
func (t *Transaction) openEntrySource(created bool) {
	if t.hasEntrySrc {
		return
	}
	t.entrySrc = netlog.NewSource(t.cache.params.NetLog, t.cache.entrySource)
	t.hasEntrySrc = true
	key := t.entryKey
	t.entrySrc.BeginEvent(t.cache.entryEvent, func(netlog.CaptureMode) netlog.Params { return netlog.Params{"created": created, "key": key} })
}

func (t *Transaction) closeEntrySource() {
	if !t.hasEntrySrc {
		return
	}
	t.hasEntrySrc = false
	t.entrySrc.AddEvent(netlog.EventEntryClose, nil)
	t.entrySrc.EndEvent(t.cache.entryEvent, nil)
}

func (t *Transaction) doOpenEntryComplete(int) int {
	if t.entry == nil {
		return t.onMiss()
	}
	t.nl.BeginEvent(netlog.EventHTTPCacheReadInfo, nil)
	info, err := UnmarshalEntryInfo(t.entry.Info)
	switch {
	case err != nil:
		t.nl.EndEventWithNetErrorCode(netlog.EventHTTPCacheReadInfo, int(net.ErrCacheReadFailure))
		t.doom(t.entryKey)
		return t.onMiss()
	case info.Kind == EntryVaryIndex:
		t.nl.EndEvent(netlog.EventHTTPCacheReadInfo, nil)
		if t.varyIndex != nil {
			return t.onMiss()
		}
		// The URL's responses vary: open the variant this request selects.
		t.varyIndex = info
		t.entryKey = VariantKey(t.key, info.Vary.Names, &t.info.Headers)
		t.entry = nil
		t.closeEntrySource()
		t.next = txOpenEntry
		return net.OK
	}
	t.nl.EndEvent(netlog.EventHTTPCacheReadInfo, nil)
	switch {
	case info.Headers == nil || int64(len(t.entry.Body)) != info.BodySize:
		t.doom(t.entryKey)
		return t.onMiss()
	case t.varyIndex != nil && info.RequestTime.Before(t.varyIndex.RequestTime),
		!info.Vary.Matches(&t.info.Headers):
		// A variant older than its index (the URL was invalidated since),
		// or one for other request headers, is a miss.
		return t.onMiss()
	}
	t.entryInfo = info
	t.next = txDispatchValidation
	return net.OK
}

// onMiss goes to the network, or fails a read-only transaction.
func (t *Transaction) onMiss() int {
	t.entry, t.entryInfo = nil, nil
	if t.mode&modeWrite == 0 {
		if t.mode == modeRead && t.flags&net.LoadOnlyFromCache != 0 {
			t.cache.doneWithEntry(t)
			return int(net.ErrCacheMiss)
		}
		// A HEAD with nothing stored passes through.
		t.cache.doneWithEntry(t)
		t.mode = modeNone
	}
	t.next = txSendRequest
	return net.OK
}

// doDispatchValidation decides between serving the entry and asking the
// origin (Chromium's RequiresValidation).
func (t *Transaction) doDispatchValidation() int {
	h := t.entryInfo.Headers
	v := ValidationSynchronous
	switch {
	case t.flags&(net.LoadOnlyFromCache|net.LoadSkipCacheValidation) != 0:
		// Offline and back/forward loads take the entry as it is.
		v = ValidationNone
	case t.flags&net.LoadValidateCache != 0:
	default:
		v = RequiresValidation(h, t.dirs, t.entryInfo.RequestTime, t.entryInfo.ResponseTime, t.cache.params.Now())
	}
	if v == ValidationAsynchronous {
		if t.flags&net.LoadSupportAsyncRevalidation == 0 {
			v = ValidationSynchronous
		} else {
			t.cache.revalidateInBackground(t.info)
			v = ValidationNone
		}
	}
	if v == ValidationNone {
		return t.serveFromEntry(http.CacheEntryUsed, nil)
	}
	if t.mode&modeWrite == 0 {
		// A stale entry cannot answer a HEAD; the origin does.
		t.cache.doneWithEntry(t)
		t.mode = modeNone
		t.next = txSendRequest
		return net.OK
	}
	inm, ims, ok := ConditionalHeaders(h)
	t.sent = *t.info
	t.sent.Headers = t.info.Headers.Clone()
	if ok {
		if inm != "" {
			t.sent.Headers.Set("If-None-Match", inm)
		}
		if ims != "" {
			t.sent.Headers.Set("If-Modified-Since", ims)
		}
		t.conditional = true
	} else {
		t.cantCond = true
	}
	t.next = txSendRequest
	return net.OK
}

// serveFromEntry answers with the stored response; the body is read from
// the copy in memory, so the entry's lock is released at once.
func (t *Transaction) serveFromEntry(status http.CacheEntryStatus, network *http.ResponseInfo) int {
	info := t.entryInfo
	t.response = &http.ResponseInfo{
		Headers: info.Headers, RequestTime: info.RequestTime, ResponseTime: info.ResponseTime,
		WasCached: true, CacheEntryStatus: status, ALPN: "http/1.1",
	}
	if network != nil {
		t.response.RemoteEndpoint = network.RemoteEndpoint
		t.response.ALPN = network.ALPN
	}
	t.fromCache = true
	t.cache.doneWithEntry(t)
	return net.OK
}

func (t *Transaction) doSendRequest() int {
	if t.sent.URL == nil {
		t.sent = *t.info
	}
	t.network = t.cache.params.Network.CreateTransaction(t.priority)
	t.next = txSendRequestComplete
	return t.network.Start(&t.sent, t.onIOComplete, t.nl)
}

func (t *Transaction) doSendRequestComplete(rv int) int {
	if rv != net.OK {
		t.cache.doneWithEntry(t)
		return rv
	}
	resp := t.network.Response()
	code := resp.Headers.StatusCode()
	if t.mode == modeNone {
		t.response = resp
		if t.unsafe && code < 400 {
			t.invalidate(resp)
		}
		return net.OK
	}
	if t.conditional && code == 304 {
		merged := UpdatedHeaders(t.entryInfo.Headers, resp.Headers)
		t.entryInfo = &EntryInfo{
			Kind: EntryResponse, Headers: merged, RequestTime: resp.RequestTime, ResponseTime: resp.ResponseTime,
			Vary: t.entryInfo.Vary, BodySize: t.entryInfo.BodySize,
		}
		t.next = txWriteUpdatedInfo
		return net.OK
	}
	t.response = resp
	vary, varyOK := NewVaryData(resp.Headers, &t.info.Headers)
	switch {
	case t.entry == nil:
		resp.CacheEntryStatus = http.CacheEntryNotInCache
	case t.cantCond:
		resp.CacheEntryStatus = http.CacheEntryCantConditionalize
	default:
		resp.CacheEntryStatus = http.CacheEntryUpdated
	}
	if t.mode&modeWrite != 0 && varyOK && IsStorable("GET", t.dirs, resp.Headers) {
		t.writing = true
		t.entryInfo = &EntryInfo{Kind: EntryResponse, Headers: headersToStore(resp.Headers), RequestTime: resp.RequestTime, ResponseTime: resp.ResponseTime, Vary: vary}
		return net.OK
	}
	if t.entry != nil && code < 500 {
		// The new response replaces the stored one and may not be stored:
		// what is stored is now wrong.
		t.doom(t.entryKey)
	}
	t.cache.doneWithEntry(t)
	return net.OK
}

// doWriteUpdatedInfo stores the headers a 304 refreshed.
func (t *Transaction) doWriteUpdatedInfo() int {
	t.next = txWriteUpdatedInfoComplete
	t.nl.BeginEvent(netlog.EventHTTPCacheWriteInfo, nil)
	key, blob := t.entryKey, t.entryInfo.Marshal()
	return backendCall(t, func(b Backend) (struct{}, error) { return struct{}{}, b.UpdateInfo(key, blob) }, func(_ struct{}, err error) int {
		t.nl.EndEventWithNetErrorCode(netlog.EventHTTPCacheWriteInfo, errorResult(err, net.ErrCacheWriteFailure))
		return net.OK
	})
}

func (t *Transaction) doWriteUpdatedInfoComplete(int) int {
	network := t.network.Response()
	t.network.Close()
	t.network = nil
	return t.serveFromEntry(http.CacheEntryValidated, network)
}

// Read implements http.Transaction.
func (t *Transaction) Read(buf []byte, cb net.CompletionCallback) int {
	if t.fromCache {
		return t.readFromEntry(buf)
	}
	rv := t.network.Read(buf, func(rv int) {
		if rv = t.onNetworkRead(rv); rv != net.IOPending {
			t.completeRead(rv)
		}
	})
	t.readBuf = buf
	if rv == net.IOPending {
		t.readCB = cb
		return rv
	}
	rv = t.onNetworkRead(rv)
	if rv == net.IOPending {
		t.readCB = cb
	}
	return rv
}

// completeRead ends a Read that returned IOPending.
func (t *Transaction) completeRead(rv int) {
	if cb := t.readCB; cb != nil {
		t.readCB = nil
		cb(rv)
	}
}

func (t *Transaction) readFromEntry(buf []byte) int {
	body := t.entry.Body
	if t.head {
		body = nil
	}
	t.nl.BeginEvent(netlog.EventHTTPCacheReadData, nil)
	n := copy(buf, body[t.readOffset:])
	if n > 0 && t.hasEntrySrc {
		off := t.readOffset
		t.entrySrc.AddEvent(netlog.EventEntryReadData, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"index": 1, "offset": off, "buf_len": n}
		})
	}
	t.readOffset += n
	t.nl.EndEvent(netlog.EventHTTPCacheReadData, nil)
	if n == 0 {
		t.closeEntrySource()
	}
	return n
}

// onNetworkRead keeps the body while writing; at the end it stores the
// entry before reporting the end, so waiting transactions find it.
func (t *Transaction) onNetworkRead(rv int) int {
	buf := t.readBuf
	t.readBuf = nil
	if !t.writing {
		if rv <= 0 {
			t.cache.doneWithEntry(t)
		}
		return rv
	}
	switch {
	case rv < 0:
		// A partial body is never stored.
		t.stopWriting()
		return rv
	case rv > 0:
		if int64(len(t.body)+rv) > t.cache.params.Backend.MaxEntrySize() {
			t.stopWriting()
			if t.entry != nil {
				t.doom(t.entryKey)
			}
			return rv
		}
		t.body = append(t.body, buf[:rv]...)
		return rv
	}
	return t.commit()
}

func (t *Transaction) stopWriting() {
	t.writing = false
	t.body = nil
	t.cache.doneWithEntry(t)
}

// commit stores the response and body (and, for a response with Vary, the
// index at the URL's key that names the headers its variants are keyed by).
func (t *Transaction) commit() int {
	t.writing = false
	info := t.entryInfo
	info.BodySize = int64(len(t.body))
	key := t.key
	var index []byte
	if !info.Vary.IsEmpty() {
		key = VariantKey(t.key, info.Vary.Names, &t.info.Headers)
		if t.varyIndex == nil || !sameNames(t.varyIndex.Vary.Names, info.Vary.Names) {
			idx := &EntryInfo{Kind: EntryVaryIndex, RequestTime: info.RequestTime, ResponseTime: info.ResponseTime, Vary: VaryData{Names: info.Vary.Names}}
			index = idx.Marshal()
		}
	}
	t.entryKey = key
	t.openEntrySource(t.entry == nil)
	blob, body, base := info.Marshal(), t.body, t.key
	t.body = nil
	size := len(body)
	t.nl.BeginEvent(netlog.EventHTTPCacheWriteData, nil)
	t.entrySrc.AddEvent(netlog.EventEntryWriteData, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"index": 1, "offset": 0, "buf_len": size, "truncate": true}
	})
	return backendCall(t, func(b Backend) (struct{}, error) {
		if err := b.Store(key, blob, body); err != nil {
			return struct{}{}, err
		}
		if index != nil {
			return struct{}{}, b.Store(base, index, nil)
		}
		return struct{}{}, nil
	}, func(_ struct{}, err error) int {
		t.nl.EndEventWithNetErrorCode(netlog.EventHTTPCacheWriteData, errorResult(err, net.ErrCacheWriteFailure))
		t.closeEntrySource()
		t.cache.doneWithEntry(t)
		return 0
	})
}

// transientHeaders describe one connection or one client's session, not
// the resource: they are not stored (Chromium persists responses "sans
// transient headers" and without cookies).
var transientHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
	"Proxy-Authenticate", "Proxy-Authorization", "Set-Cookie", "Set-Cookie2",
}

// headersToStore copies h without its transient headers.
func headersToStore(h *http.ResponseHeaders) *http.ResponseHeaders {
	c, err := http.ParseResponseHeaders([]byte(h.Raw()))
	if err != nil {
		return h
	}
	for _, name := range transientHeaders {
		c.RemoveHeader(name)
	}
	return c
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// invalidate dooms what is stored for the URL of a successful unsafe
// request and for its same-origin Location and Content-Location (RFC 9111
// §4.4).
func (t *Transaction) invalidate(resp *http.ResponseInfo) {
	if t.cache.params.Backend == nil || t.cache.params.Mode == Disable {
		return
	}
	t.doom(Key(t.info.URL, 0))
	for _, name := range []string{"Location", "Content-Location"} {
		v, ok := resp.Headers.Get(name)
		if !ok {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		u := t.info.URL.ResolveReference(ref)
		if u.Scheme == t.info.URL.Scheme && u.Host == t.info.URL.Host {
			t.doom(Key(u, 0))
		}
	}
}

// doom removes an entry, in the background: nothing waits for it.
func (t *Transaction) doom(key string) {
	nl := t.nl
	nl.BeginEvent(netlog.EventHTTPCacheDoomEntry, nil)
	c := t.cache
	done := func(_ struct{}, err error) {
		nl.EndEventWithNetErrorCode(netlog.EventHTTPCacheDoomEntry, errorResult(err, net.ErrCacheOperationNotSupported))
	}
	if c.inline {
		done(struct{}{}, c.params.Backend.Doom(key))
		return
	}
	net.Go(c.params.Loop, func(context.Context) (struct{}, error) { return struct{}{}, c.params.Backend.Doom(key) }, done)
}

// backendCall runs work against the backend: on the loop for the memory
// backend, off it for the disk. done turns the result into the state
// machine's result; it runs on the loop. The call returns that result, or
// IOPending and later continues the DoLoop.
func backendCall[T any](t *Transaction, work func(Backend) (T, error), done func(T, error) int) int {
	b := t.cache.params.Backend
	if t.cache.inline {
		v, err := work(b)
		return done(v, err)
	}
	t.op = net.Go(t.cache.params.Loop, func(context.Context) (T, error) { return work(b) }, func(v T, err error) {
		t.op = net.Op{}
		rv := done(v, err)
		if t.readCB != nil {
			// A body read was waiting for the entry to be stored.
			t.completeRead(rv)
			return
		}
		t.onIOComplete(rv)
	})
	return net.IOPending
}

func errorResult(err error, code net.Error) int {
	if err == nil {
		return net.OK
	}
	return int(code)
}

// Response implements http.Transaction.
func (t *Transaction) Response() *http.ResponseInfo {
	if t.response == nil && t.network != nil {
		return t.network.Response()
	}
	return t.response
}

// LoadState implements http.Transaction.
func (t *Transaction) LoadState() net.LoadState {
	switch {
	case t.waiting:
		return net.LoadStateWaitingForCache
	case t.network != nil:
		return t.network.LoadState()
	}
	return net.LoadStateIdle
}

// SetPriority implements http.Transaction.
func (t *Transaction) SetPriority(p net.RequestPriority) {
	t.priority = p
	if t.network != nil {
		t.network.SetPriority(p)
	}
}

// Close implements http.Transaction: a body being written is dropped (the
// entry is never left half-written), and the entry's lock is released.
func (t *Transaction) Close() {
	if t.closed {
		return
	}
	t.closed = true
	t.cb, t.readCB = nil, nil
	t.op.Cancel()
	t.lockDeadline.Cancel()
	if t.waiting {
		t.waiting = false
		t.cache.removeWaiter(t)
	}
	t.writing = false
	t.body = nil
	t.cache.doneWithEntry(t)
	t.closeEntrySource()
	if t.network != nil {
		t.network.Close()
	}
}

// revalidateInBackground refreshes a stale entry that was served under
// stale-while-revalidate: a transaction of its own, read to the end.
func (c *HttpCache) revalidateInBackground(info *http.RequestInfo) {
	ri := *info
	ri.Headers = info.Headers.Clone()
	ri.LoadFlags = (ri.LoadFlags | net.LoadValidateCache) &^ net.LoadSupportAsyncRevalidation
	t := &Transaction{cache: c, priority: net.Idle}
	buf := make([]byte, 16<<10)
	var read func(int)
	read = func(rv int) {
		for rv > 0 {
			rv = t.Read(buf, read)
		}
		if rv != net.IOPending {
			t.Close()
		}
	}
	start := func(rv int) {
		if rv != net.OK {
			t.Close()
			return
		}
		read(1)
	}
	nl := netlog.NewSource(c.params.NetLog, netlog.SourceNone)
	c.params.Loop.Post(func() {
		if rv := t.Start(&ri, start, nl); rv != net.IOPending {
			start(rv)
		}
	})
}
