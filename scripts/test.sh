#!/usr/bin/env bash
# test.sh — netfetch's test command (CI runs it through .ci/run).
#
#   ./scripts/test.sh              # everything: ./...
#   ./scripts/test.sh ./http/...   # vet, staticcheck and test only these
#
# Steps: install the interop peers (scripts/install-test-deps.sh), gofmt
# check, go vet, staticcheck, then `go test -race` with NETFETCH_INTEROP=1,
# so that interop tests fail (rather than skip) when a peer is missing.
# Every check runs even if an earlier one failed; the exit status is
# non-zero if any failed.
#
# Environment:
#   STATICCHECK_VERSION  honnef.co/go/tools version (default below; "none"
#                        skips staticcheck)
#   GO_TEST_TIMEOUT      go test -timeout (default 15m)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# CI machines have Go at /usr/local/go, not necessarily on $PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

# staticcheck 2026.2.2 (v0.8.2) supports Go 1.26.
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
GO_TEST_TIMEOUT=${GO_TEST_TIMEOUT:-15m}

if (($# > 0)); then
	PKGS=("$@")
else
	PKGS=(./...)
fi

step() { printf '\n==> %s\n' "$*"; }
failed=()

step "install test dependencies"
bash "$ROOT/scripts/install-test-deps.sh"

step "$(go version)"

step "gofmt"
unformatted=$(find . -name '*.go' \
	-not -path './.git/*' -not -path '*/vendor/*' \
	-not -path '*/node_modules/*' -not -path '*/testdata/*' -print0 |
	xargs -0 -r gofmt -l)
if [[ -n "$unformatted" ]]; then
	echo "not gofmt-ed (run gofmt -w on them):"
	while IFS= read -r f; do echo "  $f"; done <<<"$unformatted"
	failed+=(gofmt)
fi

step "go vet ${PKGS[*]}"
if ! go vet "${PKGS[@]}"; then
	failed+=("go vet")
fi

if [[ "$STATICCHECK_VERSION" != none ]]; then
	step "staticcheck@$STATICCHECK_VERSION ${PKGS[*]}"
	if ! go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" "${PKGS[@]}"; then
		failed+=(staticcheck)
	fi
fi

step "go test -race ${PKGS[*]} (NETFETCH_INTEROP=1)"
export NETFETCH_INTEROP=1
if ! go test -race -count=1 -timeout "$GO_TEST_TIMEOUT" "${PKGS[@]}"; then
	failed+=("go test")
fi

if ((${#failed[@]} > 0)); then
	printf '\nFAILED: %s\n' "$(IFS=,; echo "${failed[*]}")"
	exit 1
fi
