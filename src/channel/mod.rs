//! Reaching an endpoint: one pooled gRPC channel per endpoint (`pool`), the certificate
//! authorities it trusts (`tls`), and the HTTPS proxy connector it may go through (`proxy`).
//!
//! Above `endpoint` and `error`, below `auth`, `retry` and `client`.

mod pool;
pub(crate) mod proxy;
pub(crate) mod tls;

pub use pool::{ChannelError, ChannelService, GrpcChannel};
pub(crate) use pool::{
    ChannelFactory, ChannelPool, ChannelSettings, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEP_ALIVE,
    LayerFn, box_channel,
};
