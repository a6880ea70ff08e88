package urlrequest

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// A PAC download that outlasts its limit fails with ERR_TIMED_OUT (the
// limit is shortened here; it is 30 s).
func TestPACFetchTimeout(t *testing.T) {
	s := testserver.NewRaw(t, func(c *testserver.Conn) { c.Stall() })
	u, _ := url.Parse(s.URL + "/p.pac")
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c, err := NewBuilder().SetNetLog(log).SetProxyConfig(proxy.Config{PACURL: u, PACMandatory: true}).Build()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.pacFetcher.timeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), nettest.HangGuard)
	defer cancel()
	if _, err := c.ResolveProxy(ctx, "http://example.com/"); !errors.Is(err, net.ErrMandatoryProxyConfigurationFailed) {
		t.Fatalf("err %v", err)
	}
	ends := rec.Find(netlog.EventPACFileDeciderFetchPACScript, netlog.PhaseEnd, 0)
	if len(ends) != 1 || ends[0].Params["net_error"] != int(net.ErrTimedOut) {
		t.Errorf("fetch end %v", ends)
	}
}
