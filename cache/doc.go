// Package cache is the HTTP cache layer of the stack, after Chromium's
// HttpCache: a TransactionFactory that sits between URL requests and the
// network layer. Today every transaction passes straight through to the
// network; storage and RFC 9111 freshness arrive in their own change, behind
// this same seam.
package cache
