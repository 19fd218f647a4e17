//! The command line as clap structs: every flag, its help text and the long help that documents
//! exit codes and the JSON Lines schema.
//!
//! Kept apart from the commands so that `--help`, the completions and the README are generated
//! from one description of the interface.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vertex_cancel::TargetKind;

/// Exit codes and the JSON Lines schema, shown by `--help`.
const AFTER_LONG_HELP: &str = "\
EXIT CODES:
  0    all targets cancelled (or, without --wait, the cancel was accepted); for
       status/list/demo: success
  1    some target failed with an error (NOT_FOUND, UNIMPLEMENTED, a connection failure, ...),
       or the operator declined the confirmation of cancel-matching
  2    bad usage or bad input (a malformed name, an unreadable token file, an http:// endpoint
       that is not loopback, ...); nothing was sent
  3    some target finished anyway (SUCCEEDED/FAILED/..., with or without --wait) or was still
       running when the --wait timeout ran out
  4    authentication or permission: no usable credentials, UNAUTHENTICATED or
       PERMISSION_DENIED
  130  interrupted (Ctrl-C): no new cancels were started; the targets done so far are printed
  141  stdout was closed (`| head`) before every result was written; no new cancels were started
  When targets end differently the most serious code wins: 4, then 1, then 3, then 0.

JSON LINES (--json): one object per line on stdout, fields always present (null when absent):
  cancel, cancel-matching, demo:
    {\"name\", \"kind\": \"pipeline-job\"|\"training-pipeline\"|\"custom-job\"|
       \"hyperparameter-tuning-job\"|\"batch-prediction-job\"|\"data-labeling-job\"|\"nas-job\"|
       \"tuning-job\"|\"operation\", \"service\": \"aiplatform\"|\"automl\",
     \"outcome\": \"requested\"|\"cancelled\"|\"finished_anyway\"|\"still_running\"|\"error\",
     \"state\": \"CANCELLED\"|...|null, \"resource_error\": {\"code\", \"message\"}|null,
     \"error\": {\"code\", \"message\"}|null}
    (demo adds \"before\": the state before the cancel)
  status:
    {\"name\", \"kind\", \"service\", \"state\", \"resource_error\", \"error\"}
  list, cancel-matching --dry-run:
    {\"name\", \"kind\", \"service\", \"display_name\" (null for operations), \"state\", \"done\"}
  list, cancel-matching: a List that failed for one location and kind (the rest go on; the
  exit code is then 1, or 4 for a permission error):
    {\"location\", \"kind\" (null when listing the locations failed), \"error\": {\"code\", \"message\"}}
  \"error\" is why the call failed; \"resource_error\" is the error the resource itself records
  (code CANCELLED after a cancel). \"code\" is a google.rpc.Code name such as \"NOT_FOUND\", or
  null when no server answered (connection or credential failure).

NAMES:
  projects/P/locations/L/COLLECTION/ID where COLLECTION is pipelineJobs, trainingPipelines,
  customJobs, hyperparameterTuningJobs, batchPredictionJobs, dataLabelingJobs, nasJobs,
  tuningJobs or operations (also nested operations), or the AIP-122 full names //aiplatform.googleapis.com/projects/... and
  //automl.googleapis.com/projects/.../operations/ID. A relative operation name is a Vertex AI
  operation unless --service automl is given. With --project, `locations/L/...` is completed;
  with --project and --region, `pipelineJobs/ID` (and the other collections) too.

AUTHENTICATION:
  --access-token-file FILE (`-` reads stdin), else the environment variable
  VERTEX_CANCEL_ACCESS_TOKEN, else Application Default Credentials. A token is never accepted as
  an argument value (it would show in `ps`). --no-auth sends none (loopback endpoints only).";

/// Cancel Vertex AI jobs of every kind (pipeline, training pipeline, custom, hyperparameter
/// tuning, batch prediction, data labeling, NAS, GenAI tuning) and long-running operations, and
/// report what really happened.
#[derive(Debug, Parser)]
#[command(name = "vertex-cancel", version, about, after_long_help = AFTER_LONG_HELP)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Send every call to this URL (private endpoint, a fake); `http://` only to loopback.
    #[arg(
        long,
        global = true,
        env = "VERTEX_CANCEL_ENDPOINT",
        value_name = "URL"
    )]
    pub(crate) endpoint: Option<String>,
    /// Every target must be in this region; also completes short names with --project.
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The project used to complete short names (`locations/L/...`, `pipelineJobs/ID`).
    #[arg(long, global = true, value_name = "PROJECT")]
    pub(crate) project: Option<String>,
    /// Read the access token from FILE (`-`: stdin), as gcloud's flag of the same name.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "no_auth")]
    pub(crate) access_token_file: Option<PathBuf>,
    /// Send no credentials (loopback endpoints only, e.g. the fake).
    #[arg(long, global = true)]
    pub(crate) no_auth: bool,
    /// The project billed for quota (`x-goog-user-project`).
    #[arg(long, global = true, value_name = "PROJECT")]
    pub(crate) quota_project: Option<String>,
    /// Also trust the CA certificate(s) in this PEM file (as gcloud's
    /// `core/custom_ca_certs_file`); HTTPS_PROXY / NO_PROXY are honoured from the environment.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Print one JSON object per line (schema in --help).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Less on stderr: errors only, no progress bar or summary.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Cancel targets named on the command line (or one per line on stdin with `-`).
    Cancel(CancelArgs),
    /// Show the state and error of targets.
    Status(StatusArgs),
    /// List jobs of some kinds in some regions of a project (or operations under a location).
    List(ListArgs),
    /// List the jobs a filter matches, confirm, and cancel them.
    CancelMatching(CancelMatchingArgs),
    /// Run the built-in fake Vertex AI server until SIGINT/SIGTERM; prints `PORT n` first.
    Fake(FakeArgs),
    /// Cancel a mix of jobs and operations on an in-process fake and show what happened.
    Demo(DemoArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Which service a relative operation name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ServiceArg {
    /// Vertex AI (the default).
    Aiplatform,
    /// AutoML v1beta1.
    Automl,
}

/// Names given as arguments.
#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// Resource names, or `-` to read one per line from stdin (blank lines and `#` comments
    /// skipped).
    #[arg(value_name = "NAME", required = true)]
    pub(crate) names: Vec<String>,
    /// The service of relative operation names.
    #[arg(long, value_enum, value_name = "SERVICE")]
    pub(crate) service: Option<ServiceArg>,
}

/// How to run many cancels and whether to wait for their outcome.
#[derive(Debug, Args)]
pub(crate) struct CancelRunArgs {
    /// Wait until each target is terminal (or --timeout passes) and report the outcome.
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits, e.g. `90s`, `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_wait, requires = "wait")]
    pub(crate) timeout: Duration,
    /// The first delay between polls with --wait (it then doubles, up to 30s).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration, requires = "wait")]
    pub(crate) poll_interval: Duration,
    /// Calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) concurrency: u16,
    /// At most N requests per second per region (Vertex AI allows about 10).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: Option<u32>,
    /// Cancel each pipeline job with its own CancelPipelineJob (one call and one audit log
    /// entry per job) instead of BatchCancelPipelineJobs batches of up to 32 per region.
    #[arg(long)]
    pub(crate) no_batch: bool,
}

/// `cancel`.
#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The targets.
    #[command(flatten)]
    pub(crate) names: NameArgs,
    /// Concurrency, rate and waiting.
    #[command(flatten)]
    pub(crate) run: CancelRunArgs,
}

/// `status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The targets.
    #[command(flatten)]
    pub(crate) names: NameArgs,
    /// Calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) concurrency: u16,
}

/// Where to list: one location, or a project's regions.
#[derive(Debug, Args)]
pub(crate) struct ParentArgs {
    /// `projects/P/locations/L` (default: from --project and --region or --regions).
    #[arg(long, value_name = "PARENT", conflicts_with = "regions")]
    pub(crate) parent: Option<String>,
    /// With --project: these regions (`us-central1,europe-west4`), or `all` (every location
    /// Vertex AI serves for the project, from ListLocations). Not with --region.
    #[arg(long, value_name = "R1,R2|all", value_parser = parse_regions)]
    pub(crate) regions: Option<Regions>,
}

/// `--regions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Regions {
    /// `all`: every location ListLocations names.
    All,
    /// These.
    Only(Vec<String>),
}

/// A `--timeout`: a wait of nothing would send no cancel and report each target as timed out.
fn parse_wait(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(wait) if wait.is_zero() => Err("a wait must be longer than 0".to_owned()),
        parsed => parsed.map_err(|e| e.to_string()),
    }
}

fn parse_regions(text: &str) -> Result<Regions, String> {
    if text == "all" {
        return Ok(Regions::All);
    }
    let regions: Vec<String> = text.split(',').map(|r| r.trim().to_owned()).collect();
    if regions.iter().any(String::is_empty) {
        return Err("expected regions separated by commas, or `all`".into());
    }
    Ok(Regions::Only(regions))
}

/// The collection word for a kind on the command line: `pipeline-jobs`, `custom-jobs`, ...
pub(crate) fn kind_word(kind: TargetKind) -> String {
    format!("{}s", kind.as_str())
}

/// Job kinds selected on the command line (one value to clap, not a list of values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobKinds(pub(crate) Vec<TargetKind>);

/// `KIND[,KIND...]` or `all`: job kinds by their collection words (`pipeline-jobs,nas-jobs`),
/// read from [`TargetKind::JOBS`], so every job kind the library knows is a word here.
pub(crate) fn parse_job_kinds(text: &str) -> Result<JobKinds, String> {
    if text == "all" {
        return Ok(JobKinds(TargetKind::JOBS.to_vec()));
    }
    let mut kinds = Vec::new();
    for word in text.split(',').map(str::trim) {
        let kind = TargetKind::JOBS
            .iter()
            .find(|k| kind_word(**k) == word || k.as_str() == word)
            .ok_or_else(|| {
                let words: Vec<String> = TargetKind::JOBS.iter().map(|k| kind_word(*k)).collect();
                format!(
                    "`{}` is not a job kind; expected `all` or some of {} (joined by commas)",
                    vertex_cancel::escape::for_terminal(
                        word,
                        vertex_cancel::escape::DEFAULT_SHOWN_CHARS
                    ),
                    words.join(", ")
                )
            })?;
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    Ok(JobKinds(kinds))
}

/// What `list` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKinds {
    /// Jobs of these kinds.
    Jobs(Vec<TargetKind>),
    /// Long-running operations.
    Operations,
}

fn parse_list_kinds(text: &str) -> Result<ListKinds, String> {
    match text {
        "operations" | "operation" => Ok(ListKinds::Operations),
        _ => parse_job_kinds(text)
            .map(|kinds| ListKinds::Jobs(kinds.0))
            .map_err(|e| format!("{e}; or `operations`")),
    }
}

/// `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// What to list: `pipeline-jobs`, `nas-jobs`, several joined by commas, `all` (every job
    /// kind), or `operations`.
    #[arg(value_name = "KINDS", value_parser = parse_list_kinds)]
    pub(crate) kinds: ListKinds,
    /// Where.
    #[command(flatten)]
    pub(crate) parent: ParentArgs,
    /// A List filter in Google's syntax (AIP-160), e.g. `labels.team="search"`.
    #[arg(long, value_name = "FILTER")]
    pub(crate) filter: Option<String>,
    /// Stop after N items.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// The service whose operations to list.
    #[arg(long, value_enum, value_name = "SERVICE")]
    pub(crate) service: Option<ServiceArg>,
}

/// `cancel-matching`.
#[derive(Debug, Args)]
pub(crate) struct CancelMatchingArgs {
    /// What to cancel: `pipeline-jobs`, `nas-jobs`, several joined by commas, or `all`.
    #[arg(value_name = "KINDS", value_parser = parse_job_kinds)]
    pub(crate) kinds: JobKinds,
    /// Where.
    #[command(flatten)]
    pub(crate) parent: ParentArgs,
    /// A List filter in Google's syntax (AIP-160) selecting the jobs, e.g.
    /// `labels.team="search"`. Empty (or absent) matches every live job and needs
    /// --all-matching.
    #[arg(long, value_name = "FILTER", default_value = "")]
    pub(crate) filter: String,
    /// Allow an empty filter: cancel every live job of the kinds and regions selected. With
    /// `all` kinds and `--regions all` (every job in the project) --yes is required as well.
    #[arg(long)]
    pub(crate) all_matching: bool,
    /// Show what would be cancelled and stop.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// Concurrency, rate and waiting.
    #[command(flatten)]
    pub(crate) run: CancelRunArgs,
}

/// `fake`.
#[derive(Debug, Args)]
pub(crate) struct FakeArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed as `PORT n`).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// A scenario file (JSON) to seed resources and faults from.
    #[arg(long, value_name = "FILE")]
    pub(crate) scenario: Option<PathBuf>,
    /// Require this bearer token. It is a test token for the fake, so an argument is
    /// acceptable here; use --token-file to keep it out of `ps`.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    pub(crate) token: Option<String>,
    /// Require the bearer token read from FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// Append every call to FILE as a JSON line.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// Serve TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

/// `demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How long a cancel takes to land on the fake.
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = humantime::parse_duration)]
    pub(crate) cancel_delay: Duration,
}

/// `completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kinds_are_the_library_job_kinds_by_collection_word() {
        assert_eq!(parse_job_kinds("all").unwrap().0, TargetKind::JOBS);
        let both = parse_job_kinds("nas-jobs,pipeline-job,nas-jobs").unwrap().0;
        assert_eq!(both, [TargetKind::NasJob, TargetKind::PipelineJob]);
        let err = parse_job_kinds("pipeline-jobs,operations").unwrap_err();
        assert!(err.contains("`operations` is not a job kind") && err.contains("nas-jobs"));
        assert_eq!(
            parse_list_kinds("operations").unwrap(),
            ListKinds::Operations
        );
        assert_eq!(
            parse_regions("us-central1,europe-west4").unwrap(),
            Regions::Only(vec!["us-central1".into(), "europe-west4".into()])
        );
        assert_eq!(parse_regions("all").unwrap(), Regions::All);
        assert!(parse_regions("us-central1,").is_err());
    }

    #[test]
    fn a_token_is_never_an_argument_of_the_client_commands() {
        let cli = Cli::command();
        let token_args: Vec<_> = cli
            .get_arguments()
            .filter(|a| a.get_id().as_str().contains("token") && a.get_id() != "access_token_file")
            .collect();
        assert!(token_args.is_empty(), "{token_args:?}");
    }
}
