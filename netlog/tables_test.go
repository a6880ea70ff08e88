package netlog_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedTablesUpToDate regenerates event_type_list.go and
// source_type_list.go from their .txt tables with internal/gentables and
// compares bytes, so that a hand edit of either side fails here. The
// generator runs from the module root, as its usage comment says.
func TestGeneratedTablesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds internal/gentables")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
		if _, err := os.Stat(goCmd); err != nil {
			t.Skip("go command not found")
		}
	}
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
		{"events", "netlog/event_type_list.txt", "netlog/event_type_list.go"},
		{"sources", "netlog/source_type_list.txt", "netlog/source_type_list.go"},
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
