//! How a device reaches its hub: HTTPS with the hub's certificate pinned at enrollment (no
//! certificate authority is trusted, so a forged or swapped certificate is refused even if
//! some authority signed it), or plain HTTP to a loopback address for development.

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a hub address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error(
        "hub address {0:?}: write it as https://host:port (plain http:// only to this machine)"
    )]
    Malformed(String),
    #[error(
        "hub address {0}: plain HTTP is allowed only to this machine (127.0.0.1, ::1, localhost); use https://"
    )]
    Insecure(String),
    #[error("hub address: the fingerprint after #sha256= must be 64 hex digits")]
    BadFingerprint,
}

/// A hub address as the operator types it: `https://hub.example:8750`, optionally with the
/// certificate fingerprint the hub printed (`…#sha256=AB12…`, spaces and colons ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubAddress {
    /// Scheme, host and port, without a trailing slash or fragment.
    pub base: String,
    pub https: bool,
    /// The fingerprint the operator expects, if given.
    pub expected_pin: Option<[u8; 32]>,
}

/// Parses a fingerprint written as hex, in any grouping (`AB:CD`, `ABCD EF01`, …).
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | ':' | '-'))
        .collect();
    let bytes = hex::decode(digits).ok()?;
    bytes.try_into().ok()
}

impl HubAddress {
    pub fn parse(text: &str) -> Result<HubAddress, AddressError> {
        let text = text.trim();
        let (rest, fragment) = match text.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (text, None),
        };
        let malformed = || AddressError::Malformed(text.into());
        // Parsed as a URL, not by cutting text: in `http://localhost:1@evil.example` the host
        // is evil.example (localhost:1 is a user name and password).
        let url = reqwest::Url::parse(rest).map_err(|_| malformed())?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(malformed()),
        };
        // A hub address is a scheme, a host, a port and perhaps a path (a hub behind a reverse
        // proxy): nothing that could hide another host or change what is asked for.
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(malformed());
        }
        let loopback = match url.host() {
            None => return Err(malformed()),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        };
        let base = format!(
            "{}{}",
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/')
        );
        if !https && !loopback {
            return Err(AddressError::Insecure(base));
        }
        let expected_pin = match fragment {
            None => None,
            Some(f) => {
                let hexes = f.strip_prefix("sha256=").unwrap_or(f);
                Some(parse_fingerprint(hexes).ok_or(AddressError::BadFingerprint)?)
            }
        };
        Ok(HubAddress {
            base,
            https,
            expected_pin,
        })
    }
}

/// Accepts exactly the pinned certificate (or, at enrollment without a pin, any, recording it).
#[derive(Debug)]
struct PinVerifier {
    pin: Option<[u8; 32]>,
    presented: Mutex<Option<[u8; 32]>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        *self.presented.lock().unwrap_or_else(|p| p.into_inner()) = Some(fingerprint);
        match self.pin {
            Some(pin) if pin != fingerprint => Err(rustls::Error::General(
                "the hub's certificate is not the one pinned at enrollment".into(),
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    // The handshake signatures are still checked: the peer must hold the pinned
    // certificate's private key, not merely present the certificate.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An HTTP client bound to one hub and its pin.
pub struct HubClient {
    pub http: reqwest::blocking::Client,
    verifier: Option<Arc<PinVerifier>>,
}

impl HubClient {
    /// A client for `address`. `pin` is the fingerprint to require; `None` is allowed only while
    /// enrolling (trust on first use, unless the address carries the expected fingerprint).
    pub fn new(
        address: &HubAddress,
        pin: Option<[u8; 32]>,
        connect: Duration,
        total: Duration,
    ) -> HubClient {
        // No redirects: a hub never sends one, and following it could leave the pinned hub.
        let builder = reqwest::blocking::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::none());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(PinVerifier {
            pin,
            presented: Mutex::new(None),
            provider: provider.clone(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        HubClient {
            http: builder
                .tls_backend_preconfigured(config)
                .build()
                .expect("a rustls client with a fixed configuration builds"),
            verifier: address.https.then_some(verifier),
        }
    }

    /// The fingerprint of the certificate the hub presented on the last connection.
    pub fn presented(&self) -> Option<[u8; 32]> {
        self.verifier
            .as_ref()
            .and_then(|v| *v.presented.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// True when the last connection failed because the certificate was not the pinned one.
    pub fn pin_mismatch(&self) -> bool {
        self.verifier
            .as_ref()
            .is_some_and(|v| v.pin.is_some() && self.presented().is_some_and(|p| Some(p) != v.pin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8750",
            "http://localhost:1/",
            "http://[::1]:8750",
            "https://hub.pernik.bg",
            "https://10.0.0.5:8750",
        ] {
            assert!(HubAddress::parse(ok).is_ok(), "{ok}");
        }
        assert!(matches!(
            HubAddress::parse("http://10.0.0.5:8750"),
            Err(AddressError::Insecure(_))
        ));
        assert!(matches!(
            HubAddress::parse("hub.pernik.bg"),
            Err(AddressError::Malformed(_))
        ));
    }

    #[test]
    fn a_user_name_in_the_address_does_not_pass_for_this_machine() {
        // The host here is evil.example; "localhost:1" is a user name and a password.
        for sneaky in [
            "http://localhost:1@evil.example",
            "http://127.0.0.1@evil.example:8750",
            "http://[::1]:1@evil.example/",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(
                matches!(
                    HubAddress::parse(sneaky),
                    Err(AddressError::Insecure(_) | AddressError::Malformed(_))
                ),
                "{sneaky}: {:?}",
                HubAddress::parse(sneaky)
            );
        }
        // Over HTTPS too, credentials and queries are not part of a hub address.
        for odd in [
            "https://user:pw@hub.pernik.bg",
            "https://hub.pernik.bg?x=1",
            "ftp://hub.pernik.bg",
        ] {
            assert!(
                matches!(HubAddress::parse(odd), Err(AddressError::Malformed(_))),
                "{odd}"
            );
        }
        assert_eq!(
            HubAddress::parse("http://LOCALHOST:8750/").unwrap().base,
            "http://localhost:8750"
        );
        // Behind a reverse proxy, under a path: kept, as before.
        assert_eq!(
            HubAddress::parse("https://proxy.pernik.bg/kabinet/")
                .unwrap()
                .base,
            "https://proxy.pernik.bg/kabinet"
        );
    }

    #[test]
    fn a_fingerprint_after_the_address_is_read_in_any_grouping() {
        let hexes = "AB".repeat(32);
        let grouped = hexes
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        let a = HubAddress::parse(&format!("https://hub:8750/#sha256={grouped}")).unwrap();
        assert_eq!(a.base, "https://hub:8750");
        assert_eq!(a.expected_pin, Some([0xab; 32]));
        assert_eq!(
            HubAddress::parse("https://hub:8750#sha256=abcd"),
            Err(AddressError::BadFingerprint)
        );
    }
}
