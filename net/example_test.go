package net_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// A Loop owns state that only its tasks touch; blocking work runs with Go and
// reports back on the loop.
func ExampleLoop() {
	loop := net.NewLoop()

	var events []string // owned by the loop: no lock needed
	done := make(chan struct{})

	loop.Post(func() {
		events = append(events, "start")
		net.Go(loop, func(ctx context.Context) (string, error) {
			// Off the loop: this is where a dial or a disk read would block.
			return strings.ToUpper("hello"), nil
		}, func(v string, err error) {
			// Back on the loop.
			events = append(events, "got "+v)
			close(done)
		})
	})
	<-done

	loop.PostAndWait(func() { fmt.Println(strings.Join(events, ", ")) })

	// Shutdown aborts what is still in flight and stops the loop.
	loop.Shutdown()
	fmt.Println("post after shutdown:", loop.Post(func() {}))
	// Output:
	// start, got HELLO
	// post after shutdown: false
}
