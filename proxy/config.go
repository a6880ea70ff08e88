package proxy

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/netlog"
)

// Config is a proxy configuration (Chromium's ProxyConfig). Automatic
// settings, WPAD or a PAC URL, take precedence over the manual Rules.
type Config struct {
	// AutoDetect asks for WPAD.
	AutoDetect bool
	// PACURL is the PAC script's address, nil when none; its scheme is
	// http, https, file or data.
	PACURL *url.URL
	// PACMandatory fails requests when the PAC script cannot be fetched or
	// run, instead of going direct.
	PACMandatory bool
	// Rules are the manual settings, used without automatic ones.
	Rules Rules
}

// DirectConfig is the configuration that uses no proxy.
func DirectConfig() Config { return Config{} }

// HasAutomaticSettings reports whether WPAD or a PAC URL is configured.
func (c Config) HasAutomaticSettings() bool { return c.AutoDetect || c.PACURL != nil }

// IsDirect reports whether every URL goes direct: no automatic settings
// and empty rules.
func (c Config) IsDirect() bool { return !c.HasAutomaticSettings() && c.Rules.Type == RulesEmpty }

// ToValue is the config in the shape of Chromium's ProxyConfig::ToValue,
// which netlog-viewer's Proxy tab shows: "auto_detect", "pac_url" and
// "pac_mandatory" when set, then the keys of Rules.ToValue. A direct
// config gives {}.
func (c Config) ToValue() netlog.Params {
	v := c.Rules.ToValue()
	if c.AutoDetect {
		v["auto_detect"] = true
	}
	if c.PACURL != nil {
		// A PAC URL's password must not reach a log file.
		v["pac_url"] = c.PACURL.Redacted()
		if c.PACMandatory {
			v["pac_mandatory"] = true
		}
	}
	// Rules without proxies carry no bypass list of their own, but with
	// a PAC script "<-loopback>" still matters.
	if c.Rules.Type == RulesEmpty && c.HasAutomaticSettings() && !c.Rules.Bypass.IsEmpty() {
		v["bypass_list"] = c.Rules.Bypass.Strings()
	}
	return v
}

// ParsePACURL parses the address of a PAC script. Only http, https, file
// and data URLs are taken: those are the ones the script can be fetched
// from.
func ParsePACURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("proxy: bad PAC URL %q: %v", s, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("proxy: PAC URL %q has no host", s)
		}
	case "file":
		if u.Path == "" {
			return nil, fmt.Errorf("proxy: PAC URL %q has no path", s)
		}
	case "data":
		if u.Opaque == "" {
			return nil, fmt.Errorf("proxy: PAC URL %q has no data", s)
		}
	case "":
		return nil, fmt.Errorf("proxy: PAC URL %q is not absolute", s)
	default:
		return nil, fmt.Errorf("proxy: PAC URL %q: scheme %q is not http, https, file or data", s, u.Scheme)
	}
	return u, nil
}
