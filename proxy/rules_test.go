package proxy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/netlog"
)

// pacList is a list written in PAC form, for short expectations.
func pacList(s string) List { return ParsePACString(s) }

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rules
	}{
		{"", Rules{}},
		{"  \t ", Rules{}},
		{" ; ;", Rules{}},
		// A single list.
		{"proxy:8080", Rules{Type: RulesList, Single: pacList("PROXY proxy:8080")}},
		{"proxy", Rules{Type: RulesList, Single: pacList("PROXY proxy:80")}},
		{" http://a:1 , https://b ,socks4://c, socks5://d,socks://e, direct:// ",
			Rules{Type: RulesList, Single: pacList("PROXY a:1; HTTPS b:443; SOCKS c:1080; SOCKS5 d:1080; SOCKS5 e:1080; DIRECT")}},
		{"socks4a://f,socks5h://g", Rules{Type: RulesList, Single: List{
			{{Scheme: SchemeSOCKS4a, Host: "f", Port: 1080}}, {{Scheme: SchemeSOCKS5, Host: "g", Port: 1080}}}}},
		{"a,,b", Rules{Type: RulesList, Single: pacList("PROXY a; PROXY b")}},
		// The first entry without "=" wins and ends parsing.
		{"a;b;http=c", Rules{Type: RulesList, Single: pacList("PROXY a")}},
		{"a;http=ftp://bad", Rules{Type: RulesList, Single: pacList("PROXY a")}},
		// ...unless per-scheme entries came first.
		{"http=a;b;https=c", Rules{Type: RulesPerScheme, ForHTTP: pacList("PROXY a"), ForHTTPS: pacList("PROXY c")}},
		// Per scheme.
		{"http=a:1;https=https://b;ftp=c", Rules{Type: RulesPerScheme,
			ForHTTP: pacList("PROXY a:1"), ForHTTPS: pacList("HTTPS b"), ForFTP: pacList("PROXY c")}},
		{" HTTP = a , b ; https=direct://", Rules{Type: RulesPerScheme,
			ForHTTP: pacList("PROXY a; PROXY b"), ForHTTPS: pacList("DIRECT")}},
		{"http=a;http=b", Rules{Type: RulesPerScheme, ForHTTP: pacList("PROXY a; PROXY b")}},
		// socks= is the fallback, SOCKS4 unless the URI says otherwise.
		{"socks=s", Rules{Type: RulesPerScheme, Fallback: pacList("SOCKS s:1080")}},
		{"http=a;socks=s:99,socks5://t,http://u", Rules{Type: RulesPerScheme,
			ForHTTP: pacList("PROXY a"), Fallback: pacList("SOCKS s:99; SOCKS5 t; PROXY u")}},
		// Unknown keys are ignored, their values unread.
		{"gopher=g;ws=w;http=a", Rules{Type: RulesPerScheme, ForHTTP: pacList("PROXY a")}},
		{"gopher=ftp://x", Rules{Type: RulesPerScheme}},
		// Credentials are kept.
		{"http=user:pa%20ss@a:3128", Rules{Type: RulesPerScheme, ForHTTP: List{{
			{Scheme: SchemeHTTP, Host: "a", Port: 3128, Username: "user", Password: "pa ss"}}}}},
	} {
		got, err := ParseRules(tc.in)
		if err != nil {
			t.Errorf("ParseRules(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRules(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, tc := range []struct{ in, named string }{
		{"ftp://a", "ftp://a"},
		{"a,quic://b", "quic://b"},
		{"a:99999", "a:99999"},
		{"http://", "http://"},
		{"http://a/path", "http://a/path"},
		{"http=a;https=ftp://b", "ftp://b"},
		{"socks=s:0", "s:0"},
		{"http=", "http="},
		{"https= , ", "https="},
		{",,", ",,"},
	} {
		_, err := ParseRules(tc.in)
		if err == nil {
			t.Errorf("ParseRules(%q) succeeded", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.named) {
			t.Errorf("ParseRules(%q) error %q does not name %q", tc.in, err, tc.named)
		}
	}
}

func TestRulesApply(t *testing.T) {
	mustRules := func(s, bypass string, reverse bool) Rules {
		r, err := ParseRules(s)
		if err != nil {
			t.Fatal(err)
		}
		r.Bypass, r.ReverseBypass = mustBypass(t, bypass), reverse
		return r
	}
	for _, tc := range []struct {
		rules, bypass string
		reverse       bool
		url           string
		want          string
		bypassed      bool
	}{
		{"", "", false, "http://a/", "DIRECT", false},
		{"", "", false, "http://localhost/", "DIRECT", false},
		{"", "*", true, "http://a/", "DIRECT", false},
		{"p:1,q", "", false, "http://a/", "PROXY p:1; PROXY q:80", false},
		{"p:1", "", false, "wss://a/", "PROXY p:1", false},
		{"p:1", "", false, "gopher://a/", "PROXY p:1", false},
		// Bypass rules, implicit and explicit.
		{"p:1", "", false, "http://localhost:8080/", "DIRECT", true},
		{"p:1", "<-loopback>", false, "http://localhost:8080/", "PROXY p:1", false},
		{"p:1", "*.corp", false, "http://a.corp/", "DIRECT", true},
		{"p:1", "*.corp", false, "http://a.com/", "PROXY p:1", false},
		// A reversed list names the only hosts that use the proxy.
		{"p:1", "*.corp", true, "http://a.corp/", "PROXY p:1", false},
		{"p:1", "*.corp", true, "http://a.com/", "DIRECT", true},
		{"p:1", "*.corp", true, "http://127.0.0.1/", "DIRECT", true},
		// Per scheme.
		{"http=h;https=s;ftp=f", "", false, "http://a/", "PROXY h:80", false},
		{"http=h;https=s;ftp=f", "", false, "HTTPS://a/", "PROXY s:80", false},
		{"http=h;https=s;ftp=f", "", false, "ftp://a/", "PROXY f:80", false},
		{"http=h;https=s;ftp=f", "", false, "gopher://a/", "DIRECT", false},
		{"http=h;socks=k", "", false, "https://a/", "SOCKS k:1080", false},
		{"http=h;socks=k", "", false, "http://a/", "PROXY h:80", false},
		{"http=h;socks=k", "", false, "gopher://a/", "SOCKS k:1080", false},
		{"https=s", "", false, "http://a/", "DIRECT", false},
		{"http=h;https=s", "a", false, "http://a/", "DIRECT", true},
		// WebSockets: the fallback, then the HTTPS list, then the HTTP one.
		{"http=h;https=s;socks=k", "", false, "ws://a/", "SOCKS k:1080", false},
		{"http=h;https=s;socks=k", "", false, "wss://a/", "SOCKS k:1080", false},
		{"http=h;https=s", "", false, "ws://a/", "PROXY s:80", false},
		{"http=h;https=s", "", false, "wss://a/", "PROXY s:80", false},
		{"http=h", "", false, "wss://a/", "PROXY h:80", false},
		{"http=h", "", false, "ws://a/", "PROXY h:80", false},
		{"ftp=f", "", false, "ws://a/", "DIRECT", false},
	} {
		l, bypassed := mustRules(tc.rules, tc.bypass, tc.reverse).Apply(mustURL(t, tc.url))
		if l.PACString() != tc.want || bypassed != tc.bypassed {
			t.Errorf("%q (bypass %q, reverse %v) on %s = %q, %v; want %q, %v",
				tc.rules, tc.bypass, tc.reverse, tc.url, l.PACString(), bypassed, tc.want, tc.bypassed)
		}
	}
}

func TestRulesApplyCopies(t *testing.T) {
	r := Rules{Type: RulesList, Single: pacList("PROXY a; PROXY b")}
	l, _ := r.Apply(mustURL(t, "http://x/"))
	l[0][0].Host = "changed"
	l[1] = DirectChain()
	if r.Single.PACString() != "PROXY a:80; PROXY b:80" {
		t.Errorf("Apply's list aliases the rules: %q", r.Single.PACString())
	}
	// Rules built by hand with an empty list still give a route.
	if l, _ := (Rules{Type: RulesList}).Apply(mustURL(t, "http://x/")); l.PACString() != "DIRECT" {
		t.Errorf("empty single list: %q", l.PACString())
	}
}

func TestRulesToValue(t *testing.T) {
	for _, tc := range []struct {
		rules, bypass string
		reverse       bool
		want          netlog.Params
	}{
		{"", "", false, netlog.Params{}},
		{"", "a.com", true, netlog.Params{}},
		{"p:8080,direct://", "", false, netlog.Params{"single_proxy": []string{"[http://p:8080]", "[direct://]"}}},
		{"socks5://s", "<-loopback>;.Corp;10.0.0.0/8", false, netlog.Params{
			"single_proxy": []string{"[socks5://s:1080]"},
			"bypass_list":  []string{"<-loopback>", "*.corp", "10.0.0.0/8"},
		}},
		{"p", "a.com", true, netlog.Params{
			"single_proxy":   []string{"[http://p:80]"},
			"bypass_list":    []string{"a.com"},
			"reverse_bypass": true,
		}},
		{"http=h;https=https://s;socks=k", "", false, netlog.Params{"proxy_per_scheme": netlog.Params{
			"http": []string{"[http://h:80]"}, "https": []string{"[https://s:443]"}, "fallback": []string{"[socks4://k:1080]"},
		}}},
		{"ftp=f,g", "", false, netlog.Params{"proxy_per_scheme": netlog.Params{
			"ftp": []string{"[http://f:80]", "[http://g:80]"},
		}}},
		{"gopher=g", "", false, netlog.Params{"proxy_per_scheme": netlog.Params{}}},
	} {
		r, err := ParseRules(tc.rules)
		if err != nil {
			t.Fatal(err)
		}
		r.Bypass, r.ReverseBypass = mustBypass(t, tc.bypass), tc.reverse
		if got := r.ToValue(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q (bypass %q): ToValue() = %v, want %v", tc.rules, tc.bypass, got, tc.want)
		}
	}
	// Credentials never reach the NetLog.
	r, _ := ParseRules("http://user:secret@p")
	if v := r.ToValue(); strings.Contains(strings.Join(v["single_proxy"].([]string), ""), "secret") {
		t.Errorf("ToValue shows credentials: %v", v)
	}
}
