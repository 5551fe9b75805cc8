//! Identities and authenticated QUIC connections.
//!
//! Every node and operator has a self-signed certificate; what identifies it is the SHA-256
//! [`Fingerprint`] of that certificate, which the other side pins in its configuration. There
//! is no certificate authority: a connection succeeds only if the server's certificate has the
//! fingerprint the client dialled, and the client's certificate is in the server's allow list
//! ([`pinning`]). Signatures are still checked by rustls, so holding a certificate without its
//! private key is not enough.
//!
//! [`endpoint`] builds quinn endpoints on these rules, and [`rpc`] runs one framed request and
//! answer over a bidirectional stream.

pub mod endpoint;
pub mod identity;
pub mod pinning;
pub mod rpc;

pub use endpoint::{NetOptions, client_endpoint, connect, peer_fingerprint, server_endpoint};
pub use identity::{Fingerprint, Identity, IdentityError};
pub use rpc::{RpcError, call};

/// The TLS server name every endpoint presents and dials (identity comes from pinning).
pub const SERVER_NAME: &str = "segmpc.node";
/// The ALPN protocol id of the cluster.
pub const ALPN: &[u8] = b"segmpc/1";
