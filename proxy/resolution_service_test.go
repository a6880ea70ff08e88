package proxy

import (
	"net/url"
	"testing"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

func TestDirectServiceAnswersDirectSynchronously(t *testing.T) {
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	nl := netlog.NewSource(log, netlog.SourceHTTPStreamJobController)
	u, _ := url.Parse("http://example.com/a")
	var info Info
	_, rv := NewDirectService().ResolveProxy(u, &info, func(int) { t.Error("callback ran") }, nl)
	if rv != net.OK || !info.IsDirect() || info.String() != "DIRECT" || info.ChainString() != "[direct://]" {
		t.Fatalf("rv %d, info %v %q %q", rv, info.IsDirect(), info, info.ChainString())
	}
	want := []struct {
		t     netlog.EventType
		phase netlog.Phase
	}{
		{netlog.EventProxyResolutionService, netlog.PhaseBegin},
		{netlog.EventProxyResolutionServiceResolvedProxyList, netlog.PhaseNone},
		{netlog.EventProxyResolutionService, netlog.PhaseEnd},
	}
	if len(rec.All()) != len(want) {
		t.Fatalf("%d entries, want %d", len(rec.All()), len(want))
	}
	for i, w := range want {
		if e := rec.All()[i]; e.Type != w.t || e.Phase != w.phase || e.Source != nl.Source() {
			t.Errorf("entry %d: %v/%v, want %v/%v", i, e.Type, e.Phase, w.t, w.phase)
		}
	}
	if got := rec.All()[1].Params["proxy_info"]; got != "DIRECT" {
		t.Errorf("proxy_info %v", got)
	}
}

func TestDirectServicePolledDataShape(t *testing.T) {
	p := NewDirectService().PolledData()
	settings, ok := p["proxySettings"].(netlog.Params)
	if !ok || settings["original"] == nil || settings["effective"] == nil {
		t.Fatalf("proxySettings %v", p["proxySettings"])
	}
	if _, ok := p["badProxies"].([]netlog.Params); !ok {
		t.Fatalf("badProxies %v", p["badProxies"])
	}
}
