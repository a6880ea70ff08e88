package netlog

import "net/url"

// URLString formats u for a NetLog parameter: below IncludeSensitive the
// user name and password are left out, as they are credentials.
func URLString(u *url.URL, m CaptureMode) string {
	if u.User == nil || m.IncludesSensitive() {
		return u.String()
	}
	stripped := *u
	stripped.User = nil
	return stripped.String()
}
