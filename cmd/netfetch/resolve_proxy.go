package main

import (
	"context"
	"fmt"
	"io"
)

// resolveProxies is --resolve-proxy: for each URL, in order, one line
// with the routes a request would try, in PAC form.
func (f *fetcher) resolveProxies(ctx context.Context, stdout io.Writer) outcome {
	worst := outcomeOK
	for _, u := range f.o.urls {
		list, err := f.uc.ResolveProxy(ctx, u)
		if err != nil {
			worst = max(worst, f.netFailure(ctx, u, err))
			continue
		}
		if _, err := fmt.Fprintln(stdout, list.PACString()); err != nil {
			return outcomeWriteFailed
		}
	}
	return worst
}
