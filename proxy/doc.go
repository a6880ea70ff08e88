// Package proxy decides how a URL is reached, after Chromium's
// net/proxy_resolution: a ResolutionService answers, for each request, the
// list of routes (proxies or DIRECT) to try. Today every configuration is
// direct; manual rules, the environment and PAC scripts arrive behind the
// same service.
package proxy
