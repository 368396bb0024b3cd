# shellcheck shell=bash
# Helpers the benchmarks share, sourced (not run): bench/postgres/bench.sh, bench/sets/run.sh. A benchmark sets
# `work` (its scratch directory) before it calls measure.

# Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as root), else as ourselves.
as_pg_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The newest /usr/lib/postgresql/<major>/bin, or "" if there is none.
newest_pg_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }

# A loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# measure LABEL COMMAND...: appends "seconds kib" (wall time, peak RSS of the command and its waited-for children)
# of one run to $work/LABEL; best LABEL prints the fastest.
measure() {
    local label=$1; shift
    /usr/bin/time -v -o "$work/time.txt" "$@"
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
                /Maximum resident set size/ { kib = $2 }
                END { printf "%.3f %d\n", s, kib }' "$work/time.txt" >> "$work/$label"
}
best() { sort -n "$work/$1" | head -n 1; }
