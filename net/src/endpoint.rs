//! QUIC endpoints (quinn over rustls with the ring provider, TLS 1.3 only) on pinned identities.

use crate::identity::{Fingerprint, Identity};
use crate::pinning::{PinnedClients, PinnedServer};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why an endpoint or a connection could not be set up.
#[derive(Debug, Error)]
pub enum EndpointError {
    /// The TLS configuration was refused by rustls or quinn.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The UDP socket could not be bound.
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The connection could not be started.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address dialled.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The handshake did not finish in time.
    #[error("no answer from {addr} within {seconds} s")]
    Timeout {
        /// The address dialled.
        addr: SocketAddr,
        /// The time waited.
        seconds: u64,
    },
}

/// Timeouts of QUIC connections.
#[derive(Debug, Clone, Copy)]
pub struct NetOptions {
    /// A connection with no traffic for this long is closed (a dead or cut-off peer).
    pub idle_timeout: Duration,
    /// Keep-alive interval (must be well below the idle timeout).
    pub keep_alive: Duration,
    /// Time allowed for the handshake.
    pub connect_timeout: Duration,
}

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Which side of a connection a transport configuration is for.
#[derive(Clone, Copy)]
enum Side {
    /// Accepts connections, and the streams their dialling side opens.
    Accepting,
    /// Dials out, and accepts no stream from the other side.
    Dialling,
}

/// Timeouts, stream limits and flow-control windows (see [`crate::limits`]).
fn transport(options: &NetOptions, side: Side) -> Arc<quinn::TransportConfig> {
    use crate::limits::*;
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(options.idle_timeout.try_into().expect("idle timeout fits QUIC's range")));
    t.keep_alive_interval(Some(options.keep_alive));
    let streams = match side {
        Side::Accepting => MAX_STREAMS_PER_CONNECTION,
        Side::Dialling => 0,
    };
    t.max_concurrent_bidi_streams(streams.into());
    t.max_concurrent_uni_streams(0u32.into());
    t.stream_receive_window(STREAM_RECEIVE_WINDOW.into());
    t.receive_window(CONNECTION_RECEIVE_WINDOW.into());
    t.send_window(SEND_WINDOW);
    Arc::new(t)
}

fn tls_err(e: impl std::fmt::Display) -> EndpointError {
    EndpointError::Tls(e.to_string())
}

/// An endpoint that accepts connections from clients whose fingerprint is in `allowed`, and
/// can also dial out (with [`connect`]).
///
/// Its stateless-reset key and connection-id key are derived from the identity's private
/// key, so a node that restarts on the same address can tell its peers at once that their old
/// connections to it are gone (RFC 9000, section 10.3) instead of leaving them to time out.
pub fn server_endpoint(
    bind: SocketAddr,
    identity: &Identity,
    allowed: HashSet<Fingerprint>,
    options: &NetOptions,
) -> Result<quinn::Endpoint, EndpointError> {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(PinnedClients::new(allowed))
        .with_single_cert(vec![identity.cert().clone()], identity.key())
        .map_err(tls_err)?;
    tls.alpn_protocols = vec![crate::ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(tls_err)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport(options, Side::Accepting));
    let reset_key =
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &identity.derive_secret("quic stateless reset"));
    let mut endpoint_config = quinn::EndpointConfig::new(Arc::new(reset_key));
    // Connection ids are checked with a keyed hash; a key that survives restarts lets the
    // restarted endpoint recognise its old ids and answer them with a stateless reset.
    let cid_key =
        u64::from_le_bytes(identity.derive_secret("quic connection ids")[..8].try_into().expect("8 bytes"));
    endpoint_config
        .cid_generator(move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key)));
    let socket =
        std::net::UdpSocket::bind(bind).map_err(|source| EndpointError::Bind { addr: bind, source })?;
    quinn::Endpoint::new(endpoint_config, Some(config), socket, Arc::new(quinn::TokioRuntime))
        .map_err(|source| EndpointError::Bind { addr: bind, source })
}

/// An endpoint that only dials out (the orchestrator's).
pub fn client_endpoint(bind: SocketAddr) -> Result<quinn::Endpoint, EndpointError> {
    quinn::Endpoint::client(bind).map_err(|source| EndpointError::Bind { addr: bind, source })
}

/// Dials `addr`, expecting a server whose certificate has fingerprint `expected`, and
/// presents `identity` as the client certificate.
///
/// In TLS 1.3 the server judges the client certificate after the client considers the
/// handshake done, so a refused client sees the refusal on its first stream, not here.
pub async fn connect(
    endpoint: &quinn::Endpoint,
    identity: &Identity,
    addr: SocketAddr,
    expected: Fingerprint,
    options: &NetOptions,
) -> Result<quinn::Connection, EndpointError> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(PinnedServer::new(expected))
        .with_client_auth_cert(vec![identity.cert().clone()], identity.key())
        .map_err(tls_err)?;
    tls.alpn_protocols = vec![crate::ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(tls_err)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport(options, Side::Dialling));
    let connecting = endpoint
        .connect_with(config, addr, crate::SERVER_NAME)
        .map_err(|e| EndpointError::Connect { addr, reason: e.to_string() })?;
    match tokio::time::timeout(options.connect_timeout, connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(EndpointError::Connect { addr, reason: e.to_string() }),
        Err(_) => Err(EndpointError::Timeout { addr, seconds: options.connect_timeout.as_secs() }),
    }
}

/// The fingerprint of the certificate the remote side presented.
pub fn peer_fingerprint(conn: &quinn::Connection) -> Option<Fingerprint> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>().ok()?;
    certs.first().map(|c| Fingerprint::of(c.as_ref()))
}
