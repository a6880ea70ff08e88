package urlrequest

import (
	"errors"
	"fmt"
	gohttp "net/http"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// RoundTripper returns an http.RoundTripper that sends requests through the
// Context, so an http.Client gets this stack's pools, limits and NetLog.
// Redirects are left to the http.Client, as an http.RoundTripper must.
func (c *Context) RoundTripper() gohttp.RoundTripper { return roundTripper{c} }

type roundTripper struct{ c *Context }

// RoundTrip implements http.RoundTripper.
func (t roundTripper) RoundTrip(req *gohttp.Request) (*gohttp.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("netfetch: nil Request.URL")
	}
	fr := &FetchRequest{
		Method:            req.Method,
		URL:               req.URL.String(),
		NoFollowRedirects: true,
	}
	if req.Host != "" && req.Host != req.URL.Host {
		fr.Headers = append(fr.Headers, Header{"Host", req.Host})
	}
	for name, values := range req.Header {
		for _, v := range values {
			fr.Headers = append(fr.Headers, Header{name, v})
		}
	}
	if req.Body != nil && req.Body != gohttp.NoBody {
		fr.BodyReader = req.Body
		fr.ContentLength = req.ContentLength
		if req.ContentLength <= 0 {
			fr.ContentLength = -1
		}
	}
	resp, err := t.c.Fetch(req.Context(), fr)
	if errors.Is(err, net.ErrCacheMiss) {
		// RFC 9111 §5.2.1.7: only-if-cached with nothing stored is a 504.
		closeBody(req)
		return gatewayTimeout(req), nil
	}
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("netfetch: %s %s: %w", req.Method, req.URL, err)
	}
	// The stream sends the whole request body before it reads the response
	// head, so the body's reader is done with it: close it, as the
	// RoundTripper contract requires.
	closeBody(req)
	h := resp.Headers
	major, minor := h.Version()
	out := &gohttp.Response{
		Status:        strings.TrimPrefix(h.StatusLine(), fmt.Sprintf("HTTP/%d.%d ", major, minor)),
		StatusCode:    h.StatusCode(),
		Proto:         fmt.Sprintf("HTTP/%d.%d", major, minor),
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        make(gohttp.Header),
		Body:          resp.Body,
		ContentLength: -1,
		Request:       req,
	}
	for _, f := range h.Headers() {
		out.Header.Add(f.Name, f.Value)
	}
	if out.Header.Get("Transfer-Encoding") == "" {
		if n, err := strconv.ParseInt(out.Header.Get("Content-Length"), 10, 64); err == nil {
			out.ContentLength = n
		}
	} else {
		out.TransferEncoding = []string{"chunked"}
		out.Header.Del("Transfer-Encoding")
	}
	if req.Method == "HEAD" {
		out.Body = gohttp.NoBody
		resp.Body.Close()
	}
	return out, nil
}

// gatewayTimeout is the response of a cache that may not ask the origin.
func gatewayTimeout(req *gohttp.Request) *gohttp.Response {
	return &gohttp.Response{
		Status: "504 Gateway Timeout", StatusCode: gohttp.StatusGatewayTimeout,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: gohttp.Header{"Content-Length": {"0"}}, Body: gohttp.NoBody, Request: req,
	}
}

func closeBody(req *gohttp.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
