//! Keys, self-signed certificates and their fingerprints.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;

/// Why an identity cannot be made, read or written.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// Generating the key or certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not valid PEM of the expected kind.
    #[error("{path}: not a PEM {what}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// The private key file is open to users other than its owner.
    #[error(
        "{path}: the private key can be read or changed by users other than its owner (mode {mode:04o}); \
         restrict it with `chmod 600 {path}`"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The SHA-256 digest of a DER certificate, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Fingerprint of a DER-encoded certificate.
    pub fn of(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A string that is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a SHA-256 fingerprint (64 hex digits)")]
pub struct NotAFingerprint(pub String);

impl FromStr for Fingerprint {
    type Err = NotAFingerprint;
    /// Accepts 64 hex digits, optionally prefixed by `sha256:` and separated by colons.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix("sha256:").unwrap_or(t).replace(':', "");
        let bad = || NotAFingerprint(s.to_string());
        let bytes = hex::decode(&t).map_err(|_| bad())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self(arr))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A certificate and its private key. `Debug` never shows the key.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity {{ fingerprint: {}, key: <redacted> }}", self.fingerprint())
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self { cert: self.cert.clone(), key: self.key.clone_key() }
    }
}

/// File name of the certificate in a key directory.
pub const CERT_FILE: &str = "cert.pem";
/// File name of the private key in a key directory.
pub const KEY_FILE: &str = "key.pem";

impl Identity {
    /// Generates a fresh ECDSA P-256 key and a self-signed certificate naming `name`.
    pub fn generate(name: &str) -> Result<Self, IdentityError> {
        let mut params = rcgen::CertificateParams::new(vec![crate::SERVER_NAME.to_string()])?;
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self { cert: cert.der().clone(), key: PrivateKeyDer::Pkcs8(key.serialize_der().into()) })
    }

    /// Reads a PEM certificate and a PEM private key. A key file that its owner's group or
    /// other users may read or write is refused ([`IdentityError::KeyPermissions`]).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, IdentityError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| IdentityError::Io { path: path.into(), source })
        };
        let pem_err = |path: &Path, what| {
            let path = path.to_path_buf();
            move |e: rustls::pki_types::pem::Error| IdentityError::Pem { path, what, reason: e.to_string() }
        };
        let cert =
            CertificateDer::from_pem_slice(&read(cert_path)?).map_err(pem_err(cert_path, "certificate"))?;
        check_key_mode(key_path)?;
        let key =
            PrivateKeyDer::from_pem_slice(&read(key_path)?).map_err(pem_err(key_path, "private key"))?;
        Ok(Self { cert, key })
    }

    /// Writes `cert.pem` and `key.pem` (mode 0600, whatever the umask) into `dir`, creating
    /// it (mode 0700) if needed. Refuses to overwrite an existing key.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), IdentityError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IdentityError::Io { path, source }
        };
        if !dir.is_dir() {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        let cert_pem = pem_block("CERTIFICATE", self.cert.as_ref());
        let key_pem = pem_block("PRIVATE KEY", self.key.secret_der());
        write_new(&key_path, key_pem.as_bytes(), 0o600).map_err(io(&key_path))?;
        std::fs::write(&cert_path, cert_pem).map_err(io(&cert_path))?;
        Ok((cert_path, key_path))
    }

    /// The fingerprint others pin.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.cert.as_ref())
    }

    /// The certificate.
    pub fn cert(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// A secret derived from the private key for `purpose`: stable across restarts, and
    /// unrelated to the key for anyone who does not hold it.
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"segmpc identity secret\0");
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(self.key.secret_der());
        h.finalize().into()
    }

    /// A copy of the private key, for a TLS configuration.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// Refuses a key file whose group or other permission bits are set (the file it points to,
/// for a link).
fn check_key_mode(path: &Path) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|source| IdentityError::Io { path: path.to_path_buf(), source })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::KeyPermissions { path: path.to_path_buf(), mode });
    }
    Ok(())
}

/// Creates `path` (which must not exist) with exactly `mode`, whatever the umask.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn pem_block(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_write_load_keeps_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let id = Identity::generate("node-1").unwrap();
        let (cert, key) = id.write(dir.path()).unwrap();
        let back = Identity::load(&cert, &key).unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
        assert_eq!(back.key().secret_der(), id.key().secret_der());
        assert!(!format!("{id:?}").contains("PRIVATE"));
        assert!(matches!(id.write(dir.path()), Err(IdentityError::Io { .. })), "overwrote a key");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_written_identity_is_a_private_directory_and_a_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/keys");
        let (cert, key) = Identity::generate("node-1").unwrap().write(&out).unwrap();
        assert_eq!(mode(&out), 0o700, "key directory");
        assert_eq!(mode(&key), 0o600, "key");
        assert_eq!(mode(&cert) & 0o600, 0o600, "the owner reads and writes the certificate");
    }

    #[test]
    fn a_key_readable_by_group_or_others_is_refused_with_the_chmod_that_fixes_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = Identity::generate("node-1").unwrap().write(dir.path()).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620, 0o660, 0o700 | 0o001] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(bad)).unwrap();
            let err = Identity::load(&cert, &key).unwrap_err();
            assert!(
                matches!(&err, IdentityError::KeyPermissions { path, mode } if *path == key && *mode == bad),
                "mode {bad:o}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(&format!("mode {bad:04o}")), "{text}");
            assert!(text.contains(&format!("chmod 600 {}", key.display())), "{text}");
        }
        for good in [0o600, 0o400] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(good)).unwrap();
            Identity::load(&cert, &key).unwrap_or_else(|e| panic!("mode {good:o} refused: {e}"));
        }
    }

    #[test]
    fn a_link_to_a_private_key_is_judged_by_the_key_it_points_to() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = Identity::generate("node-1").unwrap().write(&dir.path().join("k")).unwrap();
        let link = dir.path().join("link.pem");
        std::os::unix::fs::symlink(&key, &link).unwrap();
        Identity::load(&cert, &link).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Identity::load(&cert, &link), Err(IdentityError::KeyPermissions { .. })));
    }

    #[test]
    fn fingerprints_parse_in_common_spellings() {
        let fp = Fingerprint([0xab; 32]);
        let plain = fp.to_string();
        assert_eq!(plain.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(format!("sha256:{plain}").parse::<Fingerprint>().unwrap(), fp);
        let colons: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(colons.join(":").parse::<Fingerprint>().unwrap(), fp);
        assert!("abcd".parse::<Fingerprint>().is_err());
    }

    #[test]
    fn a_corrupt_pem_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cert.pem");
        std::fs::write(&p, "not pem").unwrap();
        let err = Identity::load(&p, &p).unwrap_err().to_string();
        assert!(err.contains("cert.pem") && err.contains("certificate"), "{err}");
    }
}
