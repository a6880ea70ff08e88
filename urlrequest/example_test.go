package urlrequest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	gohttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

func ExampleContext_Fetch() {
	srv := httptest.NewServer(gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		if r.URL.Path == "/old" {
			gohttp.Redirect(w, r, "/new", gohttp.StatusMovedPermanently)
			return
		}
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	}))
	defer srv.Close()

	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Fetch(ctx, &urlrequest.FetchRequest{URL: srv.URL + "/old"})
	if err != nil {
		log.Fatal(err)
	}
	body, err := urlrequest.ReadAll(resp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("redirects:", len(resp.URLChain)-1, "final path:", resp.URL.Path)

	// Failures are Chromium's net errors.
	_, err = c.Fetch(ctx, &urlrequest.FetchRequest{URL: "ftp://example.com/"})
	fmt.Println(errors.Is(err, net.ErrUnknownURLScheme))
	// Output:
	// 200 hello from /new
	// redirects: 1 final path: /new
	// true
}

func ExampleContext_RoundTripper() {
	srv := httptest.NewServer(gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", r.Method, strings.ToUpper(string(body)))
	}))
	defer srv.Close()

	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	client := &gohttp.Client{Transport: c.RoundTripper(), Timeout: 10 * time.Second}
	resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("shout"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), resp.ContentLength)
	fmt.Println(string(body))
	// Output:
	// 200 OK text/plain 10
	// POST SHOUT
}

// exampleDelegate prints what a Request tells it and reads the body.
type exampleDelegate struct {
	buf  []byte
	body []byte
	done chan struct{}
}

func (d *exampleDelegate) OnReceivedRedirect(r *urlrequest.Request, info urlrequest.RedirectInfo, deferRedirect *bool) {
	fmt.Println("redirect", info.StatusCode, "to", info.NewURL.Path)
}

func (d *exampleDelegate) OnResponseStarted(r *urlrequest.Request, result int) {
	if result != net.OK {
		fmt.Println("failed:", net.Error(result))
		close(d.done)
		return
	}
	fmt.Println("response", r.Response().Headers.StatusCode())
	d.read(r)
}

func (d *exampleDelegate) read(r *urlrequest.Request) {
	for {
		n := r.Read(d.buf)
		if n == net.IOPending {
			return // OnReadCompleted follows
		}
		if !d.took(n) {
			return
		}
	}
}

func (d *exampleDelegate) took(n int) bool {
	if n > 0 {
		d.body = append(d.body, d.buf[:n]...)
		return true
	}
	if n < 0 {
		fmt.Println("read failed:", net.Error(n))
	} else {
		fmt.Printf("body %q\n", d.body)
	}
	close(d.done)
	return false
}

func (d *exampleDelegate) OnReadCompleted(r *urlrequest.Request, n int) {
	if d.took(n) {
		d.read(r)
	}
}

func ExampleContext_NewRequest() {
	srv := httptest.NewServer(gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		if r.URL.Path == "/start" {
			gohttp.Redirect(w, r, "/end", gohttp.StatusFound)
			return
		}
		io.WriteString(w, "the end")
	}))
	defer srv.Close()

	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	u, _ := url.Parse(srv.URL + "/start")
	d := &exampleDelegate{buf: make([]byte, 4096), done: make(chan struct{})}
	// Requests live on the Context's loop.
	c.Loop().Post(func() {
		c.NewRequest(u, net.DefaultPriority, d).Start()
	})
	<-d.done
	// Output:
	// redirect 302 to /end
	// response 200
	// body "the end"
}
