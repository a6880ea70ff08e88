package proxy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/netlog"
)

func TestConfigPredicates(t *testing.T) {
	pacURL := mustURL(t, "http://wpad/proxy.pac")
	list := Rules{Type: RulesList, Single: pacList("PROXY p")}
	for _, tc := range []struct {
		name              string
		c                 Config
		automatic, direct bool
	}{
		{"direct", DirectConfig(), false, true},
		{"bypass only", Config{Rules: Rules{Bypass: mustBypass(t, "a.com")}}, false, true},
		{"auto-detect", Config{AutoDetect: true}, true, false},
		{"PAC", Config{PACURL: pacURL}, true, false},
		{"manual", Config{Rules: list}, false, false},
		{"PAC over manual", Config{PACURL: pacURL, Rules: list}, true, false},
	} {
		if got := tc.c.HasAutomaticSettings(); got != tc.automatic {
			t.Errorf("%s: HasAutomaticSettings() = %v", tc.name, got)
		}
		if got := tc.c.IsDirect(); got != tc.direct {
			t.Errorf("%s: IsDirect() = %v", tc.name, got)
		}
	}
}

func TestConfigToValue(t *testing.T) {
	pacURL := mustURL(t, "https://example.com/proxy.pac?x=1")
	list := Rules{Type: RulesList, Single: pacList("PROXY p:8080"), Bypass: mustBypass(t, "<local>")}
	for _, tc := range []struct {
		name string
		c    Config
		want netlog.Params
	}{
		{"direct", DirectConfig(), netlog.Params{}},
		{"auto-detect", Config{AutoDetect: true}, netlog.Params{"auto_detect": true}},
		{"mandatory without PAC", Config{PACMandatory: true}, netlog.Params{}},
		{"PAC", Config{PACURL: pacURL}, netlog.Params{"pac_url": "https://example.com/proxy.pac?x=1"}},
		{"mandatory PAC", Config{AutoDetect: true, PACURL: pacURL, PACMandatory: true}, netlog.Params{
			"auto_detect": true, "pac_url": "https://example.com/proxy.pac?x=1", "pac_mandatory": true}},
		{"manual", Config{Rules: list}, netlog.Params{
			"single_proxy": []string{"[http://p:8080]"}, "bypass_list": []string{"<local>"}}},
		{"everything", Config{AutoDetect: true, Rules: list}, netlog.Params{
			"auto_detect": true, "single_proxy": []string{"[http://p:8080]"}, "bypass_list": []string{"<local>"}}},
		{"PAC with a password", Config{PACURL: mustURL(t, "http://u:secret@h/p.pac")}, netlog.Params{
			"pac_url": "http://u:xxxxx@h/p.pac"}},
	} {
		if got := tc.c.ToValue(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ToValue() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParsePACURL(t *testing.T) {
	for _, s := range []string{
		"http://wpad/wpad.dat",
		"HTTPS://example.com:8443/p.pac?v=2",
		"file:///etc/proxy.pac",
		"file://localhost/etc/proxy.pac",
		"data:application/x-ns-proxy-autoconfig;base64,ZnVuY3Rpb24gRmluZFByb3h5Rm9yVVJMKCl7cmV0dXJuICJESVJFQ1QiO30=",
		"data:,function FindProxyForURL(u, h) { return 'DIRECT'; }",
		" http://wpad/wpad.dat ",
	} {
		u, err := ParsePACURL(s)
		if err != nil {
			t.Errorf("ParsePACURL(%q): %v", s, err)
			continue
		}
		if u.Scheme != strings.ToLower(u.Scheme) {
			t.Errorf("ParsePACURL(%q): scheme %q", s, u.Scheme)
		}
	}
	for _, tc := range []struct{ in, why string }{
		{"", "not absolute"},
		{"wpad/wpad.dat", "not absolute"},
		{"/etc/proxy.pac", "not absolute"},
		{"ftp://example.com/p.pac", `scheme "ftp"`},
		{"javascript:alert(1)", `scheme "javascript"`},
		{"http:///p.pac", "no host"},
		{"file:p.pac", "no path"},
		{"data:", "no data"},
		{"http://a b/", "bad PAC URL"},
	} {
		_, err := ParsePACURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParsePACURL(%q) error %v, want one saying %q", tc.in, err, tc.why)
		}
	}
}
