package socket

import (
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

func withBackupDelay(t *testing.T, d time.Duration) {
	old := backupJobDelay
	backupJobDelay = d
	t.Cleanup(func() { backupJobDelay = old })
}

// waitFor polls cond on the loop until it holds (a hang guard, not a
// timing assertion).
func waitFor(t *testing.T, h *poolHarness, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		h.do(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBackupJobStartsWhenTheFirstIsStillConnecting(t *testing.T) {
	withBackupDelay(t, 10*time.Millisecond)
	h := newPoolHarness(t, PoolOptions{})
	var q *poolReq
	h.do(func() { q = h.request("a", groupA, net.Lowest, 0) })
	if q.rv != net.IOPending {
		t.Fatalf("rv %d", q.rv)
	}
	waitFor(t, h, "a backup job", func() bool { return len(h.f.jobs) == 2 })
	created := h.col.Find(netlog.EventSocketPoolConnectJobCreated, netlog.PhaseNone, 0)
	if len(created) != 2 || created[0].Params["backup_job"] != false || created[1].Params["backup_job"] != true {
		t.Fatalf("CONNECT_JOB_CREATED events: %v", created)
	}
	// The backup connects first: the request gets its socket and the slow
	// first job keeps running for a later request (late binding).
	h.do(func() { h.f.jobs[1].complete(net.OK) })
	h.wantResult(q, net.OK)
	var info netlog.Params
	h.do(func() { info = h.pool.Info() })
	if g := info["groups"].(netlog.Params)[groupA.String()].(netlog.Params); g["backup_job_timer_is_running"] != false {
		t.Errorf("backup timer still running: %v", g)
	}
}

func TestNoBackupJobWhileResolvingOrPastTCP(t *testing.T) {
	for _, state := range []net.LoadState{net.LoadStateResolvingHost, net.LoadStateSSLHandshake, net.LoadStateEstablishingProxyTunnel} {
		t.Run(state.String(), func(t *testing.T) {
			withBackupDelay(t, 5*time.Millisecond)
			h := newPoolHarness(t, PoolOptions{})
			h.f.state = state
			h.do(func() { h.request("a", groupA, net.Lowest, 0) })
			time.Sleep(50 * time.Millisecond) // several timer periods
			h.do(func() {
				if len(h.f.jobs) != 1 {
					t.Errorf("%d jobs; a backup started while the first was in %v", len(h.f.jobs), state)
				}
			})
			if state == net.LoadStateResolvingHost {
				// Once the first job reaches CONNECTING, the re-armed timer
				// starts the backup.
				h.do(func() { h.f.jobs[0].state = net.LoadStateConnecting })
				waitFor(t, h, "a backup job", func() bool { return len(h.f.jobs) == 2 })
			}
		})
	}
}

func TestNoBackupJobForAGroupThatHadSockets(t *testing.T) {
	withBackupDelay(t, 5*time.Millisecond)
	h := newPoolHarness(t, PoolOptions{})
	var first *poolReq
	h.do(func() { first = h.request("first", groupA, net.Lowest, 0) })
	h.do(func() { h.f.jobs[0].complete(net.OK) })
	h.wantResult(first, net.OK)
	h.do(func() { h.request("second", groupA, net.Lowest, 0) }) // the group has an active socket
	time.Sleep(50 * time.Millisecond)
	h.do(func() {
		if len(h.f.jobs) != 2 {
			t.Errorf("%d jobs; a backup started for a group with a socket", len(h.f.jobs))
		}
	})
}
