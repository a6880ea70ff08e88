#!/usr/bin/env bash
# install-test-deps.sh — install the real peers that netfetch's interop tests
# run against (nginx, openssl, microsocks, tinyproxy, dante, dnsmasq,
# shadowsocks-libev) from Debian's packages.
#
# Idempotent: when every needed binary is already present it does nothing and
# never touches apt (fast path). Otherwise it installs the missing packages
# with apt-get, non-interactively, WITHOUT letting any package start its
# system service (policy-rc.d returns 101 during the install), then disables
# and stops any daemon that a package still managed to start, and checks that
# nothing listens on the daemons' well-known ports.
#
# Works as root with no TTY (CI); as a non-root user it uses `sudo -n`.
set -euo pipefail

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# binary -> Debian package that ships it (Debian 12 "bookworm" names).
# The tests find the binaries in $PATH or in /usr/sbin, /usr/bin, /sbin.
declare -A PKG_OF=(
	[nginx]=nginx                  # /usr/sbin/nginx (http_ssl, http_v2 built in)
	[openssl]=openssl              # /usr/bin/openssl
	[microsocks]=microsocks        # /usr/bin/microsocks (SOCKS5)
	[tinyproxy]=tinyproxy-bin      # /usr/bin/tinyproxy (no system service)
	[danted]=dante-server          # /usr/sbin/danted (SOCKS4/SOCKS5)
	[dnsmasq]=dnsmasq-base         # /usr/sbin/dnsmasq (no system service)
	[ss-server]=shadowsocks-libev  # /usr/bin/ss-server, ss-local, ...
)
# Stable order for messages.
BINARIES=(nginx openssl microsocks tinyproxy danted dnsmasq ss-server)
# System services the packages above may ship (and try to start).
SERVICES=(nginx danted shadowsocks-libev shadowsocks-libev-local@ tinyproxy dnsmasq)
# Ports those daemons would grab by default.
WATCH_PORTS=(53 80 443 1080 3128 8118 8388 8888)

find_bin() {
	local name=$1 d
	if command -v "$name" >/dev/null 2>&1; then
		return 0
	fi
	for d in /usr/sbin /usr/bin /sbin /bin /usr/local/sbin /usr/local/bin; do
		if [[ -x "$d/$name" ]]; then
			return 0
		fi
	done
	return 1
}

missing_pkgs=()
for b in "${BINARIES[@]}"; do
	if ! find_bin "$b"; then
		missing_pkgs+=("${PKG_OF[$b]}")
	fi
done

if ((${#missing_pkgs[@]} == 0)); then
	log "all interop test binaries present (${BINARIES[*]}); nothing to do"
	exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=(sudo -n)
	else
		log "missing packages: ${missing_pkgs[*]}"
		log "not root and no password-less sudo: install them with apt-get as root"
		exit 1
	fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
	log "missing packages: ${missing_pkgs[*]}, and apt-get is not available"
	exit 1
fi

start=$SECONDS
log "installing: ${missing_pkgs[*]}"

# Forbid maintainer scripts from starting services while we install
# (invoke-rc.d and deb-systemd-invoke both honour policy-rc.d). Keep and
# restore any policy-rc.d that was there before (Docker images ship one).
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""
restore_policy() {
	if [[ -n "$POLICY_BACKUP" ]]; then
		"${SUDO[@]}" mv -f "$POLICY_BACKUP" "$POLICY"
	else
		"${SUDO[@]}" rm -f "$POLICY"
	fi
}
if [[ -e "$POLICY" ]]; then
	POLICY_BACKUP="$POLICY.netfetch-backup.$$"
	"${SUDO[@]}" cp -p "$POLICY" "$POLICY_BACKUP"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# written by netfetch scripts/install-test-deps.sh\nexit 101\n' |
	"${SUDO[@]}" tee "$POLICY" >/dev/null
"${SUDO[@]}" chmod 0755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(
	-y -q
	--no-install-recommends
	-o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold
)

aptlog=$(mktemp)
run_apt() {
	if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$aptlog" 2>&1; then
		cat "$aptlog" >&2
		log "apt-get $* failed"
		rm -f "$aptlog"
		exit 1
	fi
}
run_apt -q -o DPkg::Lock::Timeout=300 update
run_apt "${APT_OPTS[@]}" install "${missing_pkgs[@]}"
grep -E '^(Setting up|Unpacking) ' "$aptlog" | sed 's/^/  /' >&2 || true
rm -f "$aptlog"

# Belt and braces: no package daemon may stay enabled or running. The tests
# start their own instances on free loopback ports.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
	for s in "${SERVICES[@]}"; do
		"${SUDO[@]}" systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi
for s in "${SERVICES[@]}"; do
	if [[ -x "/etc/init.d/$s" ]]; then
		# Not through invoke-rc.d: our policy-rc.d would refuse the stop too.
		"${SUDO[@]}" "/etc/init.d/$s" stop >/dev/null 2>&1 || true
		if command -v update-rc.d >/dev/null 2>&1; then
			"${SUDO[@]}" update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	fi
done

# Verify that no well-known daemon port is taken by a listener.
listening_ports() {
	# /proc/net/{tcp,udp}{,6}: field 2 is the local addr:port (port in hex),
	# field 4 the state (0A = LISTEN for TCP; any bound UDP socket counts).
	local f sl addr rest state
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[[ -r $f ]] || continue
		while read -r sl addr rest state _; do
			[[ $sl == sl ]] && continue
			if [[ $f == */tcp* && $state != 0A ]]; then
				continue
			fi
			echo $((16#${addr##*:}))
		done <"$f"
	done
}
busy=()
ports=$(listening_ports | sort -un)
for p in "${WATCH_PORTS[@]}"; do
	if grep -qx "$p" <<<"$ports"; then
		busy+=("$p")
	fi
done
if ((${#busy[@]} > 0)); then
	log "warning: something listens on port(s) ${busy[*]} after the install"
	if command -v ss >/dev/null 2>&1; then
		ss -ltunp 2>/dev/null | sed 's/^/  /' >&2 || true
	fi
fi

for b in "${BINARIES[@]}"; do
	if ! find_bin "$b"; then
		log "still missing after install: $b (package ${PKG_OF[$b]})"
		exit 1
	fi
done
log "done in $((SECONDS - start))s"
