package proxy

import (
	"net/url"
	"time"

	"github.com/netfetch/netfetch/netlog"
)

// PAC download limits (Chromium's PacFileFetcherImpl).
const (
	// MaxPACBytes is the largest PAC file accepted; a bigger one fails
	// with ERR_FILE_TOO_BIG.
	MaxPACBytes = 1 << 20
	// PACFetchTimeout bounds a whole download (ERR_TIMED_OUT).
	PACFetchTimeout = 30 * time.Second
)

// PACFetcher downloads PAC files for the Service. The proxy package cannot
// make URL requests itself (they sit above it), so urlrequest implements
// this: through the stack, never through a proxy (LOAD_BYPASS_PROXY), with
// the MaxPACBytes and PACFetchTimeout limits.
type PACFetcher interface {
	// Fetch starts downloading u (http, https, file or data) and later
	// calls done on the loop with the script or a net error. Events go to
	// nl. After cancel, done never runs.
	Fetch(u *url.URL, nl netlog.WithSource, done func(script string, rv int)) (cancel func())
}
