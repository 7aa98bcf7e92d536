//! The hub's certificate. Devices do not trust a certificate authority: they pin the SHA-256
//! fingerprint of the hub's certificate at enrollment, so a self-signed certificate that the
//! hub makes on its first start is as good as a bought one for them. An operator who wants
//! browsers of hub staff to trust the hub configures a certificate of their own.

use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("the certificate and key do not go together: {0}")]
    Config(String),
}

/// Where the hub's certificate and key come from.
#[derive(Debug, Clone, PartialEq)]
pub enum CertSource {
    /// PEM files the operator configured.
    Files { cert: PathBuf, key: PathBuf },
    /// Made by the hub on first start and kept in its data directory.
    SelfSigned { dir: PathBuf },
}

/// A loaded certificate chain and key, ready to serve.
pub struct HubCertificate {
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.into(),
        reason: e.to_string(),
    })
}

fn parse(cert: &Path, key: &Path) -> Result<HubCertificate, TlsError> {
    let chain = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: cert.into(),
            reason: format!("not a PEM certificate: {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::File {
            path: cert.into(),
            reason: "no certificate in it".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|e| TlsError::File {
        path: key.into(),
        reason: format!("not a PEM private key: {e}"),
    })?;
    Ok(HubCertificate {
        chain,
        key: key_der,
    })
}

/// Names the self-signed certificate is valid for. Devices check the pin, not the names; the
/// names only make a browser's warning about the hub read sensibly.
fn subject_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
        }
    }
    names
}

fn generate(cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let mut params =
        CertificateParams::new(subject_names()).map_err(|e| TlsError::Generate(e.to_string()))?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Kabinet Hub");
    // Ten years: a device pins this certificate, and replacing it means enrolling every
    // device again, so it should not expire under a working hub.
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 12, 31);
    let key = KeyPair::generate().map_err(|e| TlsError::Generate(e.to_string()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let dir = cert_path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| TlsError::File {
        path: dir.into(),
        reason: e.to_string(),
    })?;
    // Key first, written private; a crash between the two files leaves no certificate, so the
    // next start makes a fresh pair instead of serving a certificate without its key.
    write_private(key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, cert.pem()).map_err(|e| TlsError::File {
        path: cert_path.into(),
        reason: e.to_string(),
    })
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| TlsError::File {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)
}

impl HubCertificate {
    /// Loads the configured certificate, or the self-signed one (made now if there is none).
    pub fn load(source: &CertSource) -> Result<HubCertificate, TlsError> {
        match source {
            CertSource::Files { cert, key } => parse(cert, key),
            CertSource::SelfSigned { dir } => {
                let cert = dir.join("hub-cert.pem");
                let key = dir.join("hub-key.pem");
                if !cert.exists() {
                    generate(&cert, &key)?;
                    tracing::info!(path = %cert.display(), "made a self-signed certificate");
                }
                parse(&cert, &key)
            }
        }
    }

    /// The SHA-256 of the hub's own certificate, as devices pin it.
    pub fn fingerprint(&self) -> [u8; 32] {
        crate::server::sha256(self.chain[0].as_ref())
    }

    pub fn server_config(self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(self.chain, self.key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A fingerprint as people compare it: hex pairs in groups.
pub fn fingerprint_text(fingerprint: &[u8; 32]) -> String {
    hex::encode_upper(fingerprint)
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = CertSource::SelfSigned {
            dir: dir.path().join("tls"),
        };
        let first = HubCertificate::load(&source).unwrap().fingerprint();
        let second = HubCertificate::load(&source).unwrap().fingerprint();
        assert_eq!(first, second, "the pin devices hold must survive restarts");
        let key = dir.path().join("tls/hub-key.pem");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            HubCertificate::load(&source)
                .unwrap()
                .server_config()
                .is_ok()
        );
    }

    #[test]
    fn a_broken_certificate_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "hello").unwrap();
        let err = HubCertificate::load(&CertSource::Files {
            cert: cert.clone(),
            key: dir.path().join("missing.pem"),
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("c.pem"), "{err}");
    }

    #[test]
    fn fingerprints_read_in_groups() {
        let text = fingerprint_text(&[0xab; 32]);
        assert!(text.starts_with("ABAB ABAB "), "{text}");
        assert_eq!(text.split(' ').count(), 16);
    }
}
