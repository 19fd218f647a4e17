#!/usr/bin/env bash
# Cold start of the CLI to one confirmed cancel, against the standalone fake on loopback:
# a fresh `vertex-cancel` process per run (parse args, build the client, connect, Cancel, Get
# until CANCELLED), timed by hyperfine; then its peak RSS from /usr/bin/time -v.
#
# Every run cancels a job no run touched before: the fake is seeded with enough running jobs
# and hyperfine's --prepare step writes the next name to a file the timed command reads with a
# shell builtin (hyperfine subtracts the shell's own start-up).
#
# Usage: scripts/cold_start.sh            (RUNS=100 by default; BIN=path to override the binary)
# Needs: hyperfine (Debian: apt-get install hyperfine), /usr/bin/time (Debian: time).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath -m "${BIN:-target/release/vertex-cancel}")
RUNS=${RUNS:-100}
WARMUP=5
[ -x "$BIN" ] || cargo build --release --bin vertex-cancel
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }

work=$(mktemp -d)
fake_pid=
cleanup() {
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Two runs' worth of jobs per hyperfine command (each command gets its own warm-up and runs),
# plus the RSS runs and a margin.
jobs=$(( 2 * (RUNS + WARMUP) + 20 ))
{
    echo '{"cancel_delay_ms": 0, "resources": ['
    for i in $(seq 1 "$jobs"); do
        sep=$([ "$i" -lt "$jobs" ] && echo , || true)
        echo "{\"name\": \"projects/p/locations/us-central1/pipelineJobs/cs$i\", \"state\": \"RUNNING\"}$sep"
    done
    echo ']}'
} > "$work/scenario.json"

"$BIN" fake --port 0 --scenario "$work/scenario.json" > "$work/fake.out" &
fake_pid=$!
for _ in $(seq 1 100); do
    grep -q '^PORT ' "$work/fake.out" 2>/dev/null && break
    sleep 0.05
done
port=$(sed -n 's/^PORT //p' "$work/fake.out" | head -n1)
[ -n "$port" ] || { echo "the fake did not print its port" >&2; exit 1; }
endpoint="http://127.0.0.1:$port"

echo 0 > "$work/counter"
cat > "$work/next.sh" <<NEXT
i=\$(( \$(<"$work/counter") + 1 ))
echo "\$i" > "$work/counter"
echo "projects/p/locations/us-central1/pipelineJobs/cs\$i" > "$work/name"
NEXT

cli="exec $BIN --no-auth --quiet --endpoint $endpoint cancel"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --shell bash --warmup "$WARMUP" --runs "$RUNS" \
    --prepare "bash $work/next.sh" \
    --export-markdown "$work/cold_start.md" \
    -n 'cancel --wait (one Cancel, one Get: confirmed CANCELLED)' \
    "read -r n < $work/name; $cli --wait --poll-interval 1ms \"\$n\"" \
    -n 'cancel (one Cancel, no wait)' \
    "read -r n < $work/name; $cli \"\$n\""
cat "$work/cold_start.md"

bash "$work/next.sh"
name=$(<"$work/name")
/usr/bin/time -v "$BIN" --no-auth --endpoint "$endpoint" cancel --wait --poll-interval 1ms "$name" \
    2> "$work/time.txt"
echo "peak RSS of one 'cancel --wait': $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt") KiB"
