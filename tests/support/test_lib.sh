# Helpers of the shell-driven tests (tests/e2e/install_test.sh, tests/package/package_test.sh,
# tests/image/build_image.sh), sourced by each, never run. A test sets `test_name` before it sources this file, and
# `work` (its scratch directory) before it uses run_quiet, expect_status or keep_work_on_failure.

# Exits 2 with the usage line unless the test got `want` arguments: check_usage WANT GOT "name ARG...".
check_usage() {
    if [[ $2 -ne $1 ]]; then
        echo "usage: $3" >&2
        exit 2
    fi
}

# Fails the test with a one-line reason.
fail() {
    echo "$test_name: FAIL: $*" >&2
    exit 1
}

# A missing prerequisite: exit 77 (ctest's SKIP_RETURN_CODE), except with CI=true, where a skip would hide that this
# part is untested, so it fails.
skip() {
    if [[ ${CI:-} == true ]]; then
        echo "$test_name: FAIL: CI must run this test, but $* (scripts/bootstrap tools installs what it needs)" >&2
        exit 1
    fi
    echo "$test_name: SKIP: $*" >&2
    exit 77
}

# Removes $work when the test passes and keeps it, saying where, when it fails.
keep_work_on_failure() {
    trap 'status=$?; if [[ $status -eq 0 ]]; then rm -rf "$work"; else echo "$test_name: kept $work" >&2; fi' EXIT
}

# Runs a command quietly; on failure shows its output and fails the test with `what`: run_quiet WHAT COMMAND...
run_quiet() {
    local what=$1
    shift
    if ! "$@" >"$work/step.log" 2>&1; then
        cat "$work/step.log" >&2
        fail "$what"
    fi
}

# After a command that left its output in $work/out and $work/err and its exit status in $status: fails the test with
# `what`, showing both, unless the status is `expected`: expect_status EXPECTED WHAT.
expect_status() {
    local expected=$1 what=$2
    if [[ $status -ne $expected ]]; then
        echo "--- stdout:" >&2
        cat "$work/out" >&2
        echo "--- stderr:" >&2
        cat "$work/err" >&2
        fail "$what: exit status $status, expected $expected"
    fi
}
