// Package urlrequest is the top of the netfetch stack, after Chromium's
// net/url_request: a Context that owns the loop and every shared service,
// Requests driven by a Delegate on that loop, and two blocking facades for
// ordinary Go code — Context.Fetch and Context.RoundTripper.
//
// Most programs need only the facades:
//
//	ctx, _ := urlrequest.NewBuilder().Build()
//	defer ctx.Close()
//	resp, err := ctx.Fetch(context.Background(), &urlrequest.FetchRequest{URL: "http://example.com/"})
//
// or, to use the stack under net/http's client:
//
//	client := &http.Client{Transport: ctx.RoundTripper()}
//
// The asynchronous API (NewRequest, Delegate) must be used on the
// Context's loop: post work to it with Context.Loop().Post.
package urlrequest
