package net_test

import (
	"net/netip"
	"testing"

	"github.com/netfetch/netfetch/net"
)

// Chromium's load flags (net/base/load_flags_list.h; chromium-net.md §7.3).
var chromiumLoadFlags = []struct {
	name string
	flag net.LoadFlags
	bit  int // -1 for NORMAL
}{
	{"NORMAL", net.LoadNormal, -1},
	{"VALIDATE_CACHE", net.LoadValidateCache, 0},
	{"BYPASS_CACHE", net.LoadBypassCache, 1},
	{"SKIP_CACHE_VALIDATION", net.LoadSkipCacheValidation, 2},
	{"ONLY_FROM_CACHE", net.LoadOnlyFromCache, 3},
	{"DISABLE_CACHE", net.LoadDisableCache, 4},
	{"DISABLE_CERT_NETWORK_FETCHES", net.LoadDisableCertNetworkFetches, 5},
	{"DO_NOT_SAVE_COOKIES", net.LoadDoNotSaveCookies, 6},
	{"BYPASS_PROXY", net.LoadBypassProxy, 7},
	{"MAIN_FRAME_DEPRECATED", net.LoadMainFrameDeprecated, 8},
	{"PREFETCH", net.LoadPrefetch, 9},
	{"IGNORE_LIMITS", net.LoadIgnoreLimits, 10},
	{"DO_NOT_USE_EMBEDDED_IDENTITY", net.LoadDoNotUseEmbeddedIdentity, 11},
	{"DISABLE_CONNECTION_MIGRATION_TO_CELLULAR", net.LoadDisableConnectionMigrationToCellular, 12},
	{"SUPPORT_ASYNC_REVALIDATION", net.LoadSupportAsyncRevalidation, 13},
	{"RESTRICTED_PREFETCH_FOR_MAIN_FRAME", net.LoadRestrictedPrefetchForMainFrame, 14},
	{"CAN_USE_RESTRICTED_PREFETCH_FOR_MAIN_FRAME", net.LoadCanUseRestrictedPrefetchForMainFrame, 15},
	{"CAN_USE_SHARED_DICTIONARY", net.LoadCanUseSharedDictionary, 16},
	{"DISABLE_SHARED_DICTIONARY_AFTER_CROSS_ORIGIN_REDIRECT", net.LoadDisableSharedDictionaryAfterCrossOriginRedir, 17},
	{"SHOULD_BYPASS_HSTS", net.LoadShouldBypassHSTS, 18},
	{"IS_MAIN_FRAME_ORIGIN_RECENTLY_ACCESSED", net.LoadIsMainFrameOriginRecentlyAccessed, 19},
}

func TestLoadFlagsMatchChromium(t *testing.T) {
	consts := net.LoadFlagConstants()
	if len(consts) != len(chromiumLoadFlags) {
		t.Errorf("LoadFlagConstants has %d entries, want %d", len(consts), len(chromiumLoadFlags))
	}
	for _, f := range chromiumLoadFlags {
		want := 0
		if f.bit >= 0 {
			want = 1 << f.bit
		}
		if int(f.flag) != want {
			t.Errorf("Load%s = %#x, want %#x", f.name, int(f.flag), want)
		}
		if got, ok := consts[f.name]; !ok || got != want {
			t.Errorf("LoadFlagConstants()[%q] = %d, %v; want %d", f.name, got, ok, want)
		}
		if f.flag.String() != f.name {
			t.Errorf("%#x.String() = %q, want %q", int(f.flag), f.flag.String(), f.name)
		}
	}
}

func TestLoadFlagsString(t *testing.T) {
	tests := []struct {
		f    net.LoadFlags
		want string
	}{
		{0, "NORMAL"},
		{net.LoadBypassCache, "BYPASS_CACHE"},
		{net.LoadBypassCache | net.LoadBypassProxy, "BYPASS_CACHE|BYPASS_PROXY"},
		// Chromium's order, not the order the bits were OR-ed in.
		{net.LoadIgnoreLimits | net.LoadValidateCache | net.LoadDoNotSaveCookies,
			"VALIDATE_CACHE|DO_NOT_SAVE_COOKIES|IGNORE_LIMITS"},
		// Bits Chromium does not define are shown, not dropped.
		{1 << 25, "0x2000000"},
		{net.LoadPrefetch | 1<<20 | 1<<31, "PREFETCH|0x80100000"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("LoadFlags(%#x).String() = %q, want %q", uint32(tt.f), got, tt.want)
		}
	}
	all := net.LoadFlags(0)
	for _, f := range chromiumLoadFlags {
		all |= f.flag
	}
	if all != 1<<20-1 {
		t.Errorf("flags cover %#x, want bits 0..19", uint32(all))
	}
}

func TestLoadStatesMatchChromium(t *testing.T) {
	// net/base/load_states_list.h; chromium-net.md §7.4.
	want := []struct {
		s    net.LoadState
		name string
	}{
		{net.LoadStateIdle, "IDLE"},
		{net.LoadStateWaitingForStalledSocketPool, "WAITING_FOR_STALLED_SOCKET_POOL"},
		{net.LoadStateWaitingForAvailableSocket, "WAITING_FOR_AVAILABLE_SOCKET"},
		{net.LoadStateWaitingForDelegate, "WAITING_FOR_DELEGATE"},
		{net.LoadStateWaitingForCache, "WAITING_FOR_CACHE"},
		{net.LoadStateObsoleteWaitingForAppcache, "OBSOLETE_WAITING_FOR_APPCACHE"},
		{net.LoadStateDownloadingPACFile, "DOWNLOADING_PAC_FILE"},
		{net.LoadStateResolvingProxyForURL, "RESOLVING_PROXY_FOR_URL"},
		{net.LoadStateResolvingHostInPACFile, "RESOLVING_HOST_IN_PAC_FILE"},
		{net.LoadStateEstablishingProxyTunnel, "ESTABLISHING_PROXY_TUNNEL"},
		{net.LoadStateResolvingHost, "RESOLVING_HOST"},
		{net.LoadStateConnecting, "CONNECTING"},
		{net.LoadStateSSLHandshake, "SSL_HANDSHAKE"},
		{net.LoadStateSendingRequest, "SENDING_REQUEST"},
		{net.LoadStateWaitingForResponse, "WAITING_FOR_RESPONSE"},
		{net.LoadStateReadingResponse, "READING_RESPONSE"},
	}
	consts := net.LoadStateConstants()
	if len(consts) != len(want) {
		t.Errorf("LoadStateConstants has %d entries, want %d", len(consts), len(want))
	}
	for i, w := range want {
		if int(w.s) != i {
			t.Errorf("LoadState%s = %d, want %d", w.name, int(w.s), i)
		}
		if w.s.String() != w.name {
			t.Errorf("LoadState(%d).String() = %q, want %q", i, w.s.String(), w.name)
		}
		if got, ok := consts[w.name]; !ok || got != i {
			t.Errorf("LoadStateConstants()[%q] = %d, %v; want %d", w.name, got, ok, i)
		}
	}
	for _, s := range []net.LoadState{-1, 16, 100} {
		if s.String() != "UNKNOWN" {
			t.Errorf("LoadState(%d).String() = %q", int(s), s.String())
		}
	}
}

func TestRequestPriorityMatchesChromium(t *testing.T) {
	// net/base/request_priority.h; chromium-net.md §1.9.
	want := []struct {
		p    net.RequestPriority
		name string
	}{
		{net.Throttled, "THROTTLED"},
		{net.Idle, "IDLE"},
		{net.Lowest, "LOWEST"},
		{net.Low, "LOW"},
		{net.Medium, "MEDIUM"},
		{net.Highest, "HIGHEST"},
	}
	for i, w := range want {
		if int(w.p) != i {
			t.Errorf("%s = %d, want %d", w.name, int(w.p), i)
		}
		if w.p.String() != w.name {
			t.Errorf("RequestPriority(%d).String() = %q, want %q", i, w.p.String(), w.name)
		}
		if p, ok := net.ParseRequestPriority(w.name); !ok || p != w.p {
			t.Errorf("ParseRequestPriority(%q) = %v, %v", w.name, p, ok)
		}
	}
	if net.MinimumPriority != net.Throttled || net.MaximumPriority != net.Highest ||
		net.DefaultPriority != net.Lowest || net.NumPriorities != 6 {
		t.Errorf("MINIMUM=%v MAXIMUM=%v DEFAULT=%v NUM=%d; want THROTTLED HIGHEST LOWEST 6",
			net.MinimumPriority, net.MaximumPriority, net.DefaultPriority, net.NumPriorities)
	}
	for _, s := range []string{"", "medium", "Medium", "HIGH", "DEFAULT"} {
		if p, ok := net.ParseRequestPriority(s); ok {
			t.Errorf("ParseRequestPriority(%q) = %v, true", s, p)
		}
	}
	for _, p := range []net.RequestPriority{-1, 6} {
		if p.String() != "UNKNOWN" {
			t.Errorf("RequestPriority(%d).String() = %q", int(p), p.String())
		}
	}
}

func TestAddressList(t *testing.T) {
	l := net.AddressList{
		netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("192.0.2.7:80"),
	}
	got := l.Strings()
	if len(got) != 2 || got[0] != "[2001:db8::1]:443" || got[1] != "192.0.2.7:80" {
		t.Errorf("Strings() = %q", got)
	}
	if s := l.String(); s != "[2001:db8::1]:443, 192.0.2.7:80" {
		t.Errorf("String() = %q", s)
	}
	if s := (net.AddressList{}).String(); s != "" {
		t.Errorf("empty String() = %q", s)
	}
	if net.AddressFamilyUnspecified != 0 || net.AddressFamilyIPv4 != 1 || net.AddressFamilyIPv6 != 2 {
		t.Error("address families differ from Chromium's 0, 1, 2")
	}
}
