package net

import (
	"strconv"
	"strings"
)

// LoadFlags modify how a request is loaded; the values are Chromium's
// (net/base/load_flags_list.h) so NetLog dumps decode in netlog-viewer.
type LoadFlags uint32

// Chromium's load flags.
const (
	LoadNormal                                       LoadFlags = 0
	LoadValidateCache                                LoadFlags = 1 << 0
	LoadBypassCache                                  LoadFlags = 1 << 1
	LoadSkipCacheValidation                          LoadFlags = 1 << 2
	LoadOnlyFromCache                                LoadFlags = 1 << 3
	LoadDisableCache                                 LoadFlags = 1 << 4
	LoadDisableCertNetworkFetches                    LoadFlags = 1 << 5
	LoadDoNotSaveCookies                             LoadFlags = 1 << 6
	LoadBypassProxy                                  LoadFlags = 1 << 7
	LoadMainFrameDeprecated                          LoadFlags = 1 << 8
	LoadPrefetch                                     LoadFlags = 1 << 9
	LoadIgnoreLimits                                 LoadFlags = 1 << 10
	LoadDoNotUseEmbeddedIdentity                     LoadFlags = 1 << 11
	LoadDisableConnectionMigrationToCellular         LoadFlags = 1 << 12
	LoadSupportAsyncRevalidation                     LoadFlags = 1 << 13
	LoadRestrictedPrefetchForMainFrame               LoadFlags = 1 << 14
	LoadCanUseRestrictedPrefetchForMainFrame         LoadFlags = 1 << 15
	LoadCanUseSharedDictionary                       LoadFlags = 1 << 16
	LoadDisableSharedDictionaryAfterCrossOriginRedir LoadFlags = 1 << 17
	LoadShouldBypassHSTS                             LoadFlags = 1 << 18
	LoadIsMainFrameOriginRecentlyAccessed            LoadFlags = 1 << 19
)

// loadFlagNames is in Chromium's order; the names are the NetLog constants'.
var loadFlagNames = []struct {
	name string
	flag LoadFlags
}{
	{"NORMAL", LoadNormal},
	{"VALIDATE_CACHE", LoadValidateCache},
	{"BYPASS_CACHE", LoadBypassCache},
	{"SKIP_CACHE_VALIDATION", LoadSkipCacheValidation},
	{"ONLY_FROM_CACHE", LoadOnlyFromCache},
	{"DISABLE_CACHE", LoadDisableCache},
	{"DISABLE_CERT_NETWORK_FETCHES", LoadDisableCertNetworkFetches},
	{"DO_NOT_SAVE_COOKIES", LoadDoNotSaveCookies},
	{"BYPASS_PROXY", LoadBypassProxy},
	{"MAIN_FRAME_DEPRECATED", LoadMainFrameDeprecated},
	{"PREFETCH", LoadPrefetch},
	{"IGNORE_LIMITS", LoadIgnoreLimits},
	{"DO_NOT_USE_EMBEDDED_IDENTITY", LoadDoNotUseEmbeddedIdentity},
	{"DISABLE_CONNECTION_MIGRATION_TO_CELLULAR", LoadDisableConnectionMigrationToCellular},
	{"SUPPORT_ASYNC_REVALIDATION", LoadSupportAsyncRevalidation},
	{"RESTRICTED_PREFETCH_FOR_MAIN_FRAME", LoadRestrictedPrefetchForMainFrame},
	{"CAN_USE_RESTRICTED_PREFETCH_FOR_MAIN_FRAME", LoadCanUseRestrictedPrefetchForMainFrame},
	{"CAN_USE_SHARED_DICTIONARY", LoadCanUseSharedDictionary},
	{"DISABLE_SHARED_DICTIONARY_AFTER_CROSS_ORIGIN_REDIRECT", LoadDisableSharedDictionaryAfterCrossOriginRedir},
	{"SHOULD_BYPASS_HSTS", LoadShouldBypassHSTS},
	{"IS_MAIN_FRAME_ORIGIN_RECENTLY_ACCESSED", LoadIsMainFrameOriginRecentlyAccessed},
}

// String lists the set flags joined by "|", e.g. "BYPASS_CACHE|BYPASS_PROXY".
func (f LoadFlags) String() string {
	if f == 0 {
		return "NORMAL"
	}
	var parts []string
	rest := f
	for _, n := range loadFlagNames[1:] {
		if f&n.flag != 0 {
			parts = append(parts, n.name)
			rest &^= n.flag
		}
	}
	if rest != 0 {
		// Bits Chromium does not define: show them rather than drop them.
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// LoadFlagConstants returns the NetLog "loadFlag" constants table.
func LoadFlagConstants() map[string]int {
	m := make(map[string]int, len(loadFlagNames))
	for _, n := range loadFlagNames {
		m[n.name] = int(n.flag)
	}
	return m
}
