package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"-s"},
		{"--bogus", "http://a/"},
		{"-o", "f", "http://a/", "http://b/"},
		{"-o", "f", "--output-dir", "d", "http://a/"},
		{"-I", "-d", "x", "http://a/"},
		{"--parallel", "-1", "http://a/"},
		{"--parallel", "many", "http://a/"},
		{"--max-redirs", "-5", "http://a/"},
		{"--netlog-mode", "verbose", "http://a/"},
		{"-H", ": no name", "http://a/"},
		{"-d", "@/nonexistent/file", "http://a/"},
		{"http://a/", "-X"}, // a flag without its value
	} {
		r := netfetch(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "Usage: netfetch") || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"http://a/", "-help"}} {
		r := netfetch(t, args...)
		if r.code != 0 || r.stdout != usageText || r.stderr != "" {
			t.Errorf("%q: exit %d, stdout %.80q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := netfetch(t, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "netfetch ") {
		t.Errorf("--version: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		urls    []string
		check   func(*options) bool
		explain string
	}{
		{[]string{"u1", "-i", "u2", "--fail"}, []string{"u1", "u2"},
			func(o *options) bool { return o.include && o.fail }, "flags between and after URLs"},
		{[]string{"-sv", "u1"}, []string{"u1"},
			func(o *options) bool { return o.silent && o.verbose }, "a bundle of short flags"},
		{[]string{"-siL", "u1"}, []string{"u1"},
			func(o *options) bool { return o.silent && o.include && o.location }, "a bundle of three"},
		{[]string{"-d", "-sv", "u1"}, []string{"u1"},
			func(o *options) bool { return !o.silent && string(o.body) == "-sv" }, "a flag's value is not a bundle"},
		{[]string{"-H", "X: -i", "u1"}, []string{"u1"},
			func(o *options) bool { return !o.include && o.reqHeaders[0].Value == "-i" }, "a header value"},
		{[]string{"-i", "--", "u1", "-v"}, []string{"u1", "-v"},
			func(o *options) bool { return o.include && !o.verbose }, `"--" ends the flags`},
		{[]string{"u1", "--max-redirs=3", "--parallel", "2"}, []string{"u1"},
			func(o *options) bool { return o.maxRedirs == 3 && o.parallel == 2 }, "-flag=value"},
		{[]string{"u1", "u2", "u3"}, []string{"u1", "u2", "u3"},
			func(o *options) bool { return o.parallel == 3 && o.maxRedirs == 20 && o.requestMethod() == "GET" }, "defaults"},
		{[]string{"-o", "-", "u1"}, []string{"u1"},
			func(o *options) bool { return o.output == "-" }, `-o - is stdout`},
		{[]string{"-I", "u1"}, []string{"u1"},
			func(o *options) bool { return o.requestMethod() == "HEAD" }, "-I sends HEAD"},
		{[]string{"-X", "PATCH", "-d", "a", "u1"}, []string{"u1"},
			func(o *options) bool { return o.requestMethod() == "PATCH" }, "-X wins over -d"},
	} {
		o, err := parseArgs(tc.args)
		if err != nil {
			t.Errorf("%s: %q: %v", tc.explain, tc.args, err)
			continue
		}
		if !reflect.DeepEqual(o.urls, tc.urls) || !tc.check(o) {
			t.Errorf("%s: %q: urls %q, options %+v", tc.explain, tc.args, o.urls, o)
		}
	}
}

func TestMaxRedirectsMapping(t *testing.T) {
	t.Parallel()
	for flag, want := range map[int]int{20: 20, 1: 1, 0: -1, -1: unlimitedRedirects} {
		o := &options{maxRedirs: flag}
		if got := o.maxRedirects(); got != want {
			t.Errorf("--max-redirs %d: MaxRedirects %d, want %d", flag, got, want)
		}
	}
}

func TestOutputDash(t *testing.T) {
	t.Parallel()
	base := bodyServer(t, "to stdout")
	r := netfetch(t, "-o", "-", base)
	expectCode(t, r, 0)
	if r.stdout != "to stdout" {
		t.Fatalf("stdout %q", r.stdout)
	}
}
