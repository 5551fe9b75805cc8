//! Identities and authenticated QUIC connections.
//!
//! Every node and operator has a self-signed certificate; what identifies it is the SHA-256
//! [`Fingerprint`] of that certificate, which the other side pins in its configuration. There
//! is no certificate authority: a connection succeeds only if the server's certificate has the
//! fingerprint the client dialled, and the client's certificate is in the server's allow list
//! ([`pinning`]). Signatures are still checked by rustls, so holding a certificate without its
//! private key is not enough.
//!
//! [`endpoint`] builds quinn endpoints on these rules and on the resource limits of
//! [`limits`], and [`rpc`] runs one framed request and answer over a bidirectional stream.

pub mod endpoint;
pub mod identity;
pub mod limits;
pub mod pinning;
pub mod rpc;

pub use endpoint::{NetOptions, client_endpoint, connect, peer_fingerprint, server_endpoint};
pub use identity::{Fingerprint, Identity, IdentityError};
pub use rpc::{RpcError, call};

/// The TLS server name every endpoint presents and dials (identity comes from pinning).
pub const SERVER_NAME: &str = "segmpc.node";
/// The ALPN protocol id of the cluster.
pub const ALPN: &[u8] = b"segmpc/1";

/// Formats an error and its causes as `outer: cause: cause`, leaving out a cause whose text
/// the message already contains (library errors often show their source in their own text).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[from] std::io::Error);

    #[test]
    fn error_chain_skips_repeated_causes() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(super::error_chain(&e), "outer: disk full");
        let plain = std::io::Error::other("x");
        assert_eq!(super::error_chain(&plain), "x");
    }
}
