package netlog_test

import (
	"net/url"
	"testing"

	"github.com/netfetch/netfetch/netlog"
)

func TestURLStringStripsCredentialsBelowIncludeSensitive(t *testing.T) {
	u, _ := url.Parse("http://user:secret@example.com/a?b=c#d")
	for _, m := range []netlog.CaptureMode{netlog.HeavilyRedacted, netlog.Default} {
		if got := netlog.URLString(u, m); got != "http://example.com/a?b=c#d" {
			t.Errorf("%v: %q", m, got)
		}
	}
	for _, m := range []netlog.CaptureMode{netlog.IncludeSensitive, netlog.Everything} {
		if got := netlog.URLString(u, m); got != u.String() {
			t.Errorf("%v: %q", m, got)
		}
	}
	if u.User == nil {
		t.Fatal("URLString changed its argument")
	}
}
