package dns

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestDNSConfigParseResolvConf(t *testing.T) {
	ns := func(ss ...string) []netip.AddrPort {
		out := make([]netip.AddrPort, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParseAddrPort(s)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		conf     string
		hostname string
		want     DNSConfig
	}{
		{
			name: "defaults",
			conf: "nameserver 192.0.2.53\n",
			want: DNSConfig{Nameservers: ns("192.0.2.53:53"), Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			name: "everything",
			conf: `# generated
; also a comment
nameserver 192.0.2.1
nameserver   2001:db8::53
nameserver ::ffff:192.0.2.3
nameserver 192.0.2.4
search corp.example. example.com
options ndots:3 timeout:2 attempts:4 rotate edns0 single-request
`,
			want: DNSConfig{
				// At most three servers, as glibc; a mapped address is IPv4.
				Nameservers: ns("192.0.2.1:53", "[2001:db8::53]:53", "192.0.2.3:53"),
				Search:      []string{"corp.example", "example.com"},
				Ndots:       3, Timeout: 2 * time.Second, Attempts: 4, Rotate: true,
			},
		},
		{
			name: "domain then search: the last wins",
			conf: "domain a.example\nsearch b.example c.example\n",
			want: DNSConfig{Search: []string{"b.example", "c.example"}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			name: "search then domain: the last wins",
			conf: "search b.example c.example\ndomain a.example\n",
			want: DNSConfig{Search: []string{"a.example"}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			name:     "search from the hostname",
			conf:     "nameserver 192.0.2.1\n",
			hostname: "box.lab.example",
			want:     DNSConfig{Nameservers: ns("192.0.2.1:53"), Search: []string{"lab.example"}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			name: "clamped and bad values",
			conf: "options ndots:99 timeout:0 attempts:100\noptions ndots:x timeout: attempts:-1\n" +
				"nameserver not-an-ip\nnameserver 0.0.0.0\nnameserver\nsearch .\n",
			want: DNSConfig{Ndots: 15, Timeout: time.Second, Attempts: 5},
		},
		{
			name: "large timeout",
			conf: "options timeout:3600\n",
			want: DNSConfig{Ndots: 1, Timeout: 30 * time.Second, Attempts: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultDNSConfig()
			parseResolvConf(&cfg, []byte(tc.conf), tc.hostname)
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("got  %+v\nwant %+v", cfg, tc.want)
			}
		})
	}
}

func TestDNSConfigParseHosts(t *testing.T) {
	hosts := parseHostsFile([]byte(`# comment
127.0.0.1	localhost
::1		localhost ip6-localhost   # trailing comment
192.0.2.1 Www.Example.COM www
192.0.2.2 www.example.com
192.0.2.1 www.example.com
2001:db8::1 www.example.com
::ffff:192.0.2.9 mapped.example
not-an-address bad.example
192.0.2.3
192.0.2.4 trailing.dot.
   # indented comment
`))
	want := map[string][]netip.Addr{
		"localhost":       dcAddrs("127.0.0.1", "::1"),
		"ip6-localhost":   dcAddrs("::1"),
		"www.example.com": dcAddrs("192.0.2.1", "192.0.2.2", "2001:db8::1"),
		"www":             dcAddrs("192.0.2.1"),
		"mapped.example":  dcAddrs("192.0.2.9"),
		"trailing.dot":    dcAddrs("192.0.2.4"),
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("got  %v\nwant %v", hosts, want)
	}
}

func TestDNSConfigReadFiles(t *testing.T) {
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	hostsFile := filepath.Join(dir, "hosts")
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.1\nsearch example\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostsFile, []byte("192.0.2.7 printer printer.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadDNSConfig(resolv, hostsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Usable() || cfg.Ndots != 2 || !reflect.DeepEqual(cfg.Search, []string{"example"}) {
		t.Errorf("config: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Hosts["printer.example"], dcAddrs("192.0.2.7")) {
		t.Errorf("hosts: %v", cfg.Hosts)
	}

	// No hosts file is no hosts, not an error.
	cfg, err = ReadDNSConfig(resolv, filepath.Join(dir, "missing"))
	if err != nil || len(cfg.Hosts) != 0 || !cfg.Usable() {
		t.Errorf("missing hosts file: %+v, %v", cfg, err)
	}
	cfg, err = ReadDNSConfig(resolv, "")
	if err != nil || !cfg.Usable() {
		t.Errorf("no hosts file: %+v, %v", cfg, err)
	}

	// No resolv.conf is an error, with the defaults and the hosts.
	cfg, err = ReadDNSConfig(filepath.Join(dir, "missing"), hostsFile)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
	if cfg.Usable() || cfg.Ndots != 1 || cfg.Attempts != 2 || cfg.Timeout != 5*time.Second || len(cfg.Hosts) != 2 {
		t.Errorf("config without resolv.conf: %+v", cfg)
	}

	// A resolv.conf without nameservers is read but not usable.
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("search example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := ReadDNSConfig(empty, ""); err != nil || cfg.Usable() {
		t.Errorf("empty: %+v, %v", cfg, err)
	}
}

func TestDNSConfigNetLogParams(t *testing.T) {
	cfg := DNSConfig{
		Nameservers: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:53"), netip.MustParseAddrPort("[2001:db8::1]:53")},
		Search:      []string{"example"},
		Ndots:       2, Timeout: 1500 * time.Millisecond, Attempts: 3, Rotate: true,
		Hosts: map[string][]netip.Addr{
			"a": dcAddrs("192.0.2.1", "::1"),
			"b": dcAddrs("192.0.2.2", "192.0.2.3"),
		},
	}
	b, err := json.Marshal(cfg.NetLogParams())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"nameservers":                  []any{"192.0.2.1:53", "[2001:db8::1]:53"},
		"dns_over_tls_active":          false,
		"dns_over_tls_hostname":        "",
		"search":                       []any{"example"},
		"unhandled_options":            false,
		"append_to_multi_label_name":   true,
		"ndots":                        2.0,
		"timeout":                      1.5,
		"attempts":                     3.0,
		"doh_attempts":                 1.0,
		"rotate":                       true,
		"use_local_ipv6":               false,
		"num_hosts":                    3.0, // one per name and family
		"doh_config":                   map[string]any{"servers": []any{}},
		"secure_dns_mode":              0.0,
		"allow_dns_over_https_upgrade": false,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	// The viewer checks nameservers to tell a usable config: an empty list,
	// not null.
	b, _ = json.Marshal(DefaultDNSConfig().NetLogParams())
	if err := json.Unmarshal(b, &got); err != nil || got["nameservers"] == nil || got["search"] == nil {
		t.Errorf("empty config: %s", b)
	}
}
