package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test re-runs the test binary as a child that writes to a disk
// cache without end, kills it with SIGKILL at some moment, and checks that
// the cache it left behind opens cleanly and never returns a wrong body.
const (
	diskCrashEnv     = "NETFETCH_DISK_CRASH_DIR"
	diskCrashKeys    = 40
	diskCrashMaxSize = 8 << 20
)

func diskCrashKey(i int) string { return fmt.Sprintf("https://example.com/crash/%d", i) }

// diskCrashInfo is the info stored with generation gen of a body; note
// changes with UpdateInfo, gen never does.
func diskCrashInfo(gen, note int) []byte { return fmt.Appendf(nil, "gen=%d note=%d", gen, note) }

// diskCrashBody is generation gen of key's body: 16 KiB to 1 MiB whose
// bytes all depend on key and gen, so a body mixed from two writes, or
// stored under another key, does not match.
func diskCrashBody(key string, gen int) []byte {
	k := fmt.Sprintf("%s#%d", key, gen)
	return diskTestBody(k, 16<<10+int(diskKeyHash(k)%(1<<20-16<<10)))
}

// TestDiskCrashHelper is the child of TestDiskCrashRecovery; run alone it
// skips. It stores, updates and dooms entries until it is killed.
func TestDiskCrashHelper(t *testing.T) {
	dir := os.Getenv(diskCrashEnv)
	if dir == "" {
		t.Skip("the child process of TestDiskCrashRecovery")
	}
	b, err := OpenDiskBackend(dir, diskCrashMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	// Generations are unique across the children sharing dir.
	for i, gen := 0, os.Getpid()<<24; ; i, gen = i+1, gen+1 {
		key := diskCrashKey(i * 7 % diskCrashKeys)
		switch {
		case i%13 == 12:
			err = b.Doom(key)
		case i%5 == 4:
			var e *Entry
			if e, err = b.Open(key); err == nil {
				var g, note int
				if _, err = fmt.Sscanf(string(e.Info), "gen=%d note=%d", &g, &note); err == nil {
					err = b.UpdateInfo(key, diskCrashInfo(g, note+1))
				}
			}
		default:
			err = b.Store(key, diskCrashInfo(gen, 0), diskCrashBody(key, gen))
		}
		if err != nil && !errors.Is(err, ErrEntryNotFound) {
			t.Fatalf("operation %d on %s: %v", i, key, err)
		}
	}
}

func TestDiskCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	// Each round kills the child at another point: after its first
	// entry, then mid-write (a temp file present) after more and more
	// writes have been seen.
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiskCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), diskCrashEnv+"="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		seen := map[string]bool{} // temp files seen, one per write
		checkedLock := false
		deadline := time.Now().Add(time.Minute)
		for {
			select {
			case err := <-exited:
				t.Fatalf("round %d: child exited before it was killed: %v\n%s", round, err, out.Bytes())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("round %d: child made no progress\n%s", round, out.Bytes())
			}
			tmps := diskTestNames(t, dir, ".tmp")
			for _, name := range tmps {
				seen[name] = true
			}
			if !checkedLock && len(seen) > 0 {
				// The child holds the lock: a cross-process flock.
				if b, err := OpenDiskBackend(dir, diskCrashMaxSize); !errors.Is(err, ErrLocked) {
					if err == nil {
						b.Close()
					}
					cmd.Process.Kill()
					t.Fatalf("round %d: OpenDiskBackend while the child runs = %v, want ErrLocked", round, err)
				}
				checkedLock = true
			}
			entries := len(diskTestNames(t, dir, diskEntrySuffix))
			if round == 0 && entries > 0 || round > 0 && len(seen) > 20*round && len(tmps) > 0 {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		t.Logf("round %d: killed after seeing %d temp files; %d were left", round, len(seen), len(diskTestNames(t, dir, ".tmp")))
		diskCrashVerify(t, dir)
	}
}

// diskCrashVerify opens the cache a killed child left and checks every key.
func diskCrashVerify(t *testing.T, dir string) {
	t.Helper()
	b, err := OpenDiskBackend(dir, diskCrashMaxSize)
	if err != nil {
		t.Fatalf("OpenDiskBackend after the crash: %v", err)
	}
	defer b.Close()
	if tmps := diskTestNames(t, dir, ".tmp"); len(tmps) != 0 {
		t.Errorf("temp files survived the open: %v", tmps)
	}
	diskTestCheckAccounting(t, b)
	hits := 0
	for i := range diskCrashKeys {
		key := diskCrashKey(i)
		e, err := b.Open(key)
		if errors.Is(err, ErrEntryNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("Open(%s) = %v", key, err)
		}
		var gen, note int
		if _, err := fmt.Sscanf(string(e.Info), "gen=%d note=%d", &gen, &note); err != nil {
			t.Fatalf("Open(%s): info %q: %v", key, e.Info, err)
		}
		if !bytes.Equal(e.Body, diskCrashBody(key, gen)) {
			t.Fatalf("Open(%s): the body is not generation %d's", key, gen)
		}
		hits++
	}
	// A killed process leaves whole files: the page cache outlives it.
	if s := b.Stats(); s.Corruption != 0 {
		t.Errorf("Corruption = %d after a kill", s.Corruption)
	}
	if hits == 0 {
		t.Error("no entry survived")
	}
	key := diskCrashKey(0)
	if err := b.Store(key, diskCrashInfo(1, 0), diskCrashBody(key, 1)); err != nil {
		t.Fatalf("Store after the crash: %v", err)
	}
	if e, err := b.Open(key); err != nil || !bytes.Equal(e.Body, diskCrashBody(key, 1)) || !strings.HasPrefix(string(e.Info), "gen=1 ") {
		t.Fatalf("Open after Store after the crash: %v", err)
	}
}
