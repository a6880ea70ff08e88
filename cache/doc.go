// Package cache is the HTTP cache layer of the stack, after Chromium's
// HttpCache: a TransactionFactory between URL requests and the network
// layer. A Transaction (a DoLoop state machine) serves fresh stored
// responses, revalidates stale ones with If-None-Match/If-Modified-Since
// and merges a 304 into the stored headers, stores what RFC 9111 lets a
// private cache store (one entry per Vary variant), invalidates on unsafe
// methods, and lets one transaction per URL fetch while the others wait
// for its entry (20 s at most). Entries live in a Backend: in memory
// (NewMemoryBackend, an LRU) or on disk (OpenDiskBackend: a file per entry
// with a checksum, written atomically, an index, LRU eviction under a size
// limit, and a lock against a second process).
package cache
