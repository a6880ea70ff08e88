// Package netlog records what the stack does as typed events, after
// Chromium's net/log, and writes them in the JSON format that Chromium's
// netlog-viewer loads.
//
// Every object that does work (a request, a socket, a connect job) owns a
// Source; events are attached to sources and may point at other sources with
// a "source_dependency" parameter. Event and source types are Chromium's
// (generated from event_type_list.txt and source_type_list.txt), so a
// netfetch dump reads in netlog-viewer as Chrome's own does.
package netlog

//go:generate go run ../internal/gentables -kind events -in event_type_list.txt -out event_type_list.go
//go:generate go run ../internal/gentables -kind sources -in source_type_list.txt -out source_type_list.go
