package cache

import (
	"net/url"
	"testing"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// fakeNetwork records what the cache's transaction asks of the network.
type fakeNetwork struct {
	created  []net.RequestPriority
	calls    []string
	response *http.ResponseInfo
}

func (f *fakeNetwork) CreateTransaction(p net.RequestPriority) http.Transaction {
	f.created = append(f.created, p)
	return &fakeTransaction{f: f}
}

type fakeTransaction struct{ f *fakeNetwork }

func (t *fakeTransaction) Start(info *http.RequestInfo, cb net.CompletionCallback, nl netlog.WithSource) int {
	t.f.calls = append(t.f.calls, "Start "+info.URL.String())
	return net.IOPending
}

func (t *fakeTransaction) Read(buf []byte, cb net.CompletionCallback) int {
	t.f.calls = append(t.f.calls, "Read")
	return copy(buf, "body")
}

func (t *fakeTransaction) Response() *http.ResponseInfo { return t.f.response }
func (t *fakeTransaction) LoadState() net.LoadState {
	return net.LoadStateWaitingForResponse
}
func (t *fakeTransaction) SetPriority(p net.RequestPriority) {
	t.f.calls = append(t.f.calls, "SetPriority "+p.String())
}
func (t *fakeTransaction) Close() { t.f.calls = append(t.f.calls, "Close") }

// Without a backend every request passes through.
func TestTransactionPassesThroughToTheNetwork(t *testing.T) {
	network := &fakeNetwork{response: &http.ResponseInfo{}}
	c := New(network, Normal)
	tx := c.CreateTransaction(net.Medium)
	u, _ := url.Parse("http://example.com/")
	if rv := tx.Start(&http.RequestInfo{Method: "GET", URL: u}, func(int) {}, netlog.WithSource{}); rv != net.IOPending {
		t.Fatalf("Start = %d", rv)
	}
	if len(network.created) != 1 || network.created[0] != net.Medium {
		t.Fatalf("network transactions created: %v", network.created)
	}
	buf := make([]byte, 8)
	if n := tx.Read(buf, func(int) {}); n != 4 || string(buf[:n]) != "body" {
		t.Fatalf("Read = %d %q", n, buf[:n])
	}
	if tx.Response() != network.response || tx.LoadState() != net.LoadStateWaitingForResponse {
		t.Fatal("Response or LoadState not from the network transaction")
	}
	tx.SetPriority(net.Highest)
	tx.Close()
	want := []string{"Start http://example.com/", "Read", "SetPriority HIGHEST", "Close"}
	if len(network.calls) != len(want) {
		t.Fatalf("calls %q, want %q", network.calls, want)
	}
	for i := range want {
		if network.calls[i] != want[i] {
			t.Fatalf("calls %q, want %q", network.calls, want)
		}
	}
	if c.Mode() != Normal {
		t.Fatalf("mode %v", c.Mode())
	}
}
