package netlog

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// ClientName is the product name written to the log's clientInfo.
const ClientName = "netfetch"

// Constants returns the "constants" object that starts every log file: the
// tables that make a log self-describing (event and source type numbers,
// error codes, load flags and states) and the client's identity, with the
// keys and shapes netlog-viewer reads.
func Constants(mode CaptureMode) Params {
	events := make(map[string]int, len(eventTypeNames))
	for i, n := range eventTypeNames {
		events[n] = i
	}
	sources := make(map[string]int, len(sourceTypeNames))
	for i, n := range sourceTypeNames {
		sources[n] = i
	}
	errs := map[string]int{"net::OK": 0}
	for _, e := range net.AllErrors() {
		errs[e.Name()] = int(e)
	}
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	return Params{
		"logFormatVersion": 1,
		"logEventTypes":    events,
		"logSourceType":    sources,
		"logEventPhase":    map[string]int{"PHASE_BEGIN": int(PhaseBegin), "PHASE_END": int(PhaseEnd), "PHASE_NONE": int(PhaseNone)},
		"netError":         errs,
		"loadFlag":         net.LoadFlagConstants(),
		"loadState":        net.LoadStateConstants(),
		"addressFamily": map[string]int{
			"ADDRESS_FAMILY_UNSPECIFIED": 0,
			"ADDRESS_FAMILY_IPV4":        1,
			"ADDRESS_FAMILY_IPV6":        2,
		},
		"dnsQueryType":   map[string]int{"UNSPECIFIED": 0, "A": 1, "AAAA": 2, "TXT": 3, "PTR": 4, "SRV": 5, "HTTPS": 7},
		"secureDnsMode":  map[string]int{"Off": 0, "Automatic": 1, "Secure": 2},
		"certStatusFlag": map[string]int{},
		"certVerifierFlags": map[string]int{
			"VERIFY_DISABLE_NETWORK_FETCHES": 1,
		},
		"certVerifyFlags":    map[string]int{},
		"quicError":          map[string]int{},
		"quicRstStreamError": map[string]int{},
		// A numeric string: older netlog-viewer builds accept only that.
		"timeTickOffset": strconv.FormatInt(TimeTickOffset(), 10),
		"clientInfo": Params{
			"name":         ClientName,
			"version":      version,
			"cl":           "",
			"version_mod":  "",
			"official":     "unofficial",
			"os_type":      runtime.GOOS + ": " + runtime.Version() + " (" + runtime.GOARCH + ")",
			"command_line": strings.Join(os.Args, " "),
		},
		"activeFieldTrialGroups": []string{},
		"logCaptureMode":         mode.String(),
	}
}
