# Shared by the tests/deploy scripts: pass/fail reporting and a scratch directory.
# Each check prints "ok: ..." or "FAIL: ..."; the script ends with "N passed, N failed" and
# exits non-zero when anything failed.
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: runs COMMAND (output shown on failure only).
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else fail "$what"; printf '%s\n' "$out" | sed 's/^/    /'; fi
}
finish() {
    echo "$(basename "$0"): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
