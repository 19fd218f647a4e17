#!/usr/bin/env bash
# Re-vendors the .proto files under proto/ from registry packages (npm + PyPI), keeping only the
# import closure of the roots below. Needs npm, pip and python3; not run by CI.
set -euo pipefail

AIPLATFORM_VERSION=7.4.0          # npm @google-cloud/aiplatform
COMMON_PROTOS_VERSION=1.76.0      # PyPI googleapis-common-protos
ROOTS=(
  google/cloud/aiplatform/v1/pipeline_service.proto
  google/cloud/aiplatform/v1/job_service.proto
  google/cloud/aiplatform/v1/genai_tuning_service.proto
  google/cloud/location/locations.proto
  google/longrunning/operations.proto
  google/rpc/status.proto
  google/rpc/code.proto
  google/rpc/error_details.proto
)

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@google-cloud/aiplatform@${AIPLATFORM_VERSION}" >/dev/null \
  && tar xzf google-cloud-aiplatform-*.tgz)
pip download --quiet --no-deps -d "$work" "googleapis-common-protos==${COMMON_PROTOS_VERSION}"
mkdir -p "$work/src"
(cd "$work/src" && python3 -m zipfile -e "$work"/googleapis_common_protos-*.whl .)
# The wheel ships the long-running protos as operations_proto.proto; importers use operations.proto.
mv "$work/src/google/longrunning/operations_proto.proto" "$work/src/google/longrunning/operations.proto"
# Merges into the wheel's google/cloud/, which holds google/cloud/location (the npm package has none).
cp -r "$work/package/build/protos/google/cloud" "$work/src/google/"

rm -rf "$here/google"
cp "$work"/src/googleapis_common_protos-*.dist-info/licenses/LICENSE "$here/LICENSE"
python3 - "$work/src" "$here" "${ROOTS[@]}" <<'PY'
import re, shutil, sys, pathlib
src, dst, roots = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
seen, todo = set(), list(roots)
while todo:
    f = todo.pop()
    if f in seen or f.startswith("google/protobuf/"):
        continue  # well-known types are built into protox
    seen.add(f)
    text = (src / f).read_text()
    todo += re.findall(r'^import\s+(?:public\s+)?"([^"]+)";', text, re.M)
for f in sorted(seen):
    (dst / f).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / f, dst / f)
print(f"vendored {len(seen)} files")
PY
