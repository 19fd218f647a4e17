//! Compiles the vendored protos in `proto/` into tonic/prost stubs with protox (no system
//! `protoc`), after pruning the descriptor set to the RPCs this crate serves and calls and the
//! messages they reach. Without the pruning the import closure generates tens of thousands of
//! lines for RPCs nobody here uses; users would compile, document and index all of it.
//!
//! Two sets come out of one descriptor set:
//! - `wire/`, always: the facade's and the fake's stubs, in which each job resource message
//!   ([`TRIMMED`]) keeps only the fields the crate reads and writes, with their own numbers and
//!   types. A decoder skips unknown fields, so a trimmed message still reads a server's full
//!   answer. This keeps the default build small although the resources are huge.
//! - `raw/`, with the `raw-stubs` feature: the complete messages and stubs of the same RPCs, for
//!   `vertex_cancel::proto`. A message offered as a service's own there is never trimmed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet, SourceCodeInfo,
};

/// The proto files compiled; protox pulls in their imports.
const ROOT_FILES: &[&str] = &[
    "google/cloud/aiplatform/v1/pipeline_service.proto",
    "google/cloud/aiplatform/v1/job_service.proto",
    "google/cloud/aiplatform/v1/genai_tuning_service.proto",
    "google/cloud/aiplatform/v1/operation.proto",
    "google/cloud/location/locations.proto",
    "google/longrunning/operations.proto",
    "google/rpc/status.proto",
    "google/rpc/code.proto",
];

/// The RPCs kept, as `package.Service/Method`: Cancel, Get and List of every kind.
const KEPT_METHODS: &[&str] = &[
    "google.cloud.aiplatform.v1.PipelineService/CancelPipelineJob",
    "google.cloud.aiplatform.v1.PipelineService/GetPipelineJob",
    "google.cloud.aiplatform.v1.PipelineService/ListPipelineJobs",
    "google.cloud.aiplatform.v1.PipelineService/BatchCancelPipelineJobs",
    "google.cloud.aiplatform.v1.PipelineService/CancelTrainingPipeline",
    "google.cloud.aiplatform.v1.PipelineService/GetTrainingPipeline",
    "google.cloud.aiplatform.v1.PipelineService/ListTrainingPipelines",
    "google.cloud.aiplatform.v1.JobService/CancelNasJob",
    "google.cloud.aiplatform.v1.JobService/GetNasJob",
    "google.cloud.aiplatform.v1.JobService/ListNasJobs",
    "google.cloud.aiplatform.v1.JobService/CancelCustomJob",
    "google.cloud.aiplatform.v1.JobService/GetCustomJob",
    "google.cloud.aiplatform.v1.JobService/ListCustomJobs",
    "google.cloud.aiplatform.v1.JobService/CancelHyperparameterTuningJob",
    "google.cloud.aiplatform.v1.JobService/GetHyperparameterTuningJob",
    "google.cloud.aiplatform.v1.JobService/ListHyperparameterTuningJobs",
    "google.cloud.aiplatform.v1.JobService/CancelBatchPredictionJob",
    "google.cloud.aiplatform.v1.JobService/GetBatchPredictionJob",
    "google.cloud.aiplatform.v1.JobService/ListBatchPredictionJobs",
    "google.cloud.aiplatform.v1.JobService/CancelDataLabelingJob",
    "google.cloud.aiplatform.v1.JobService/GetDataLabelingJob",
    "google.cloud.aiplatform.v1.JobService/ListDataLabelingJobs",
    "google.cloud.aiplatform.v1.GenAiTuningService/CancelTuningJob",
    "google.cloud.aiplatform.v1.GenAiTuningService/GetTuningJob",
    "google.cloud.aiplatform.v1.GenAiTuningService/ListTuningJobs",
    "google.cloud.location.Locations/ListLocations",
    "google.longrunning.Operations/ListOperations",
    "google.longrunning.Operations/GetOperation",
    "google.longrunning.Operations/DeleteOperation",
    "google.longrunning.Operations/CancelOperation",
    "google.longrunning.Operations/WaitOperation",
];

/// Types kept although no kept RPC names them: what operations carry in `Any` (prost ignores the
/// `operation_info` option). The `google.rpc` error details come from `tonic-types` instead.
const EXTRA_TYPES: &[&str] = &[
    "google.cloud.aiplatform.v1.GenericOperationMetadata",
    "google.cloud.aiplatform.v1.DeleteOperationMetadata",
    "google.cloud.aiplatform.v1.BatchCancelPipelineJobsOperationMetadata",
    "google.cloud.aiplatform.v1.BatchCancelPipelineJobsResponse",
];

/// Types only the complete set keeps: the crate itself uses `tonic::Code`.
const RAW_EXTRA_TYPES: &[&str] = &["google.rpc.Code"];

/// The job resources trimmed in the `wire` set: each is thousands of generated lines complete,
/// and the facade and the fake read only a handful of fields.
const TRIMMED: &[&str] = &[
    "google.cloud.aiplatform.v1.PipelineJob",
    "google.cloud.aiplatform.v1.NasJob",
    "google.cloud.aiplatform.v1.CustomJob",
    "google.cloud.aiplatform.v1.HyperparameterTuningJob",
    "google.cloud.aiplatform.v1.BatchPredictionJob",
    "google.cloud.aiplatform.v1.DataLabelingJob",
    "google.cloud.aiplatform.v1.TrainingPipeline",
    "google.cloud.aiplatform.v1.TuningJob",
];

/// The fields a trimmed resource keeps, where it has them. `tuned_model_display_name` is the
/// display name of a tuning job, which has no `display_name`.
const TRIMMED_FIELDS: &[&str] = &[
    "name",
    "display_name",
    "tuned_model_display_name",
    "state",
    "error",
    "labels",
    "create_time",
    "start_time",
    "end_time",
    "update_time",
];

// Field numbers of descriptor.proto, used in `SourceCodeInfo` paths.
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const FILE_SERVICE: i32 = 6;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ONEOF: i32 = 8;
const MESSAGE_ENUM: i32 = 4;
const SERVICE_METHOD: i32 = 2;

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rustc-env=VERTEX_CANCEL_RUSTC_VERSION={}",
        rustc_version()
    );

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let complete = protox::compile(ROOT_FILES, ["proto"]).map_err(io::Error::other)?;

    let mut wire = complete.clone();
    for file in &mut wire.file {
        trim_file(file);
    }
    generate(wire, EXTRA_TYPES, &out_dir.join("wire"))?;
    write_resource_fields(&complete, &out_dir.join("resource_fields.rs"))?;

    if std::env::var_os("CARGO_FEATURE_RAW_STUBS").is_some() {
        let extra: Vec<&str> = EXTRA_TYPES.iter().chain(RAW_EXTRA_TYPES).copied().collect();
        generate(complete, &extra, &out_dir.join("raw"))?;
    }
    Ok(())
}

/// Prunes `fds` to the kept RPCs, `extra` and what they reach, then writes its stubs and
/// `_includes.rs` into `dir`.
fn generate(mut fds: FileDescriptorSet, extra: &[&str], dir: &Path) -> io::Result<()> {
    let kept = reachable_types(&fds, extra);
    for file in &mut fds.file {
        if !file.package().starts_with("google.protobuf") {
            prune_file(file, &kept);
        }
    }

    std::fs::create_dir_all(dir)?;
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .server_mod_attribute(".", r#"#[cfg(feature = "fake")]"#)
        .include_file("_includes.rs")
        .out_dir(dir)
        .emit_rerun_if_changed(false)
        .compile_fds_with_config(fds, config)
}

/// Writes the name of every field each [`TRIMMED`] resource has in the complete protos: the fake
/// accepts a `read_mask` naming any of them, as Google does, although it fills only the kept ones.
fn write_resource_fields(fds: &FileDescriptorSet, path: &Path) -> io::Result<()> {
    let mut text = String::from(
        "/// Every field of each job resource in the complete protos (written by `build.rs`).\n\
         pub(crate) const RESOURCE_FIELDS: &[(&str, &[&str])] = &[\n",
    );
    for file in &fds.file {
        for message in &file.message_type {
            let full = format!("{}.{}", file.package(), message.name());
            if TRIMMED.contains(&full.as_str()) {
                let names: Vec<String> = message
                    .field
                    .iter()
                    .map(|f| format!("{:?}", f.name()))
                    .collect();
                text.push_str(&format!("    ({full:?}, &[{}]),\n", names.join(", ")));
            }
        }
    }
    text.push_str("];\n");
    std::fs::write(path, text)
}

/// Drops the fields of the [`TRIMMED`] messages of `file` not in [`TRIMMED_FIELDS`], and the
/// oneofs left empty, keeping the comments of what stays.
fn trim_file(file: &mut FileDescriptorProto) {
    let prefix = file.package().to_owned();
    let mut maps = IndexMaps::new();
    for (index, message) in file.message_type.iter_mut().enumerate() {
        if TRIMMED.contains(&format!("{prefix}.{}", message.name()).as_str()) {
            let index = i32::try_from(index).expect("descriptor lists are small");
            trim_message(message, vec![FILE_MESSAGE, index], &mut maps);
        }
    }
    if !maps.is_empty() {
        file.source_code_info = file
            .source_code_info
            .take()
            .map(|info| remap_source_info(info, &maps));
    }
}

fn trim_message(message: &mut DescriptorProto, path: Vec<i32>, maps: &mut IndexMaps) {
    let fields = std::mem::take(&mut message.field);
    let mut fields = retain_indexed(fields, child_path(&path, MESSAGE_FIELD), maps, |_, f, _| {
        TRIMMED_FIELDS.contains(&f.name()).then_some(f)
    });
    let used: HashSet<i32> = fields.iter().filter_map(|f| f.oneof_index).collect();
    let oneofs = std::mem::take(&mut message.oneof_decl);
    let oneof_path = child_path(&path, MESSAGE_ONEOF);
    message.oneof_decl = retain_indexed(oneofs, oneof_path.clone(), maps, |p, o, _| {
        used.contains(&p[p.len() - 1]).then_some(o)
    });
    for field in &mut fields {
        renumber_oneof(field, &maps[&oneof_path]);
    }
    message.field = fields;
}

fn renumber_oneof(field: &mut FieldDescriptorProto, map: &HashMap<i32, i32>) {
    if let Some(old) = field.oneof_index {
        field.oneof_index = Some(map[&old]);
    }
}

/// The compiler's version number, for the `x-goog-api-client` header.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// A type's outgoing edges: the types its fields name, and the message it is nested in (a nested
/// type cannot be generated without its parent).
fn reachable_types(fds: &FileDescriptorSet, extra: &[&str]) -> HashSet<String> {
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for file in &fds.file {
        let prefix = format!(".{}", file.package());
        for message in &file.message_type {
            collect_message_edges(&prefix, None, message, &mut edges);
        }
        for enumeration in &file.enum_type {
            edges.insert(format!("{prefix}.{}", enumeration.name()), Vec::new());
        }
    }

    let mut roots: Vec<String> = extra.iter().map(|t| format!(".{t}")).collect();
    for file in &fds.file {
        for service in &file.service {
            for method in &service.method {
                let full = format!("{}.{}/{}", file.package(), service.name(), method.name());
                if KEPT_METHODS.contains(&full.as_str()) {
                    roots.push(method.input_type().to_owned());
                    roots.push(method.output_type().to_owned());
                }
            }
        }
    }

    let mut kept = HashSet::new();
    let mut queue: VecDeque<String> = roots.into();
    while let Some(name) = queue.pop_front() {
        if kept.insert(name.clone()) {
            queue.extend(edges.get(&name).into_iter().flatten().cloned());
        }
    }
    kept
}

fn collect_message_edges(
    prefix: &str,
    parent: Option<&str>,
    message: &DescriptorProto,
    edges: &mut HashMap<String, Vec<String>>,
) {
    let name = format!("{prefix}.{}", message.name());
    let mut out: Vec<String> = message
        .field
        .iter()
        .filter(|f| !f.type_name().is_empty())
        .map(|f| f.type_name().to_owned())
        .collect();
    out.extend(parent.map(str::to_owned));
    for nested in &message.nested_type {
        collect_message_edges(&name, Some(&name), nested, edges);
    }
    for enumeration in &message.enum_type {
        edges.insert(format!("{name}.{}", enumeration.name()), vec![name.clone()]);
    }
    edges.insert(name, out);
}

/// For each repeated descriptor list (keyed by its old `SourceCodeInfo` path), old index -> new.
type IndexMaps = HashMap<Vec<i32>, HashMap<i32, i32>>;

fn prune_file(file: &mut FileDescriptorProto, kept: &HashSet<String>) {
    let prefix = format!(".{}", file.package());
    let package = file.package().to_owned();
    let mut maps = IndexMaps::new();

    let messages = std::mem::take(&mut file.message_type);
    file.message_type = retain_indexed(messages, vec![FILE_MESSAGE], &mut maps, |path, m, maps| {
        let name = format!("{prefix}.{}", m.name());
        kept.contains(&name)
            .then(|| prune_message(m, &name, path, kept, maps))
    });

    let enums = std::mem::take(&mut file.enum_type);
    file.enum_type = retain_indexed(enums, vec![FILE_ENUM], &mut maps, |_, e, _| {
        kept.contains(&format!("{prefix}.{}", e.name()))
            .then_some(e)
    });

    let services = std::mem::take(&mut file.service);
    file.service = retain_indexed(
        services,
        vec![FILE_SERVICE],
        &mut maps,
        |path, mut s, maps| {
            let service_name = format!("{package}.{}", s.name());
            let methods = std::mem::take(&mut s.method);
            s.method = retain_indexed(
                methods,
                child_path(&path, SERVICE_METHOD),
                maps,
                |_, m, _| {
                    let full = format!("{service_name}/{}", m.name());
                    KEPT_METHODS.contains(&full.as_str()).then_some(m)
                },
            );
            (!s.method.is_empty()).then_some(s)
        },
    );

    file.source_code_info = file
        .source_code_info
        .take()
        .map(|info| remap_source_info(info, &maps));
}

/// Prunes the nested types of a kept message whose old path is `path`.
fn prune_message(
    mut message: DescriptorProto,
    name: &str,
    path: Vec<i32>,
    kept: &HashSet<String>,
    maps: &mut IndexMaps,
) -> DescriptorProto {
    let nested = std::mem::take(&mut message.nested_type);
    message.nested_type = retain_indexed(
        nested,
        child_path(&path, MESSAGE_NESTED),
        maps,
        |p, n, maps| {
            let full = format!("{name}.{}", n.name());
            kept.contains(&full)
                .then(|| prune_message(n, &full, p, kept, maps))
        },
    );
    let enums = std::mem::take(&mut message.enum_type);
    message.enum_type = retain_indexed(enums, child_path(&path, MESSAGE_ENUM), maps, |_, e, _| {
        kept.contains(&format!("{name}.{}", e.name())).then_some(e)
    });
    message
}

fn child_path(path: &[i32], field: i32) -> Vec<i32> {
    let mut out = path.to_vec();
    out.push(field);
    out
}

/// Keeps the items `keep` returns, recording old index -> new index under `list_path`.
fn retain_indexed<T>(
    items: Vec<T>,
    list_path: Vec<i32>,
    maps: &mut IndexMaps,
    mut keep: impl FnMut(Vec<i32>, T, &mut IndexMaps) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut map = HashMap::new();
    for (old, item) in items.into_iter().enumerate() {
        let old = i32::try_from(old).expect("descriptor lists are small");
        if let Some(item) = keep(child_path(&list_path, old), item, maps) {
            map.insert(
                old,
                i32::try_from(out.len()).expect("descriptor lists are small"),
            );
            out.push(item);
        }
    }
    maps.insert(list_path, map);
    out
}

/// Rewrites comment locations to the pruned indices, dropping those of removed items, so the
/// generated code keeps the proto comments as docs.
fn remap_source_info(mut info: SourceCodeInfo, maps: &IndexMaps) -> SourceCodeInfo {
    info.location.retain_mut(|location| {
        let old = location.path.clone();
        for pair in (0..old.len().saturating_sub(1)).step_by(2) {
            if let Some(map) = maps.get(&old[..=pair]) {
                match map.get(&old[pair + 1]) {
                    Some(&new) => location.path[pair + 1] = new,
                    None => return false,
                }
            }
        }
        true
    });
    info
}
