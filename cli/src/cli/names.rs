//! Turning what the operator typed into validated [`Target`]s, before anything is sent: names
//! from arguments or stdin, short names completed with `--project`/`--region`, `--service
//! automl` for relative operation names, and the region/endpoint check of every target.
//!
//! Every name is checked up front so that a typo in line 900 of a list stops the run before the
//! first cancel, not after 899 of them.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use futures::stream::{self, BoxStream, StreamExt};
use vertex_cancel::name::MAX_NAME_LEN;
use vertex_cancel::{EndpointResolver, LocationName, Service, Target, TargetKind};

use super::args::ServiceArg;
use super::exit::{CliError, error_chain};
use vertex_cancel::escape::{DEFAULT_SHOWN_CHARS, for_terminal};

/// How many bad names one error message describes (the rest are counted).
const SHOWN_BAD_NAMES: usize = 10;

/// After this many bad names stdin is not read further: it is not a list of names
/// (`yes | vertex-cancel cancel -`).
const MAX_BAD_NAMES: usize = 1000;

/// The longest line of stdin read as a name. A name is at most [`MAX_NAME_LEN`] bytes; the rest
/// is room for surrounding whitespace. A longer line is refused (exit 2).
pub(crate) const MAX_LINE_BYTES: usize = 4096;

/// Whether `input` starts with the collection word of a kind (`customJobs/ID`, `operations/ID`
/// ...): a short name that `--project` and `--region` complete. The library's kind table is the
/// one list of collections.
fn starts_with_collection(input: &str) -> bool {
    TargetKind::ALL.iter().any(|kind| {
        input
            .strip_prefix(kind.collection())
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// What completes and checks names.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameContext {
    /// `--project`.
    pub(crate) project: Option<String>,
    /// `--region`.
    pub(crate) region: Option<String>,
    /// `--service`.
    pub(crate) service: Option<ServiceArg>,
}

impl NameContext {
    /// Parses one name: completes it, applies `--service`, and checks it can be routed.
    pub(crate) fn target(
        &self,
        input: &str,
        resolver: &EndpointResolver,
    ) -> Result<Target, String> {
        let full = self.complete(input)?;
        let target: Target = full.parse().map_err(|e| error_chain(&e))?;
        let target = self.apply_service(input, target)?;
        resolver
            .resolve_target(&target)
            .map_err(|e| error_chain(&e))?;
        Ok(target)
    }

    /// Every name given (`-`: stdin's lines), or none: all problems are reported together
    /// (the first [`SHOWN_BAD_NAMES`], then how many more), before anything is sent.
    ///
    /// Names from stdin are checked as they are read and kept in a temporary file, not in
    /// memory, so that a million names cost no more memory than ten.
    pub(crate) fn check(
        &self,
        args: &[String],
        resolver: &EndpointResolver,
    ) -> Result<CheckedNames, CliError> {
        if !from_stdin(args) {
            return self.check_args(args, resolver);
        }
        if args.len() > 1 {
            return Err(CliError::usage(
                "`-` (names from stdin) cannot be mixed with names on the command line",
            ));
        }
        self.check_lines(std::io::stdin().lock(), resolver)
    }

    fn check_args(
        &self,
        args: &[String],
        resolver: &EndpointResolver,
    ) -> Result<CheckedNames, CliError> {
        let mut problems = Problems::default();
        let mut targets = Vec::with_capacity(args.len());
        for (i, input) in args.iter().enumerate() {
            match self.target(input, resolver) {
                Ok(target) => targets.push(target),
                Err(problem) => problems.add(format!("name {}: {problem}", i + 1)),
            }
        }
        problems.check(args.len())?;
        Ok(CheckedNames::from_targets(targets))
    }

    fn check_lines(
        &self,
        mut input: impl BufRead,
        resolver: &EndpointResolver,
    ) -> Result<CheckedNames, CliError> {
        let mut spool = SpoolWriter::create()?;
        let mut problems = Problems::default();
        let mut line = Vec::new();
        let mut number = 0;
        let mut names = 0;
        while read_line(&mut input, &mut line, number + 1)? {
            number += 1;
            // A line that is not UTF-8 is a bad name like any other: counted, and in the cap.
            let text = std::str::from_utf8(&line);
            let name = text.map(str::trim).unwrap_or_default();
            if text.is_ok() && (name.is_empty() || name.starts_with('#')) {
                continue;
            }
            names += 1;
            let target = match text {
                Ok(_) => self.target(name, resolver),
                Err(_) => Err("not valid UTF-8".to_owned()),
            };
            match target {
                Ok(target) => spool.push(&target)?,
                Err(problem) => problems.add(format!("line {number}: {problem}")),
            }
            if problems.count >= MAX_BAD_NAMES {
                return Err(CliError::usage(format!(
                    "{MAX_BAD_NAMES} of the first {names} names on stdin are not valid; stopped \
                     reading at line {number}; nothing was sent:\n{}",
                    problems.listed()
                )));
            }
        }
        problems.check(names)?;
        if names == 0 {
            return Err(CliError::usage("no names on stdin"));
        }
        spool.finish()
    }

    /// The parent of a List: `--parent`, else `projects/{--project}/locations/{--region}`.
    pub(crate) fn parent(&self, parent: Option<&str>) -> Result<LocationName, CliError> {
        let text = match (parent, &self.project, &self.region) {
            (Some(parent), _, _) => parent.to_owned(),
            (None, Some(project), Some(region)) => format!("projects/{project}/locations/{region}"),
            _ => {
                return Err(CliError::usage(
                    "--parent projects/P/locations/L is required (or both --project and --region)",
                ));
            }
        };
        let parent: LocationName = text.parse()?;
        // --parent wins over neither: a flag it contradicts may be the one meant.
        let given = [
            ("--project", &self.project, parent.project()),
            ("--region", &self.region, parent.location()),
        ];
        for (flag, given, own) in given {
            if let Some(given) = given
                && given != own
            {
                return Err(CliError::usage(format!(
                    "--parent is in `{own}` but {flag} is `{}`",
                    for_terminal(given, DEFAULT_SHOWN_CHARS)
                )));
            }
        }
        Ok(parent)
    }

    /// The service `--service` names (Vertex AI when absent).
    pub(crate) fn service(&self) -> Service {
        match self.service {
            Some(ServiceArg::Automl) => Service::AutoMl,
            Some(ServiceArg::Aiplatform) | None => Service::VertexAi,
        }
    }

    /// Completes `locations/...` with `--project`, and `pipelineJobs/...` (or another
    /// collection) with `--project` and `--region`.
    fn complete(&self, input: &str) -> Result<String, String> {
        if input.starts_with("//") || input.starts_with("projects/") {
            return Ok(input.to_owned());
        }
        let project = self.project.as_deref();
        if input.starts_with("locations/") {
            return project
                .map(|p| format!("projects/{p}/{input}"))
                .ok_or_else(|| {
                    format!(
                        "`{}` needs --project to complete it",
                        for_terminal(input, DEFAULT_SHOWN_CHARS)
                    )
                });
        }
        if starts_with_collection(input) {
            return match (project, self.region.as_deref()) {
                (Some(p), Some(r)) => Ok(format!("projects/{p}/locations/{r}/{input}")),
                _ => Err(format!(
                    "`{}` needs --project and --region to complete it",
                    for_terminal(input, DEFAULT_SHOWN_CHARS)
                )),
            };
        }
        if !input.contains('/') && !input.is_empty() {
            return Err(format!(
                "`{}` is a bare id, which does not say what it names; give \
                 projects/P/locations/L/COLLECTION/ID (pipelineJobs/, customJobs/, operations/ ...), \
                 or COLLECTION/ID with --project and --region",
                for_terminal(input, DEFAULT_SHOWN_CHARS)
            ));
        }
        Ok(input.to_owned())
    }

    /// `--service automl` makes a relative operation name an AutoML one; it cannot apply to a
    /// job or contradict a full name.
    fn apply_service(&self, input: &str, target: Target) -> Result<Target, String> {
        let Some(arg) = self.service else {
            return Ok(target);
        };
        let service = self.service();
        match target {
            Target::Operation(op) if !input.starts_with("//") => {
                Ok(Target::Operation(op.with_service(service)))
            }
            target if target.service() == service => Ok(target),
            Target::Operation(_) => Err(format!(
                "`{}` names a {} operation, but --service is {}",
                for_terminal(input, DEFAULT_SHOWN_CHARS),
                target.service(),
                service_word(arg)
            )),
            _ => Err(format!(
                "`{}` is a {}; --service {} applies to operations only (AutoML has no jobs)",
                for_terminal(input, DEFAULT_SHOWN_CHARS),
                target.kind(),
                service_word(arg)
            )),
        }
    }
}

fn service_word(arg: ServiceArg) -> &'static str {
    match arg {
        ServiceArg::Aiplatform => "aiplatform",
        ServiceArg::Automl => "automl",
    }
}

/// Whether the names are to be read from stdin (`-` alone).
pub(crate) fn from_stdin(names: &[String]) -> bool {
    names.iter().any(|n| n == "-")
}

/// Bad names found so far: the first [`SHOWN_BAD_NAMES`] described, the rest counted.
#[derive(Debug, Default)]
struct Problems {
    shown: Vec<String>,
    count: usize,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.count += 1;
        if self.shown.len() < SHOWN_BAD_NAMES {
            self.shown.push(format!("  {problem}"));
        }
    }

    /// Every problem shown, one per line, then `... and N more`.
    fn listed(&self) -> String {
        let mut text = self.shown.join("\n");
        let more = self.count - self.shown.len();
        if more > 0 {
            text.push_str(&format!("\n  ... and {more} more"));
        }
        text
    }

    /// Nothing is sent if any of the `total` names is bad.
    fn check(&self, total: usize) -> Result<(), CliError> {
        if self.count == 0 {
            return Ok(());
        }
        Err(CliError::usage(format!(
            "{} of {total} names are not valid; nothing was sent:\n{}",
            self.count,
            self.listed()
        )))
    }
}

/// Reads line `number` of stdin into `line` (without its newline); `false` at the end. A line
/// longer than [`MAX_LINE_BYTES`] is refused without being read to its end.
fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    number: usize,
) -> Result<bool, CliError> {
    line.clear();
    let limit = MAX_LINE_BYTES as u64 + 1;
    let read = input
        .by_ref()
        .take(limit)
        .read_until(b'\n', line)
        .map_err(CliError::io("reading names from stdin"))?;
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if read as u64 == limit {
        return Err(CliError::usage(format!(
            "line {number} of stdin is longer than {MAX_LINE_BYTES} bytes (a name is at most \
             {MAX_NAME_LEN}); nothing was sent"
        )));
    }
    Ok(read > 0)
}

/// The names to work on, checked: in memory when they came as arguments, in a temporary file
/// when they came from stdin.
#[derive(Debug)]
pub(crate) struct CheckedNames {
    source: Source,
    count: usize,
    widest: usize,
}

#[derive(Debug)]
enum Source {
    Memory(Vec<Target>),
    Spool(BufReader<File>, SpoolFile),
}

impl CheckedNames {
    /// Names already in memory (arguments, or what a List returned).
    pub(crate) fn from_targets(targets: Vec<Target>) -> Self {
        Self {
            count: targets.len(),
            widest: targets.iter().map(name_width).max().unwrap_or(0),
            source: Source::Memory(targets),
        }
    }

    /// How many names there are.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The width of the longest name, in characters (for a table printed as it goes).
    pub(crate) fn widest(&self) -> usize {
        self.widest
    }

    /// The targets, read one at a time. A temporary file that can no longer be read ends the
    /// stream early; `failed` then says why, so the run is not reported as complete.
    pub(crate) fn into_stream(self, failed: Arc<OnceLock<String>>) -> BoxStream<'static, Target> {
        match self.source {
            Source::Memory(targets) => stream::iter(targets).boxed(),
            Source::Spool(reader, file) => {
                let spooled = reader.lines().map_while(move |line| {
                    // Owned by the stream: the file is removed when the stream is dropped.
                    let _keep = &file;
                    let parsed = line
                        .map_err(|e| e.to_string())
                        .and_then(|l| l.parse::<Target>().map_err(|e| e.to_string()));
                    parsed
                        .map_err(|e| failed.set(format!("reading the checked names back: {e}")))
                        .ok()
                });
                stream::iter(spooled).boxed()
            }
        }
    }
}

fn name_width(target: &Target) -> usize {
    target.to_string().chars().count()
}

/// A temporary file, removed when dropped (on Unix it is unlinked at once, so nothing is left
/// behind even if the process is killed).
#[derive(Debug)]
struct SpoolFile(PathBuf);

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes checked names to a temporary file, one canonical name per line.
struct SpoolWriter {
    out: BufWriter<File>,
    file: SpoolFile,
    count: usize,
    widest: usize,
}

impl SpoolWriter {
    fn create() -> Result<Self, CliError> {
        let path = std::env::temp_dir().join(format!(
            "vertex-cancel-names-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let handle = options
            .open(&path)
            .map_err(CliError::io("creating a temporary file for the names"))?;
        let file = SpoolFile(path);
        #[cfg(unix)]
        let _ = std::fs::remove_file(&file.0);
        Ok(Self {
            out: BufWriter::new(handle),
            file,
            count: 0,
            widest: 0,
        })
    }

    fn push(&mut self, target: &Target) -> Result<(), CliError> {
        let name = target.to_string();
        self.count += 1;
        self.widest = self.widest.max(name.chars().count());
        writeln!(self.out, "{name}").map_err(CliError::io("writing the names to a temporary file"))
    }

    fn finish(self) -> Result<CheckedNames, CliError> {
        let mut handle = self
            .out
            .into_inner()
            .map_err(|e| CliError::io("writing the names to a temporary file")(e.into_error()))?;
        handle
            .seek(SeekFrom::Start(0))
            .map_err(CliError::io("reading the names back"))?;
        Ok(CheckedNames {
            source: Source::Spool(BufReader::new(handle), self.file),
            count: self.count,
            widest: self.widest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/1";
    const OP: &str = "projects/p/locations/us-central1/operations/9";

    fn ctx(
        project: Option<&str>,
        region: Option<&str>,
        service: Option<ServiceArg>,
    ) -> NameContext {
        NameContext {
            project: project.map(Into::into),
            region: region.map(Into::into),
            service,
        }
    }

    fn parse(ctx: &NameContext, input: &str) -> Result<Target, String> {
        let mut resolver = EndpointResolver::new();
        if let Some(region) = &ctx.region {
            resolver = resolver.with_region(region).unwrap();
        }
        ctx.target(input, &resolver)
    }

    #[test]
    fn relative_and_full_names_parse() {
        let c = ctx(None, None, None);
        assert_eq!(parse(&c, JOB).unwrap().kind(), TargetKind::PipelineJob);
        let full = format!("//aiplatform.googleapis.com/{OP}");
        assert_eq!(parse(&c, &full).unwrap().service(), Service::VertexAi);
        let automl = format!("//automl.googleapis.com/{OP}");
        assert_eq!(parse(&c, &automl).unwrap().service(), Service::AutoMl);
    }

    #[test]
    fn short_names_are_completed_only_when_unambiguous() {
        let both = ctx(Some("p"), Some("us-central1"), None);
        assert_eq!(parse(&both, "pipelineJobs/1").unwrap().to_string(), JOB);
        assert_eq!(
            parse(&both, "locations/us-central1/pipelineJobs/1")
                .unwrap()
                .to_string(),
            JOB
        );
        let project_only = ctx(Some("p"), None, None);
        assert!(
            parse(&project_only, "pipelineJobs/1")
                .unwrap_err()
                .contains("--region")
        );
        assert!(parse(&both, "1").unwrap_err().contains("bare id"));
    }

    #[test]
    fn service_automl_applies_to_relative_operations_only() {
        let automl = ctx(None, None, Some(ServiceArg::Automl));
        assert_eq!(parse(&automl, OP).unwrap().service(), Service::AutoMl);
        assert!(parse(&automl, JOB).unwrap_err().contains("operations only"));
        let full_vertex = format!("//aiplatform.googleapis.com/{OP}");
        assert!(
            parse(&automl, &full_vertex)
                .unwrap_err()
                .contains("--service")
        );
        let vertex = ctx(None, None, Some(ServiceArg::Aiplatform));
        assert_eq!(parse(&vertex, OP).unwrap().service(), Service::VertexAi);
    }

    #[test]
    fn region_mismatch_and_automl_locations_are_caught_before_sending() {
        let west = ctx(None, Some("europe-west4"), None);
        assert!(parse(&west, JOB).unwrap_err().contains("region"));
        let automl = ctx(None, None, Some(ServiceArg::Automl));
        let op = "projects/p/locations/asia-east1/operations/9";
        assert!(parse(&automl, op).unwrap_err().contains("AutoML"));
    }

    #[test]
    fn all_bad_names_are_reported_together() {
        let c = ctx(None, None, None);
        let inputs = vec![JOB.to_owned(), "nope".to_owned(), "projects/x".to_owned()];
        let err = c.check(&inputs, &EndpointResolver::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 of 3 names"), "{text}");
        assert!(
            text.contains("name 2:") && text.contains("name 3:"),
            "{text}"
        );
    }

    fn from_lines(input: &str) -> Result<Vec<String>, CliError> {
        let names =
            ctx(None, None, None).check_lines(input.as_bytes(), &EndpointResolver::new())?;
        let failed = Arc::new(OnceLock::new());
        let read = futures::executor::block_on_stream(names.into_stream(failed.clone()));
        let names = read.map(|t| t.to_string()).collect();
        assert!(failed.get().is_none());
        Ok(names)
    }

    #[test]
    fn stdin_lines_skip_blanks_and_comments_and_come_back_in_order() {
        let input = format!("# mine\n\n  {JOB}  \r\n{OP}\n{JOB}");
        assert_eq!(from_lines(&input).unwrap(), [JOB, OP, JOB]);
        assert!(from_lines("\n# none\n").is_err());
    }

    #[test]
    fn bad_lines_are_numbered_and_an_overlong_line_stops_reading() {
        let input = format!("{JOB}\n\nnope\n");
        let text = from_lines(&input).unwrap_err().to_string();
        assert!(text.contains("line 3:"), "{text}");
        let long = format!("{JOB}\n{}", "x".repeat(MAX_LINE_BYTES + 1));
        let text = from_lines(&long).unwrap_err().to_string();
        assert!(text.contains("longer than"), "{text}");
        let garbage = "y\n".repeat(MAX_BAD_NAMES + 5);
        let text = from_lines(&garbage).unwrap_err().to_string();
        assert!(text.contains("stopped reading"), "{text}");
    }

    #[test]
    fn invalid_utf8_lines_count_as_bad_names_and_stop_reading() {
        let check = |input: &[u8]| {
            let checked = ctx(None, None, None).check_lines(input, &EndpointResolver::new());
            checked.unwrap_err().to_string()
        };
        let text = check(&[JOB.as_bytes(), b"\n\xff\n"].concat());
        assert!(text.starts_with("1 of 2 names"), "{text}");
        // `yes $'\xff' | vertex-cancel cancel -` must end like `yes | ...`, not read forever.
        let garbage = b"\xff\n".repeat(MAX_BAD_NAMES + 5);
        let text = check(&garbage);
        assert!(text.contains("stopped reading"), "{text}");
    }

    #[test]
    fn parent_comes_from_flag_or_project_and_region() {
        let both = ctx(Some("p"), Some("us-central1"), None);
        assert_eq!(
            both.parent(None).unwrap().to_string(),
            "projects/p/locations/us-central1"
        );
        assert!(both.parent(Some("projects/p/locations/eu")).is_err());
        assert!(ctx(None, None, None).parent(None).is_err());
    }
}
