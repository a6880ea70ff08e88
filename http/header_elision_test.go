package http_test

import (
	"testing"

	"github.com/netfetch/netfetch/http"
)

func TestElideHeaderValueForNetLog(t *testing.T) {
	tests := []struct {
		name, value string
		want        string
	}{
		// Whole values hidden.
		{"Set-Cookie", "a=1; Path=/", "[11 bytes were stripped]"},
		{"set-cookie2", "a=1", "[3 bytes were stripped]"},
		{"Cookie", "sid=abc; lang=en", "[16 bytes were stripped]"},
		{"COOKIE", "x", "[1 bytes were stripped]"},
		{"Authorization", "Basic dXNlcjpwYXNz", "[18 bytes were stripped]"},
		{"Proxy-Authorization", "Bearer t", "[8 bytes were stripped]"},
		{"Set-Cookie", "", ""},
		// Length counts bytes, not runes.
		{"Cookie", "é", "[2 bytes were stripped]"},

		// Challenges keep their scheme.
		{"WWW-Authenticate", "Negotiate YIIB==", "Negotiate [6 bytes were stripped]"},
		{"www-authenticate", "NTLM TlRMTVNTUAACAAAA", "NTLM [16 bytes were stripped]"},
		{"Proxy-Authenticate", "Negotiate abc", "Negotiate [3 bytes were stripped]"},
		{"WWW-Authenticate", "  Negotiate \t token \t", "  Negotiate \t [5 bytes were stripped] \t"},
		{"WWW-Authenticate", "\tBearer\tabc", "\tBearer\t[3 bytes were stripped]"},
		// Scheme only: nothing to hide.
		{"WWW-Authenticate", "Negotiate", "Negotiate"},
		{"WWW-Authenticate", "Negotiate   ", "Negotiate   "},
		{"WWW-Authenticate", "   ", "   "},
		{"WWW-Authenticate", "", ""},
		// Basic and Digest are public, in any case.
		{"WWW-Authenticate", `Basic realm="x"`, `Basic realm="x"`},
		{"WWW-Authenticate", `BASIC realm="x"`, `BASIC realm="x"`},
		{"Proxy-Authenticate", `Digest realm="r" nonce="n"`, `Digest realm="r" nonce="n"`},
		// A comma may list several challenges; base64 tokens have none.
		{"WWW-Authenticate", `Negotiate a, Basic realm="x"`, `Negotiate a, Basic realm="x"`},
		{"WWW-Authenticate", `Bearer realm="x", error="invalid"`, `Bearer realm="x", error="invalid"`},

		// Everything else is left alone.
		{"Content-Type", "text/html", "text/html"},
		{"X-Cookie", "secret", "secret"},
		{"Cookies", "secret", "secret"},
		{"Authentication-Info", "nextnonce=x", "nextnonce=x"},
		{"", "value", "value"},
	}
	for _, tt := range tests {
		if got := http.ElideHeaderValueForNetLog(true, tt.name, tt.value); got != tt.want {
			t.Errorf("ElideHeaderValueForNetLog(true, %q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
		// With sensitive data allowed, nothing changes.
		if got := http.ElideHeaderValueForNetLog(false, tt.name, tt.value); got != tt.value {
			t.Errorf("ElideHeaderValueForNetLog(false, %q, %q) = %q", tt.name, tt.value, got)
		}
	}
}
