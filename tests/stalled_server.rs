//! A server that accepts connections and never answers: every call must come back with a typed
//! timeout (DEADLINE_EXCEEDED) within its deadline, and waiting within the wait budget, instead
//! of hanging the caller. A server that gives up at our deadline with CANCELLED (as tonic
//! servers do) is a timeout too.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tonic::Code;
use vertex_cancel::client::WAIT_GRACE;
use vertex_cancel::{
    BackoffConfig, CancelMany, Client, Credentials, Error, LocationName, NasJobName, OperationName,
    PipelineJobName, RetryConfig, Service, Target, Wait,
};

const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);
/// No retry starts later than this after the first attempt.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest a call may take: the last attempt starts before the total timeout and runs for
/// at most one attempt timeout. Generous: this is a bound, not a speed test.
const CALL_BOUND: Duration = Duration::from_millis((1000 + 300) * 3);
const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";

/// Accepts every connection, reads whatever comes and never writes a byte.
async fn stalled_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 4096];
                while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

async fn client(addr: SocketAddr) -> Client {
    let retry = RetryConfig::default()
        .with_backoff(BackoffConfig {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            multiplier: 2.0,
        })
        .with_total_timeout(TOTAL_TIMEOUT);
    Client::builder()
        .endpoint(format!("http://{addr}"))
        .credentials(Credentials::none())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .retry(retry)
        .build()
        .await
        .unwrap()
}

/// Runs `call`, checks it timed out with DEADLINE_EXCEEDED no sooner than one attempt and no
/// later than [`CALL_BOUND`].
async fn times_out<T: std::fmt::Debug>(what: &str, call: impl Future<Output = Result<T, Error>>) {
    let started = Instant::now();
    let result = tokio::time::timeout(CALL_BOUND * 2, call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"));
    let took = started.elapsed();
    let err = result.expect_err(what);
    assert!(
        matches!(
            err,
            Error::DeadlineExceeded(_) | Error::RetriesExhausted { .. }
        ),
        "{what}: {err:?}"
    );
    assert_eq!(err.code(), Some(Code::DeadlineExceeded), "{what}: {err:?}");
    assert!(
        took >= ATTEMPT_TIMEOUT && took <= CALL_BOUND,
        "{what} took {took:?}"
    );
}

#[tokio::test]
async fn every_call_times_out_with_a_typed_error_within_its_deadline() {
    let client = client(stalled_server().await).await;
    let job: Target = JOB.parse().unwrap();
    let pipeline = PipelineJobName::new("p", "us-central1", "a").unwrap();
    let nas = NasJobName::new("p", "europe-west4", "7").unwrap();
    let op = OperationName::vertex_ai("projects/p/locations/us-central1/operations/9").unwrap();
    let parent = LocationName::new("p", "us-central1").unwrap();

    times_out("cancel", client.cancel(&job)).await;
    times_out("get", client.get(&job)).await;
    times_out("cancel_pipeline_job", client.cancel_pipeline_job(&pipeline)).await;
    times_out("cancel_nas_job", client.cancel_nas_job(&nas)).await;
    times_out("cancel_operation", client.cancel_operation(&op)).await;
    times_out("get_pipeline_job", client.get_pipeline_job(&pipeline)).await;
    times_out("get_nas_job", client.get_nas_job(&nas)).await;
    times_out("get_operation", client.get_operation(&op)).await;
    times_out(
        "list_pipeline_jobs",
        client
            .list_pipeline_jobs(&parent, None)
            .try_collect::<Vec<_>>(),
    )
    .await;
    times_out(
        "list_nas_jobs",
        client.list_nas_jobs(&parent, None).try_collect::<Vec<_>>(),
    )
    .await;
    times_out(
        "list_operations",
        client
            .list_operations(Service::VertexAi, &parent, Some("done=true"))
            .try_collect::<Vec<_>>(),
    )
    .await;
    times_out("cancel_many", async {
        let mut reports: Vec<_> = client
            .cancel_many(futures::stream::iter([job.clone()]), CancelMany::default())
            .collect()
            .await;
        assert_eq!(reports.len(), 1);
        reports.pop().unwrap().1
    })
    .await;
}

#[tokio::test]
async fn waiting_ends_within_the_wait_budget() {
    let client = client(stalled_server().await).await;
    let job: Target = JOB.parse().unwrap();
    let budget = Duration::from_secs(1);
    let wait = Wait::up_to(budget).first_interval(Duration::from_millis(50));

    // Polling alone: no poll ever answers, so the wait times out with nothing seen.
    let started = Instant::now();
    let err = client.wait_for_outcome(&job, wait).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            Error::WaitTimedOut {
                last_state: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(Code::DeadlineExceeded));
    // The budget, then one last read within the grace.
    assert!(
        took >= ATTEMPT_TIMEOUT && took <= budget + WAIT_GRACE + Duration::from_millis(500),
        "took {took:?}"
    );

    // Cancel and wait: the cancel's own retries are bounded, then the error comes back.
    let started = Instant::now();
    let result = client.cancel_and_wait(&job, wait).await;
    let took = started.elapsed();
    let err = result.unwrap_err();
    assert_eq!(err.code(), Some(Code::DeadlineExceeded), "{err:?}");
    assert!(took <= CALL_BOUND + budget, "took {took:?}");

    // Watching: the stream ends once the budget is spent, with no status.
    let started = Instant::now();
    let seen: Vec<_> = client.watch(&job, wait).collect().await;
    assert!(seen.is_empty(), "{seen:?}");
    assert!(
        started.elapsed() <= budget * 3,
        "took {:?}",
        started.elapsed()
    );

    // Many at once with a wait: one report, the cancel's timeout.
    let started = Instant::now();
    let reports: Vec<_> = client
        .cancel_many(
            futures::stream::iter([job.clone()]),
            CancelMany::default().wait(wait),
        )
        .collect()
        .await;
    assert_eq!(reports.len(), 1);
    let err = reports[0].1.as_ref().unwrap_err();
    assert_eq!(err.code(), Some(Code::DeadlineExceeded), "{err:?}");
    assert!(started.elapsed() <= CALL_BOUND + budget);
}

/// A channel answering CANCELLED ("Timeout expired", as a tonic server enforcing our
/// `grpc-timeout` does) exactly at the attempt's deadline, then UNIMPLEMENTED.
fn cancelling_at_the_deadline(
    calls: Arc<AtomicUsize>,
) -> impl Clone
+ Send
+ Sync
+ 'static
+ tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> {
    tower::service_fn(move |_: http::Request<tonic::body::Body>| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let status = if n == 0 {
                tokio::time::sleep(ATTEMPT_TIMEOUT).await;
                tonic::Status::cancelled("Timeout expired")
            } else {
                tonic::Status::unimplemented("no such method")
            };
            Ok(status.into_http())
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_server_cancelling_at_our_deadline_is_a_retryable_timeout() {
    let job: Target = JOB.parse().unwrap();
    for (retry, attempts) in [(RetryConfig::none(), 1), (RetryConfig::default(), 2)] {
        let calls = Arc::new(AtomicUsize::new(0));
        let client = Client::builder()
            .channel(
                "http://127.0.0.1:1",
                cancelling_at_the_deadline(calls.clone()),
            )
            .credentials(Credentials::none())
            .attempt_timeout(ATTEMPT_TIMEOUT)
            .retry(retry)
            .build()
            .await
            .unwrap();
        let err = client.cancel(&job).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), attempts);
        if attempts == 1 {
            assert!(matches!(err, Error::DeadlineExceeded(_)), "{err:?}");
            assert!(err.is_retryable());
        } else {
            assert!(matches!(err, Error::Unimplemented(_)), "{err:?}");
        }
    }
}
