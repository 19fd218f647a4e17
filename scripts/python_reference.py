#!/usr/bin/env python3
"""Throughput of Google's official Python client against our fake: a reference row for
BENCHMARKS.md ("The official Python client on the same fake"), not part of the build or CI.

It cancels pipeline jobs with `aiplatform_v1.PipelineServiceClient.cancel_pipeline_job`, one
RPC per job, from a `concurrent.futures.ThreadPoolExecutor` (the way a Python user goes
concurrent with this client), and prints cancels/s and the Python process's CPU time per
cancel for each pool size.

The fake must hold running pipeline jobs named
`projects/p/locations/us-central1/pipelineJobs/jNNNNNN` (seven digits from 0), at least
JOBS x (number of sizes): each size cancels its own range (size k: jobs k*JOBS .. (k+1)*JOBS-1),
so every cancel is the first one of a running job and takes the same OK path.
`scripts/python_reference.sh` seeds such a fake and runs this script beside our CLI.

Run (in a venv outside the repo):
    python3 -m venv /work/pyvenv && /work/pyvenv/bin/pip install google-cloud-aiplatform
    /work/pyvenv/bin/python scripts/python_reference.py 127.0.0.1:PORT --jobs 20000 --sizes 1,16

The channel is plaintext, so only a loopback address is accepted; no credentials are looked
for (the transport is given the channel and anonymous credentials, so ADC is never read).
"""

import argparse
import concurrent.futures
import ipaddress
import sys
import time

import grpc
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
    PipelineServiceGrpcTransport,
)

PARENT = "projects/p/locations/us-central1"


def job_name(i):
    return f"{PARENT}/pipelineJobs/j{i:07d}"


def loopback(addr):
    """`addr` if it is HOST:PORT on loopback; plaintext must never leave the machine."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{addr!r} is not HOST:PORT")
    bare = host.strip("[]")
    if bare != "localhost" and not ipaddress.ip_address(bare).is_loopback:
        raise argparse.ArgumentTypeError(f"{host!r} is not a loopback address")
    return addr


def sizes(text):
    values = [int(part) for part in text.split(",") if part]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("sizes are positive integers, e.g. 1,16,64,256")
    return values


def client_for(addr):
    # One client and channel shared by every thread (the client is thread-safe): the threads'
    # calls share one HTTP/2 connection, as our CLI's do.
    channel = grpc.insecure_channel(addr)
    transport = PipelineServiceGrpcTransport(channel=channel, credentials=AnonymousCredentials())
    return aiplatform_v1.PipelineServiceClient(transport=transport), channel


def run(addr, jobs, first, pool_size):
    """Cancels jobs first .. first+jobs-1 from a pool of `pool_size` threads."""
    client, channel = client_for(addr)
    try:
        # Connect before timing: the connection set-up is not a cancel's cost.
        grpc.channel_ready_future(channel).result(timeout=10)
        names = [job_name(first + i) for i in range(jobs)]
        failures = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=pool_size) as pool:
            for future in concurrent.futures.as_completed(
                [pool.submit(client.cancel_pipeline_job, name=name) for name in names]
            ):
                if future.exception() is not None:
                    failures += 1
                    if failures == 1:
                        print(f"first failure: {future.exception()!r}", file=sys.stderr)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    finally:
        channel.close()
    return wall, cpu, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("addr", type=loopback, help="the fake, HOST:PORT on loopback")
    parser.add_argument("--jobs", type=int, default=20000, help="cancels per pool size")
    parser.add_argument("--sizes", type=sizes, default=[1, 16, 64, 256], help="e.g. 1,16,64,256")
    args = parser.parse_args()
    print("threads  cancels  seconds  cancels/s  cpu_us/cancel  failures")
    failed = False
    for k, pool_size in enumerate(args.sizes):
        wall, cpu, failures = run(args.addr, args.jobs, k * args.jobs, pool_size)
        failed |= failures > 0
        print(
            f"{pool_size:7d}  {args.jobs:7d}  {wall:7.3f}  {args.jobs / wall:9.0f}"
            f"  {cpu / args.jobs * 1e6:13.1f}  {failures:8d}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
