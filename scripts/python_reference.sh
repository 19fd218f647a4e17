#!/usr/bin/env bash
# The official Python client beside our CLI, on the same standalone fake (BENCHMARKS.md, "The
# official Python client on the same fake"). A reference measurement, not part of the build or
# CI; it needs a Python venv with google-cloud-aiplatform outside the repo:
#     python3 -m venv /work/pyvenv && /work/pyvenv/bin/pip install google-cloud-aiplatform
#
# Every measurement gets a fresh fake (`vertex-cancel fake`) seeded with JOBS running pipeline
# jobs, and cancels each of them once (so every cancel is the first one of a running job, the
# same OK path for both clients):
# - scripts/python_reference.py: PipelineServiceClient.cancel_pipeline_job from a thread pool
#   of 1, 16, 64 and 256 threads (one RPC per job);
# - our CLI: `vertex-cancel cancel -` with the names on stdin at the same concurrencies, timed
#   by wall clock from process start to exit (start-up, reading stdin and connecting included),
#   CPU (user + sys) from /usr/bin/time. Twice: as it runs by default ("batched": pipeline jobs
#   of one location go up to 32 per BatchCancelPipelineJobs), and "one by one": one
#   CancelPipelineJob per job, the work the Python client does. The CLI has no switch for that,
#   so the fake answers BatchCancelPipelineJobs with UNIMPLEMENTED (a fault rule), which makes
#   the library send that location's jobs singly: the batches already in flight when the first
#   refusal comes back (one per unit of concurrency) are refused and their jobs sent singly, so
#   every job still gets exactly one CancelPipelineJob, plus 1 to 256 refused batch calls.
# The fake's cancel delay is 0 (each job is cancelled once, so each cancel is still accepted
# from RUNNING): a batch's operation is done as soon as its jobs are cancelled. With a long
# delay the fake keeps the operation running until they settle, and the CLI, which without
# --wait reads a batch's operation until done for up to one attempt timeout (10 s), would be
# timing that.
# Each measurement runs RUNS times; the median is printed at the end, with the load average.
#
# Usage: PYTHON=/work/pyvenv/bin/python scripts/python_reference.sh
#        (JOBS=20000, RUNS=3 by default; BIN=path to override the CLI binary)
# Needs: /usr/bin/time (Debian: time).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
BIN=$(realpath -m "${BIN:-target/release/vertex-cancel}")
JOBS=${JOBS:-20000}
RUNS=${RUNS:-3}
PY_SIZES=(1 16 64 256)
CLI_CONCURRENCY=(1 16 64 256)

"$PYTHON" -c 'import google.cloud.aiplatform_v1' 2>/dev/null || {
    echo "$PYTHON cannot import google.cloud.aiplatform_v1; set PYTHON to a venv's python" \
        "with google-cloud-aiplatform installed" >&2
    exit 1
}
cargo build --release --bin vertex-cancel
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
fake_pid=
stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=
    fi
}
cleanup() {
    stop_fake
    rm -rf "$work"
}
trap cleanup EXIT

awk -v n="$JOBS" 'BEGIN { for (i = 0; i < n; i++)
    printf "projects/p/locations/us-central1/pipelineJobs/j%07d\n", i }' > "$work/names"
# scenario.json: the jobs; unbatched.json: the same jobs, and no BatchCancelPipelineJobs.
seed() {
    awk -v faults="$1" 'BEGIN { print "{\"cancel_delay_ms\": 0, " faults "\"resources\": [" }
        { printf "%s{\"name\": \"%s\"}\n", (NR > 1 ? "," : ""), $0 }
        END { print "]}" }' "$work/names"
}
seed '' > "$work/scenario.json"
seed '"faults": [{"methods": ["BatchCancelPipelineJobs"], "code": "UNIMPLEMENTED"}], ' \
    > "$work/unbatched.json"

# Starts a fresh fake seeded from $1 and sets $port.
start_fake() {
    # The previous fake's PORT line must not be read while this one's shell opens the file.
    rm -f "$work/fake.out"
    "$BIN" fake --port 0 --scenario "$1" > "$work/fake.out" &
    fake_pid=$!
    port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's/^PORT //p' "$work/fake.out" 2>/dev/null | head -n1)
        [ -n "$port" ] && return
        sleep 0.05
    done
    echo "the fake did not print its port" >&2
    exit 1
}

# Appends "client concurrency cancels/s cpu_us/cancel" lines to $work/results.
python_run() {
    local size=$1
    start_fake "$work/scenario.json"
    "$PYTHON" scripts/python_reference.py "127.0.0.1:$port" --jobs "$JOBS" --sizes "$size" \
        > "$work/py.out"
    stop_fake
    awk -v s="$size" 'NR == 2 {
        if ($6 != 0) { print "python: " $6 " cancels failed" > "/dev/stderr"; exit 1 }
        print "python", s, $4, $5 }' "$work/py.out" >> "$work/results"
}

# cli_run CONCURRENCY batched|one-by-one
cli_run() {
    local concurrency=$1 mode=$2 start end status
    start_fake "$work/$([ "$mode" = batched ] && echo scenario || echo unbatched).json"
    start=$EPOCHREALTIME
    status=0
    /usr/bin/time -f '%U %S' -o "$work/cpu" "$BIN" --no-auth --quiet --json \
        --endpoint "http://127.0.0.1:$port" cancel --concurrency "$concurrency" - \
        < "$work/names" > "$work/cli.out" || status=$?
    end=$EPOCHREALTIME
    stop_fake
    local requested
    requested=$(grep -c '"outcome":"requested"' "$work/cli.out" || true)
    if [ "$status" -ne 0 ] || [ "$requested" -ne "$JOBS" ]; then
        echo "CLI: exit $status, $requested of $JOBS requested" >&2
        exit 1
    fi
    awk -v s="$start" -v e="$end" -v n="$JOBS" -v c="$concurrency" -v m="cli-$mode" \
        -v cpu="$(tail -n1 "$work/cpu")" 'BEGIN { split(cpu, t, " ")
        printf "%s %d %.0f %.1f\n", m, c, n / (e - s), (t[1] + t[2]) / n * 1e6 }' \
        >> "$work/results"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "python: $("$PYTHON" --version 2>&1); $("$PYTHON" -m pip list 2>/dev/null |
    awk '$1 == "google-cloud-aiplatform" || $1 == "grpcio" { printf "%s %s; ", $1, $2 }')"
echo "jobs per measurement: $JOBS, runs: $RUNS"
: > "$work/results"
for run in $(seq 1 "$RUNS"); do
    echo "run $run, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for size in "${PY_SIZES[@]}"; do python_run "$size"; done
    for concurrency in "${CLI_CONCURRENCY[@]}"; do
        cli_run "$concurrency" batched
        cli_run "$concurrency" one-by-one
    done
    echo "run $run, load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
done

echo
echo "client          concurrency  runs (cancels/s)      median cancels/s  median CPU us/cancel"
sort -k1,1r -k2,2n -s "$work/results" | awk '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { key = $1 " " $2; if (!(key in rate)) order[++k] = key; rate[key] = rate[key] " " $3; cpu[key] = cpu[key] " " $4 }
    END { for (i = 1; i <= k; i++) { split(order[i], f, " ")
        printf "%-14s  %11d  %-20s  %16.0f  %20.1f\n", f[1], f[2], rate[order[i]], median(rate[order[i]]), median(cpu[order[i]]) } }'
