package net

// LoadState says what a request is waiting for, with Chromium's values
// (net/base/load_states_list.h).
type LoadState int

// Chromium's load states.
const (
	LoadStateIdle LoadState = iota
	LoadStateWaitingForStalledSocketPool
	LoadStateWaitingForAvailableSocket
	LoadStateWaitingForDelegate
	LoadStateWaitingForCache
	LoadStateObsoleteWaitingForAppcache
	LoadStateDownloadingPACFile
	LoadStateResolvingProxyForURL
	LoadStateResolvingHostInPACFile
	LoadStateEstablishingProxyTunnel
	LoadStateResolvingHost
	LoadStateConnecting
	LoadStateSSLHandshake
	LoadStateSendingRequest
	LoadStateWaitingForResponse
	LoadStateReadingResponse
)

var loadStateNames = [...]string{
	"IDLE", "WAITING_FOR_STALLED_SOCKET_POOL", "WAITING_FOR_AVAILABLE_SOCKET",
	"WAITING_FOR_DELEGATE", "WAITING_FOR_CACHE", "OBSOLETE_WAITING_FOR_APPCACHE",
	"DOWNLOADING_PAC_FILE", "RESOLVING_PROXY_FOR_URL", "RESOLVING_HOST_IN_PAC_FILE",
	"ESTABLISHING_PROXY_TUNNEL", "RESOLVING_HOST", "CONNECTING", "SSL_HANDSHAKE",
	"SENDING_REQUEST", "WAITING_FOR_RESPONSE", "READING_RESPONSE",
}

// String returns Chromium's name, e.g. "RESOLVING_HOST".
func (s LoadState) String() string {
	if s >= 0 && int(s) < len(loadStateNames) {
		return loadStateNames[s]
	}
	return "UNKNOWN"
}

// LoadStateConstants returns the NetLog "loadState" constants table.
func LoadStateConstants() map[string]int {
	m := make(map[string]int, len(loadStateNames))
	for i, n := range loadStateNames {
		m[n] = i
	}
	return m
}
