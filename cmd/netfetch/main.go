// Command netfetch fetches URLs through the netfetch stack, in the manner
// of curl:
//
//	netfetch [flags] URL [URL...]
//
// All URLs are fetched concurrently through one urlrequest.Context, so they
// share its host resolver, socket pools and NetLog. Bodies are written
// byte for byte, in URL order, to stdout, to one file (-o) or to one file
// per URL (--output-dir). Run "netfetch -h" for the flags; the differences
// from curl are listed there too.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
