#!/usr/bin/env python3
"""Google's official Python client against our standalone fake: does every RPC the fake serves
answer as Google documents, in a form Google's client parses? A conformance check, not part of
the build or CI; each line of its summary is one check, `ok` or `DIFFERENCE` (with what was
expected and what came back).

It starts `vertex-cancel fake --port 0` on 127.0.0.1 seeded with a scenario of its own (every
kind: running jobs, a finished one, operations), then with `google.cloud.aiplatform_v1`:
- per kind: Get; List (page_size + page_token through every page, the filters the fake
  accepts, read_mask where the List has one, order_by where it has one); Cancel of a running
  job, of a finished one (FAILED_PRECONDITION), of an unknown one (NOT_FOUND), of a malformed
  name (INVALID_ARGUMENT); a filter Google refuses (INVALID_ARGUMENT);
- BatchCancelPipelineJobs, its operation polled as the client does (`operation.result()`,
  `.metadata`: the `Any`s must unpack as Google's types);
- the Operations mixin: Get, List, Cancel, Delete, Wait; and ListLocations.
v1beta1 is called once to record that the fake does not serve it.

Run (a venv outside the repo with google-cloud-aiplatform; the release binary built):
    CARGO_BUILD_JOBS=2 cargo build --release --bin vertex-cancel
    /work/pyvenv/bin/python scripts/python_conformance.py [--bin target/release/vertex-cancel]
Exit status 1 if any check found a difference.

The channel is plaintext on loopback with anonymous credentials: ADC is never read.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1 as v1
from google.cloud import aiplatform_v1beta1 as v1beta1
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2, field_mask_pb2

PARENT = "projects/p/locations/us-central1"
# BatchCancelPipelineJobs's jobs live elsewhere, out of the per-kind Lists.
BATCH_PARENT = "projects/p/locations/europe-west4"
# Creation order (oldest first) differs from name order, so a List's order can be checked.
AGES_MS = {"101": 2000, "102": 4000, "103": 1000, "104": 3000}

# kind: (client class, collection, method stem, list field, state prefix, has read_mask,
#        has order_by)
KINDS = {
    "PipelineJob": (v1.PipelineServiceClient, "pipelineJobs", "pipeline_job",
                    "pipeline_jobs", "PIPELINE_STATE_", True, True),
    "TrainingPipeline": (v1.PipelineServiceClient, "trainingPipelines", "training_pipeline",
                         "training_pipelines", "PIPELINE_STATE_", True, False),
    "CustomJob": (v1.JobServiceClient, "customJobs", "custom_job", "custom_jobs",
                  "JOB_STATE_", True, False),
    "HyperparameterTuningJob": (v1.JobServiceClient, "hyperparameterTuningJobs",
                                "hyperparameter_tuning_job", "hyperparameter_tuning_jobs",
                                "JOB_STATE_", True, False),
    "BatchPredictionJob": (v1.JobServiceClient, "batchPredictionJobs", "batch_prediction_job",
                           "batch_prediction_jobs", "JOB_STATE_", True, False),
    "DataLabelingJob": (v1.JobServiceClient, "dataLabelingJobs", "data_labeling_job",
                        "data_labeling_jobs", "JOB_STATE_", True, True),
    "NasJob": (v1.JobServiceClient, "nasJobs", "nas_job", "nas_jobs", "JOB_STATE_", True,
               False),
    "TuningJob": (v1.GenAiTuningServiceClient, "tuningJobs", "tuning_job", "tuning_jobs",
                  "JOB_STATE_", False, False),
}

results = []


def record(rpc, check, ok, detail=""):
    results.append((rpc, check, ok, detail))


def expect_ok(rpc, check, call, verify=None):
    """Runs `call`; ok if it answers and `verify(answer)` returns no complaint."""
    try:
        answer = call()
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        record(rpc, check, False, f"expected OK, got {type(e).__name__}: {e}")
        return None
    try:
        complaint = verify(answer) if verify else None
    except Exception as e:  # noqa: BLE001 - an answer the check cannot read is a finding too
        complaint = f"the answer could not be read: {type(e).__name__}: {e}"
    record(rpc, check, complaint is None, complaint or "")
    return answer


def expect_error(rpc, check, call, code):
    """Runs `call`; ok if it fails with `code` (a grpc.StatusCode)."""
    try:
        call()
    except gexc.GoogleAPICallError as e:
        got = e.grpc_status_code
        record(rpc, check, got == code, "" if got == code else f"expected {code.name}, got "
               f"{got.name if got else e!r}: {e.message}")
        return
    except Exception as e:  # noqa: BLE001
        record(rpc, check, False, f"expected {code.name}, got {type(e).__name__}: {e}")
        return
    record(rpc, check, False, f"expected {code.name}, got OK")


def scenario():
    resources = []
    for kind, (_, coll, *_rest) in KINDS.items():
        for job_id, age in AGES_MS.items():
            resources.append({
                "name": f"{PARENT}/{coll}/{job_id}",
                "state": "SUCCEEDED" if job_id == "103" else "RUNNING",
                "display_name": f"job-{job_id}",
                "labels": {"team": "a" if job_id in ("101", "102") else "b"},
                "age_ms": age,
            })
    for job_id in ("b1", "b2", "b4"):
        resources.append({"name": f"{BATCH_PARENT}/pipelineJobs/{job_id}"})
    resources.append({"name": f"{BATCH_PARENT}/pipelineJobs/b3", "state": "SUCCEEDED"})
    resources.append({"name": f"{PARENT}/operations/1"})
    resources.append({"name": f"{PARENT}/operations/2", "state": "SUCCEEDED"})
    resources.append({"name": f"{PARENT}/operations/3"})
    resources.append({"name": f"{PARENT}/operations/4"})
    resources.append({"name": f"{PARENT}/pipelineJobs/101/operations/5"})
    return {"cancel_delay_ms": 300, "resources": resources}


def start_fake(binary, workdir):
    path = os.path.join(workdir, "scenario.json")
    with open(path, "w") as f:
        json.dump(scenario(), f)
    proc = subprocess.Popen([binary, "fake", "--port", "0", "--scenario", path],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        sys.exit(f"the fake did not print its port: {line!r}")
    return proc, f"127.0.0.1:{int(line.split()[1])}"


def make(cls, channel):
    transport = cls.get_transport_class("grpc")(channel=channel,
                                                credentials=AnonymousCredentials())
    return cls(transport=transport)


def names_of(items):
    return [item.name.rsplit("/", 1)[1] for item in items]


def check_kind(kind, channel):
    cls, coll, stem, field, prefix, has_mask, has_order = KINDS[kind]
    client = make(cls, channel)
    get = getattr(client, f"get_{stem}")
    cancel = getattr(client, f"cancel_{stem}")
    lister = getattr(client, f"list_{field}")
    get_rpc, cancel_rpc = f"Get{kind}", f"Cancel{kind}"
    list_rpc = f"List{kind}s"
    name = f"{PARENT}/{coll}/101"

    def running(job):
        if job.state.name != f"{prefix}RUNNING":
            return f"state {job.state.name}"
        # proto-plus turns Timestamps into datetimes; a running job was created and updated.
        return None if job.create_time and job.update_time else "create/update_time unset"

    expect_ok(get_rpc, "running job", lambda: get(name=name), running)
    expect_error(get_rpc, "unknown job -> NOT_FOUND", lambda: get(name=f"{PARENT}/{coll}/999"),
                 grpc.StatusCode.NOT_FOUND)
    expect_error(get_rpc, "malformed name -> INVALID_ARGUMENT",
                 lambda: get(name=f"{PARENT}/{coll}"), grpc.StatusCode.INVALID_ARGUMENT)
    # The status's details must repeat its message exactly, or the client raises ValueError.
    expect_error(get_rpc, "non-ASCII malformed name -> INVALID_ARGUMENT",
                 lambda: get(name=f"{PARENT}/{coll}/caf\u00e9\u2603"),
                 grpc.StatusCode.INVALID_ARGUMENT)
    expect_error(get_rpc, "a name of another kind -> INVALID_ARGUMENT",
                 lambda: get(name=f"{PARENT}/{'nasJobs' if kind != 'NasJob' else 'customJobs'}/1"),
                 grpc.StatusCode.INVALID_ARGUMENT)

    def paged(answer):
        pages = [names_of(getattr(page, field)) for page in answer.pages]
        flat = sorted(sum(pages, []))
        return None if [len(p) for p in pages] == [2, 2] and flat == sorted(AGES_MS) \
            else f"pages {pages}, expected two pages of 2 covering {sorted(AGES_MS)}"

    expect_ok(list_rpc, "page_size=2, every page", lambda: lister(
        request={"parent": PARENT, "page_size": 2}), paged)
    first = lister(request={"parent": PARENT, "page_size": 2})
    token = first.next_page_token
    expect_ok(list_rpc, "page_token of page 1", lambda: lister(
        request={"parent": PARENT, "page_size": 2, "page_token": token}),
        lambda a: None if len(list(getattr(next(iter(a.pages)), field))) == 2
        else "second page not 2 items")
    expect_error(list_rpc, "foreign page_token -> INVALID_ARGUMENT", lambda: list(lister(
        request={"parent": PARENT, "page_token": "garbage"})), grpc.StatusCode.INVALID_ARGUMENT)
    expect_error(list_rpc, "negative page_size -> INVALID_ARGUMENT", lambda: list(lister(
        request={"parent": PARENT, "page_size": -1})), grpc.StatusCode.INVALID_ARGUMENT)
    expect_ok(list_rpc, "page_size 5000 (over the maximum: capped)", lambda: lister(
        request={"parent": PARENT, "page_size": 5000}),
        lambda a: None if len(names_of(a)) == 4 else f"{names_of(a)}")
    expect_error(list_rpc, "parent not a location -> INVALID_ARGUMENT", lambda: list(lister(
        request={"parent": "projects/p"})), grpc.StatusCode.INVALID_ARGUMENT)

    def listed(filt, want):
        def verify(answer):
            got = sorted(names_of(answer))
            return None if got == want else f"{filt!r} listed {got}, expected {want}"
        return expect_ok(list_rpc, f"filter {filt}",
                         lambda: lister(request={"parent": PARENT, "filter": filt}), verify)

    listed(f"state={prefix}SUCCEEDED", ["103"])
    listed(f'state!="{prefix}SUCCEEDED"', ["101", "102", "104"])
    listed('labels.team="a"', ["101", "102"])
    listed("labels.team:*", ["101", "102", "103", "104"])
    listed('create_time>"2000-01-01T00:00:00Z"', ["101", "102", "103", "104"])
    if kind != "TuningJob":
        listed('display_name:"job-10*"', ["101", "102", "103", "104"])
        listed('display_name="job-102" OR display_name="job-104"', ["102", "104"])
    expect_error(list_rpc, "filter on an undocumented field -> INVALID_ARGUMENT",
                 lambda: list(lister(request={"parent": PARENT, "filter": 'nosuchfield="x"'})),
                 grpc.StatusCode.INVALID_ARGUMENT)
    expect_error(list_rpc, "filter that does not parse -> INVALID_ARGUMENT",
                 lambda: list(lister(request={"parent": PARENT, "filter": 'state=('})),
                 grpc.StatusCode.INVALID_ARGUMENT)
    if has_mask:
        def masked(answer):
            items = list(answer)
            bad = [i.name for i in items if not i.name or i.display_name or i.labels]
            return f"fields outside the mask returned for {bad}" if bad or not items else None
        expect_ok(list_rpc, "read_mask name,state", lambda: lister(request={
            "parent": PARENT, "read_mask": field_mask_pb2.FieldMask(paths=["name", "state"])}),
            masked)
        real = {"PipelineJob": "pipeline_spec", "TrainingPipeline": "training_task_definition",
                "CustomJob": "job_spec", "HyperparameterTuningJob": "study_spec",
                "BatchPredictionJob": "model", "DataLabelingJob": "datasets",
                "NasJob": "nas_job_spec"}[kind]
        expect_ok(list_rpc, f"read_mask name,{real} (a field the fake does not model)",
                  lambda: list(lister(request={"parent": PARENT, "read_mask":
                               field_mask_pb2.FieldMask(paths=["name", real])})))
        expect_error(list_rpc, "read_mask with a field the resource lacks -> INVALID_ARGUMENT",
                     lambda: list(lister(request={"parent": PARENT, "read_mask":
                                  field_mask_pb2.FieldMask(paths=["no_such_field"])})),
                     grpc.StatusCode.INVALID_ARGUMENT)
    if kind == "PipelineJob":
        expect_ok(list_rpc, "no order_by: create_time desc (documented default)",
                  lambda: lister(request={"parent": PARENT}),
                  lambda a: None if names_of(a) == ["103", "101", "104", "102"]
                  else f"order {names_of(a)}, expected newest first [103, 101, 104, 102]")
    if has_order:
        expect_ok(list_rpc, "order_by create_time desc", lambda: lister(request={
            "parent": PARENT, "order_by": "create_time desc"}),
            lambda a: None if names_of(a) == ["103", "101", "104", "102"]
            else f"order {names_of(a)}, expected newest first [103, 101, 104, 102]")
        expect_ok(list_rpc, "order_by create_time", lambda: lister(request={
            "parent": PARENT, "order_by": "create_time"}),
            lambda a: None if names_of(a) == ["102", "104", "101", "103"]
            else f"order {names_of(a)}, expected oldest first [102, 104, 101, 103]")
        expect_error(list_rpc, "order_by an unsupported field -> INVALID_ARGUMENT",
                     lambda: list(lister(request={"parent": PARENT, "order_by": "nosuchfield"})),
                     grpc.StatusCode.INVALID_ARGUMENT)

    expect_ok(cancel_rpc, "running job", lambda: cancel(name=name),
              lambda a: None if a is None else f"answer {a!r}, expected Empty (None)")
    expect_ok(get_rpc, "after cancel: CANCELLING", lambda: get(name=name),
              lambda j: None if j.state.name == f"{prefix}CANCELLING" else j.state.name)
    expect_ok(cancel_rpc, "again while cancelling", lambda: cancel(name=name))
    time.sleep(0.4)
    expect_ok(get_rpc, "after the cancel delay: CANCELLED, error.code 1", lambda: get(name=name),
              lambda j: None if (j.state.name, j.error.code) == (f"{prefix}CANCELLED", 1)
              else f"{j.state.name}, error {j.error.code}")
    expect_error(cancel_rpc, "finished job -> FAILED_PRECONDITION",
                 lambda: cancel(name=f"{PARENT}/{coll}/103"),
                 grpc.StatusCode.FAILED_PRECONDITION)
    expect_error(cancel_rpc, "unknown job -> NOT_FOUND",
                 lambda: cancel(name=f"{PARENT}/{coll}/999"), grpc.StatusCode.NOT_FOUND)
    expect_error(cancel_rpc, "malformed name -> INVALID_ARGUMENT",
                 lambda: cancel(name=f"{PARENT}/{coll}/"), grpc.StatusCode.INVALID_ARGUMENT)


def check_batch(channel):
    client = make(v1.PipelineServiceClient, channel)
    rpc = "BatchCancelPipelineJobs"
    names = [f"{BATCH_PARENT}/pipelineJobs/{i}" for i in ("b1", "b2", "b3")]
    op = expect_ok(rpc, "returns an operation", lambda: client.batch_cancel_pipeline_jobs(
        parent=BATCH_PARENT, names=names))
    if op is None:
        return
    expect_ok(rpc, "metadata unpacks as BatchCancelPipelineJobsOperationMetadata",
              lambda: op.metadata, lambda m: None if isinstance(
                  m, v1.BatchCancelPipelineJobsOperationMetadata)
              and m.generic_metadata.create_time else f"metadata {m!r}")

    def response(r):
        if not isinstance(r, v1.BatchCancelPipelineJobsResponse):
            return f"response {type(r).__name__}"
        got = sorted((j.name.rsplit("/", 1)[1], j.state.name) for j in r.pipeline_jobs)
        want = [("b1", "PIPELINE_STATE_CANCELLED"), ("b2", "PIPELINE_STATE_CANCELLED")]
        return None if got == want else f"pipeline_jobs {got}, expected {want}"

    expect_ok(rpc, "operation.result() polls to BatchCancelPipelineJobsResponse",
              lambda: op.result(timeout=10), response)
    expect_ok(rpc, "operation done, not cancelled", lambda: (op.done(), op.cancelled()),
              lambda d: None if d == (True, False) else f"done/cancelled {d}")
    bad = client.batch_cancel_pipeline_jobs(parent=BATCH_PARENT, names=[
        f"{BATCH_PARENT}/pipelineJobs/b4", f"{BATCH_PARENT}/pipelineJobs/nope"])
    expect_error(rpc, "an unknown job: operation fails NOT_FOUND",
                 lambda: bad.result(timeout=10), grpc.StatusCode.NOT_FOUND)
    expect_error(rpc, "no names -> INVALID_ARGUMENT",
                 lambda: client.batch_cancel_pipeline_jobs(parent=BATCH_PARENT, names=[]),
                 grpc.StatusCode.INVALID_ARGUMENT)
    expect_error(rpc, "33 names -> INVALID_ARGUMENT",
                 lambda: client.batch_cancel_pipeline_jobs(parent=BATCH_PARENT, names=[
                     f"{BATCH_PARENT}/pipelineJobs/x{i}" for i in range(33)]),
                 grpc.StatusCode.INVALID_ARGUMENT)
    expect_error(rpc, "a name under another location -> INVALID_ARGUMENT",
                 lambda: client.batch_cancel_pipeline_jobs(parent=BATCH_PARENT, names=[
                     f"{PARENT}/pipelineJobs/101"]),
                 grpc.StatusCode.INVALID_ARGUMENT)


def check_operations(channel):
    client = make(v1.PipelineServiceClient, channel)
    op1 = f"{PARENT}/operations/1"

    def generic(op):
        meta = v1.GenericOperationMetadata()
        if not op.metadata.Unpack(v1.GenericOperationMetadata.pb(meta)):
            return f"metadata type {op.metadata.type_url}"
        return None

    expect_ok("GetOperation", "running operation: not done, GenericOperationMetadata",
              lambda: client.get_operation(request={"name": op1}),
              lambda op: generic(op) or (f"done={op.done}" if op.done else None))
    expect_ok("GetOperation", "done operation: a response",
              lambda: client.get_operation(request={"name": f"{PARENT}/operations/2"}),
              lambda op: None if op.done and op.WhichOneof("result") == "response"
              else f"done={op.done} result={op.WhichOneof('result')}")
    expect_error("GetOperation", "unknown -> NOT_FOUND",
                 lambda: client.get_operation(request={"name": f"{PARENT}/operations/99"}),
                 grpc.StatusCode.NOT_FOUND)
    expect_error("GetOperation", "malformed -> INVALID_ARGUMENT",
                 lambda: client.get_operation(request={"name": "projects/p/operations/1"}),
                 grpc.StatusCode.INVALID_ARGUMENT)
    expect_ok("ListOperations", "a location's operations, page_size 2",
              lambda: client.list_operations(request={"name": PARENT, "page_size": 2}),
              lambda r: None if len(r.operations) == 2 and r.next_page_token else
              f"{len(r.operations)} operations, token {r.next_page_token!r}")
    expect_ok("ListOperations", "filter done=true",
              lambda: client.list_operations(request={"name": PARENT, "filter": "done=true"}),
              lambda r: None if [o.name for o in r.operations] == [f"{PARENT}/operations/2"]
              else f"{[o.name for o in r.operations]}")
    expect_ok("ListOperations", "a job's operations",
              lambda: client.list_operations(request={"name": f"{PARENT}/pipelineJobs/101"}),
              lambda r: None if len(r.operations) == 1 else f"{len(r.operations)} operations")
    expect_ok("CancelOperation", "running operation",
              lambda: client.cancel_operation(request={"name": f"{PARENT}/operations/3"}))
    time.sleep(0.4)
    expect_ok("GetOperation", "cancelled operation: done, error.code 1 (CANCELLED)",
              lambda: client.get_operation(request={"name": f"{PARENT}/operations/3"}),
              lambda op: None if op.done and op.error.code == 1
              else f"done={op.done} error={op.error.code}")
    expect_error("CancelOperation", "unknown -> NOT_FOUND",
                 lambda: client.cancel_operation(request={"name": f"{PARENT}/operations/99"}),
                 grpc.StatusCode.NOT_FOUND)
    expect_ok("DeleteOperation", "an operation",
              lambda: client.delete_operation(request={"name": f"{PARENT}/operations/4"}))
    expect_error("DeleteOperation", "deleted one is NOT_FOUND after",
                 lambda: client.get_operation(request={"name": f"{PARENT}/operations/4"}),
                 grpc.StatusCode.NOT_FOUND)
    # This client's gRPC wait_operation has no response deserializer: it returns the bytes.
    def waited(name, timeout=None):
        request = {"name": name}
        if timeout is not None:
            request["timeout"] = duration_pb2.Duration(nanos=int(timeout * 1e9))
        answer = client.wait_operation(request=request)
        return operations_pb2.Operation.FromString(answer) if isinstance(answer, bytes) else answer

    expect_ok("WaitOperation", "a done operation answers at once",
              lambda: waited(f"{PARENT}/operations/2"),
              lambda op: None if op.done else "not done")
    expect_ok("WaitOperation", "a running one: as it is once the timeout passes",
              lambda: waited(f"{PARENT}/operations/1", 0.2),
              lambda op: None if not op.done else "done")
    expect_error("WaitOperation", "unknown -> NOT_FOUND",
                 lambda: waited(f"{PARENT}/operations/99"), grpc.StatusCode.NOT_FOUND)
    expect_ok("ListLocations", "the project's locations",
              lambda: client.list_locations(request={"name": "projects/p"}),
              lambda r: None if [loc.location_id for loc in r.locations]
              == ["europe-west4", "us-central1"]
              else f"{[loc.location_id for loc in r.locations]}")
    first = client.list_locations(request={"name": "projects/p", "page_size": 1})
    expect_ok("ListLocations", "page_size 1, then its page_token",
              lambda: client.list_locations(request={
                  "name": "projects/p", "page_size": 1, "page_token": first.next_page_token}),
              lambda r: None if [loc.name for loc in [*first.locations, *r.locations]]
              == ["projects/p/locations/europe-west4", "projects/p/locations/us-central1"]
              and not r.next_page_token else f"{first} then {r}")


def check_v1beta1(channel):
    client = make(v1beta1.PipelineServiceClient, channel)
    try:
        client.get_pipeline_job(name=f"{PARENT}/pipelineJobs/102")
        record("v1beta1 GetPipelineJob", "served", True)
    except gexc.GoogleAPICallError as e:
        # Not a difference: the fake serves v1 only, and says so.
        record("v1beta1 GetPipelineJob", "not served by the fake (v1 only)",
               e.grpc_status_code == grpc.StatusCode.UNIMPLEMENTED, e.message)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release/vertex-cancel")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        proc, addr = start_fake(args.bin, workdir)
        channel = grpc.insecure_channel(addr)
        try:
            for kind in KINDS:
                check_kind(kind, channel)
            check_batch(channel)
            check_operations(channel)
            check_v1beta1(channel)
        finally:
            channel.close()
            proc.terminate()
            proc.wait(timeout=10)
    differences = 0
    for rpc, check, ok, detail in results:
        differences += not ok
        line = f"{'ok' if ok else 'DIFFERENCE':10}  {rpc:34}  {check}"
        print(line + (f"\n{'':12}{detail}" if detail and not ok else ""))
    print(f"\n{len(results)} checks, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
