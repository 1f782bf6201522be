//! A node's identity: an Ed25519 key whose public half, hashed with blake3,
//! is the node id, and a self-signed certificate carrying that key. No
//! certificate authority is involved: a peer's id is checked against the
//! key it proves it holds in the TLS handshake.

use dht_core::Id;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;

/// Bytes of the DER prefix of an Ed25519 SubjectPublicKeyInfo, before the
/// 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Why an identity could not be made, loaded or read from a certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The key file does not hold an Ed25519 key.
    #[error("key file {0} does not hold a valid Ed25519 key (PKCS#8 DER)")]
    BadKey(String),
    /// Key or certificate generation failed.
    #[error("could not generate a key or certificate: {0}")]
    Generate(String),
    /// A peer's certificate does not carry exactly one Ed25519 key.
    #[error("certificate does not carry exactly one Ed25519 public key")]
    BadCertificate,
}

/// A key pair and its self-signed certificate.
pub struct Identity {
    key: rcgen::KeyPair,
    certificate: CertificateDer<'static>,
    id: Id,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.id.short())
    }
}

impl Identity {
    /// A fresh random identity.
    pub fn generate() -> Result<Identity, IdentityError> {
        let key =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(|e| IdentityError::Generate(e.to_string()))?;
        Identity::from_key(key)
    }

    /// The identity stored at `path`, or a new one saved there (so a node
    /// restarted with the same data directory keeps its id).
    pub fn load_or_create(path: &Path) -> Result<Identity, IdentityError> {
        let io = |source| IdentityError::Io { path: path.display().to_string(), source };
        match std::fs::read(path) {
            Ok(der) => {
                let pkcs8 = PrivatePkcs8KeyDer::from(der);
                let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)
                    .map_err(|_| IdentityError::BadKey(path.display().to_string()))?;
                Identity::from_key(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = Identity::generate()?;
                dht_core::key_file::write_private(path, &identity.key.serialize_der()).map_err(io)?;
                Ok(identity)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_key(key: rcgen::KeyPair) -> Result<Identity, IdentityError> {
        let params = rcgen::CertificateParams::new(vec!["dht".to_owned()])
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(|e| IdentityError::Generate(e.to_string()))?;
        let id = Id::hash(key.public_key_raw());
        Ok(Identity { certificate: cert.der().clone(), key, id })
    }

    /// The node id: blake3 of the Ed25519 public key.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key_raw().to_vec()
    }

    pub(crate) fn certificate(&self) -> CertificateDer<'static> {
        self.certificate.clone()
    }

    /// A secret derived from the private key, the same in every run of this
    /// identity: the QUIC stateless-reset and connection-id keys come from
    /// it, so a restarted node recognises the connections of its previous
    /// run and resets them, and its peers learn at once that those are gone
    /// instead of waiting for them to time out.
    pub(crate) fn reset_secret(&self) -> [u8; 32] {
        blake3::derive_key("dht-transport-quic 1 stateless reset key", &self.key.serialize_der())
    }

    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.serialize_der()).into()
    }
}

/// The node id a certificate stands for: blake3 of its Ed25519 public key.
///
/// The key is found by its DER encoding, which must occur exactly once in
/// the certificate: a second occurrence (a key smuggled into another field)
/// is refused, so the key found is the one the handshake signature is
/// checked against.
pub fn id_from_certificate(der: &[u8]) -> Result<Id, IdentityError> {
    public_key_in_certificate(der).map(Id::hash)
}

/// The Ed25519 public key in a certificate, found as [`id_from_certificate`]
/// finds it: no X.509 parser reads a peer's certificate.
pub(crate) fn public_key_in_certificate(der: &[u8]) -> Result<&[u8], IdentityError> {
    let mut found = der
        .windows(ED25519_SPKI_PREFIX.len())
        .enumerate()
        .filter(|(_, w)| *w == ED25519_SPKI_PREFIX)
        .map(|(i, _)| i + ED25519_SPKI_PREFIX.len());
    let (Some(start), None) = (found.next(), found.next()) else { return Err(IdentityError::BadCertificate) };
    der.get(start..start + 32).ok_or(IdentityError::BadCertificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_id() {
        let identity = Identity::generate().unwrap();
        assert_eq!(id_from_certificate(&identity.certificate()).unwrap(), identity.id());
        assert_eq!(identity.id(), Id::hash(&identity.public_key()));
    }

    #[test]
    fn a_certificate_with_a_smuggled_second_key_is_refused() {
        let identity = Identity::generate().unwrap();
        let mut der = identity.certificate().to_vec();
        der.extend_from_slice(&ED25519_SPKI_PREFIX);
        der.extend_from_slice(&[7u8; 32]);
        assert!(matches!(id_from_certificate(&der), Err(IdentityError::BadCertificate)));
        assert!(matches!(id_from_certificate(b"garbage"), Err(IdentityError::BadCertificate)));
    }

    #[test]
    fn a_saved_identity_is_loaded_back() {
        let dir = std::env::temp_dir().join(format!("dht-identity-{}", std::process::id()));
        let path = dir.join("node.key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = Identity::load_or_create(&path).unwrap();
        let again = Identity::load_or_create(&path).unwrap();
        assert_eq!(first.id(), again.id());
        std::fs::write(&path, b"not a key").unwrap();
        assert!(matches!(Identity::load_or_create(&path), Err(IdentityError::BadKey(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
