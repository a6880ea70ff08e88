package proxy

import (
	"reflect"
	"strings"
	"testing"
)

// env is a getenv over a map.
type env map[string]string

func (e env) get(name string) string { return e[name] }

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		env                        env
		http, https, fallback, nop string // PAC forms; nop: "" when not ok
	}{
		{name: "nothing", env: env{}},
		{name: "no_proxy alone", env: env{"no_proxy": "a.com"}},
		{name: "empty values", env: env{"http_proxy": "", "HTTPS_PROXY": ""}},
		{name: "http", env: env{"http_proxy": "proxy:3128"}, http: "PROXY proxy:3128", nop: "ok"},
		{name: "HTTP", env: env{"HTTP_PROXY": "http://proxy"}, http: "PROXY proxy:80", nop: "ok"},
		{name: "lower wins", env: env{"http_proxy": "lower", "HTTP_PROXY": "upper", "https_proxy": "s-lower",
			"HTTPS_PROXY": "s-upper", "all_proxy": "a-lower", "ALL_PROXY": "a-upper"},
			http: "PROXY lower:80", https: "PROXY s-lower:80", fallback: "PROXY a-lower:80", nop: "ok"},
		{name: "upper when lower empty", env: env{"https_proxy": "", "HTTPS_PROXY": "https://s"},
			https: "HTTPS s:443", nop: "ok"},
		{name: "CGI ignores HTTP_PROXY", env: env{"REQUEST_METHOD": "GET", "HTTP_PROXY": "evil"}},
		{name: "CGI keeps the others", env: env{"REQUEST_METHOD": "GET", "HTTP_PROXY": "evil", "HTTPS_PROXY": "s",
			"ALL_PROXY": "a"}, https: "PROXY s:80", fallback: "PROXY a:80", nop: "ok"},
		{name: "CGI keeps http_proxy", env: env{"REQUEST_METHOD": "GET", "http_proxy": "p"}, http: "PROXY p:80", nop: "ok"},
		{name: "all_proxy", env: env{"all_proxy": "socks5://s"}, fallback: "SOCKS5 s:1080", nop: "ok"},
		{name: "schemes", env: env{"http_proxy": "socks4://a", "https_proxy": "socks5h://b:9050", "all_proxy": "socks://c"},
			http: "SOCKS a:1080", https: "SOCKS5 b:9050", fallback: "SOCKS5 c:1080", nop: "ok"},
		{name: "trailing slash", env: env{"https_proxy": "http://p:8080/"}, https: "PROXY p:8080", nop: "ok"},
	} {
		c, ok, err := ConfigFromEnv(tc.env.get)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if ok != (tc.nop != "") {
			t.Errorf("%s: ok = %v", tc.name, ok)
		}
		if !ok {
			if !c.IsDirect() {
				t.Errorf("%s: not ok but %+v", tc.name, c)
			}
			continue
		}
		r := c.Rules
		if r.Type != RulesPerScheme || c.HasAutomaticSettings() || r.ForFTP != nil || r.Single != nil {
			t.Errorf("%s: %+v", tc.name, c)
		}
		for _, l := range []struct {
			what      string
			got       List
			wantPAC   string
			wantEmpty bool
		}{
			{"http", r.ForHTTP, tc.http, tc.http == ""},
			{"https", r.ForHTTPS, tc.https, tc.https == ""},
			{"fallback", r.Fallback, tc.fallback, tc.fallback == ""},
		} {
			if (len(l.got) == 0) != l.wantEmpty || (!l.wantEmpty && l.got.PACString() != l.wantPAC) {
				t.Errorf("%s: %s list %q, want %q", tc.name, l.what, l.got.PACString(), l.wantPAC)
			}
		}
	}
}

func TestConfigFromEnvSOCKS4a(t *testing.T) {
	c, _, err := ConfigFromEnv(env{"all_proxy": "socks4a://user@s"}.get)
	want := List{{{Scheme: SchemeSOCKS4a, Host: "s", Port: 1080, Username: "user"}}}
	if err != nil || !reflect.DeepEqual(c.Rules.Fallback, want) {
		t.Errorf("socks4a: %v, %v", c.Rules.Fallback, err)
	}
}

func TestConfigFromEnvApply(t *testing.T) {
	c, _, err := ConfigFromEnv(env{"http_proxy": "h", "all_proxy": "socks5://a", "no_proxy": "corp"}.get)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"http://x/":        "PROXY h:80",
		"https://x/":       "SOCKS5 a:1080",
		"wss://x/":         "SOCKS5 a:1080",
		"ftp://x/":         "SOCKS5 a:1080",
		"http://a.corp/":   "DIRECT",
		"http://localhost": "DIRECT",
	} {
		if l, _ := c.Rules.Apply(mustURL(t, url)); l.PACString() != want {
			t.Errorf("%s: %q, want %q", url, l.PACString(), want)
		}
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		env  env
		name string
	}{
		{env{"http_proxy": "ftp://p"}, "$http_proxy"},
		{env{"HTTPS_PROXY": "p:99999"}, "$HTTPS_PROXY"},
		{env{"all_proxy": "direct://"}, "$all_proxy"},
		{env{"ALL_PROXY": "http://"}, "$ALL_PROXY"},
		{env{"http_proxy": "ok", "https_proxy": "quic://q"}, "$https_proxy"},
		{env{"http_proxy": "http://p/path"}, "$http_proxy"},
	} {
		c, ok, err := ConfigFromEnv(tc.env.get)
		if err == nil || ok || !c.IsDirect() {
			t.Errorf("%v: %+v, %v, %v", tc.env, c, ok, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%v: error %q does not name %s", tc.env, err, tc.name)
		}
	}
}

func TestNoProxy(t *testing.T) {
	for _, tc := range []struct {
		noProxy string
		rules   []string // Strings() of the bypass rules
		yes, no []string
	}{
		{"", []string{}, nil, []string{"http://a.com/"}},
		{"*", []string{"*"}, []string{"http://a.com/", "https://1.2.3.4:99/"}, nil},
		{"example.com", []string{"example.com", "*.example.com"},
			[]string{"http://example.com/", "https://www.example.com/", "http://a.b.example.com:81/"},
			[]string{"http://notexample.com/", "http://example.com.au/"}},
		{".example.com", []string{"*.example.com"},
			[]string{"http://www.example.com/"}, []string{"http://example.com/"}},
		{"*.example.com", []string{"*.example.com"},
			[]string{"http://www.example.com/"}, []string{"http://example.com/"}},
		{"Example.COM:8080", []string{"example.com:8080", "*.example.com:8080"},
			[]string{"http://example.com:8080/", "http://a.example.com:8080/"}, []string{"http://example.com/"}},
		{"example.com:443", []string{"example.com:443", "*.example.com:443"},
			[]string{"https://example.com/"}, []string{"http://example.com/"}},
		{"10.1.2.3", []string{"10.1.2.3"}, []string{"http://10.1.2.3:81/"}, []string{"http://10.1.2.4/"}},
		{"10.1.2.3:80", []string{"10.1.2.3:80"}, []string{"http://10.1.2.3/"}, []string{"https://10.1.2.3/"}},
		{"2001:db8::1", []string{"[2001:db8::1]"}, []string{"http://[2001:db8::1]/"}, nil},
		{"[2001:db8::1]:80", []string{"[2001:db8::1]:80"}, []string{"http://[2001:db8::1]/"}, []string{"https://[2001:db8::1]/"}},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, []string{"http://10.9.9.9/", "http://[::ffff:10.0.0.1]/"}, []string{"http://11.0.0.1/"}},
		{"2001:db8::/32", []string{"2001:db8::/32"}, []string{"http://[2001:db8::5]/"}, nil},
		// Separated by commas and white space; invalid entries skipped.
		{" a.com,b.com  c.com\t, ,d.com:99999,[::1,*foo.com,http://e.com,f.com:0,[1.2.3.4]:80,:80,g_h.com",
			[]string{"a.com", "*.a.com", "b.com", "*.b.com", "c.com", "*.c.com", "g_h.com", "*.g_h.com"},
			[]string{"http://a.com/", "http://b.com/", "http://x.c.com/"},
			[]string{"http://d.com/", "http://foo.com/", "http://xfoo.com/", "http://e.com/", "http://f.com/"}},
	} {
		c, ok, err := ConfigFromEnv(env{"https_proxy": "p", "NO_PROXY": tc.noProxy}.get)
		if err != nil || !ok {
			t.Fatalf("%q: %v, %v", tc.noProxy, ok, err)
		}
		b := c.Rules.Bypass
		if got := b.Strings(); !reflect.DeepEqual(got, tc.rules) {
			t.Errorf("%q: rules %q, want %q", tc.noProxy, got, tc.rules)
		}
		for _, u := range tc.yes {
			if !b.Bypasses(mustURL(t, u)) {
				t.Errorf("%q: %s not bypassed", tc.noProxy, u)
			}
		}
		for _, u := range tc.no {
			if b.Bypasses(mustURL(t, u)) {
				t.Errorf("%q: %s bypassed", tc.noProxy, u)
			}
		}
		// The conversion is in the bypass grammar: it reads back the same.
		if again := mustBypass(t, b.String()); !reflect.DeepEqual(again, b) {
			t.Errorf("%q: %q reads back differently", tc.noProxy, b.String())
		}
	}
	// no_proxy wins over NO_PROXY like the others.
	c, _, _ := ConfigFromEnv(env{"http_proxy": "p", "no_proxy": "lower.com", "NO_PROXY": "upper.com"}.get)
	if got := c.Rules.Bypass.String(); got != "lower.com;*.lower.com" {
		t.Errorf("no_proxy over NO_PROXY: %q", got)
	}
}
