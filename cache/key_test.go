package cache

import (
	"net/url"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		uploadID int64
		want     string
	}{
		{"plain", "http://example.com/a/b?q=1", 0, "1/0/http://example.com/a/b?q=1"},
		{"fragment dropped", "http://example.com/a#frag", 0, "1/0/http://example.com/a"},
		{"empty fragment dropped", "http://example.com/a#", 0, "1/0/http://example.com/a"},
		{"userinfo dropped", "http://user:pass@example.com/a", 0, "1/0/http://example.com/a"},
		{"user without password dropped", "https://user@example.com/", 0, "1/0/https://example.com/"},
		{"upload id", "http://example.com/form", 42, "1/42/http://example.com/form"},
		{"host lower-cased", "http://Example.COM/Path", 0, "1/0/http://example.com/Path"},
		{"scheme lower-cased", "HTTP://example.com/", 0, "1/0/http://example.com/"},
		{"empty path becomes slash", "http://example.com", 0, "1/0/http://example.com/"},
		{"empty path with query", "http://example.com?x", 0, "1/0/http://example.com/?x"},
		{"http default port dropped", "http://example.com:80/", 0, "1/0/http://example.com/"},
		{"https default port dropped", "https://example.com:443/x", 0, "1/0/https://example.com/x"},
		{"other port kept", "https://example.com:8443/x", 0, "1/0/https://example.com:8443/x"},
		{"other scheme's default kept", "http://example.com:443/", 0, "1/0/http://example.com:443/"},
		{"empty port dropped", "http://example.com:/a", 0, "1/0/http://example.com/a"},
		{"ipv6 default port dropped", "http://[::1]:80/", 0, "1/0/http://[::1]/"},
		{"ipv6 without port", "http://[::1]/", 0, "1/0/http://[::1]/"},
		{"ipv6 other port", "http://[::1]:8080/", 0, "1/0/http://[::1]:8080/"},
		{"empty query kept", "http://example.com/?", 0, "1/0/http://example.com/?"},
		{"escaped path kept", "http://example.com/a%2Fb", 0, "1/0/http://example.com/a%2Fb"},
		{"opaque", "data:text/plain,hi", 0, "1/0/data:text/plain,hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			before := u.String()
			if got := Key(u, tt.uploadID); got != tt.want {
				t.Errorf("Key(%q, %d) = %q, want %q", tt.url, tt.uploadID, got, tt.want)
			}
			if u.String() != before {
				t.Errorf("Key modified its URL: %q, was %q", u.String(), before)
			}
		})
	}
}

func TestKeySpellingsOfOneURLShareAKey(t *testing.T) {
	spellings := []string{
		"http://example.com/",
		"http://EXAMPLE.com:80/",
		"HTTP://example.com",
		"http://u:p@example.com/#top",
	}
	want := Key(mustParseURL(t, spellings[0]), 0)
	for _, s := range spellings[1:] {
		if got := Key(mustParseURL(t, s), 0); got != want {
			t.Errorf("Key(%q) = %q, want %q", s, got, want)
		}
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
