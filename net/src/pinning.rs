//! Certificate verifiers that trust a fingerprint, not a certificate authority.
//!
//! Both verifiers accept exactly the certificates whose SHA-256 fingerprint is pinned and
//! delegate the handshake signature checks to rustls, so the peer must also hold the key.

use crate::identity::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::collections::HashSet;
use std::sync::Arc;

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// Client side: accepts the server only if its certificate has the expected fingerprint.
#[derive(Debug)]
pub struct PinnedServer {
    expected: Fingerprint,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedServer {
    /// A verifier for a server whose certificate has fingerprint `expected`.
    pub fn new(expected: Fingerprint) -> Arc<Self> {
        Arc::new(Self { expected, algs: algorithms() })
    }
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let got = Fingerprint::of(end_entity.as_ref());
        if got == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(expected = %self.expected, got = %got, "server certificate does not match its pin");
            Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Server side: requires a client certificate and accepts only pinned fingerprints. Every
/// refusal is logged with the fingerprint that was refused.
#[derive(Debug)]
pub struct PinnedClients {
    allowed: HashSet<Fingerprint>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedClients {
    /// A verifier that accepts exactly `allowed`.
    pub fn new(allowed: HashSet<Fingerprint>) -> Arc<Self> {
        Arc::new(Self { allowed, algs: algorithms() })
    }
}

impl ClientCertVerifier for PinnedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let got = Fingerprint::of(end_entity.as_ref());
        if self.allowed.contains(&got) {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(fingerprint = %got, "refused a peer whose certificate is not pinned in the configuration");
            Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
