//go:build race

package main

// raceEnabled: the race detector makes sync.Pool drop a share of what it is
// given, on purpose, so allocation counts that rely on a pool do not hold.
const raceEnabled = true
