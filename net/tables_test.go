package net_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// goTool finds the go command, or skips the test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := "/usr/local/go/bin/go"
	if _, err := os.Stat(p); err == nil {
		return p
	}
	t.Skip("go command not found")
	return ""
}

// TestGeneratedTablesUpToDate regenerates error_list.go from
// net_error_list.txt with internal/gentables and compares bytes, so that a
// hand edit of either file without the other fails here. The generator is
// run from the module root, as its usage comment says; the path it is given
// is written into the file's header.
func TestGeneratedTablesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds internal/gentables")
	}
	goCmd := goTool(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	gen := filepath.Join(tmp, "gentables")
	build := exec.Command(goCmd, "build", "-o", gen, "./internal/gentables")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gentables: %v\n%s", err, out)
	}
	for _, tc := range []struct{ kind, in, committed string }{
		{"errors", "net/net_error_list.txt", "net/error_list.go"},
	} {
		out := filepath.Join(tmp, filepath.Base(tc.committed))
		cmd := exec.Command(gen, "-kind", tc.kind, "-in", tc.in, "-out", out)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gentables -kind %s: %v\n%s", tc.kind, err, msg)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, tc.committed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what gentables makes from %s; edit the .txt and regenerate "+
				"(go run ./internal/gentables -kind %s -in %s -out %s, from the module root)",
				tc.committed, tc.in, tc.kind, tc.in, tc.committed)
		}
	}
}
