//! Password checks for `mysql_native_password` and `caching_sha2_password`.
//!
//! Both send a scramble of the password mixed with the server's 20-byte
//! nonce, never the password. We hold plaintext passwords, so we recompute
//! the expected scramble for whichever of the two plugins the client chose
//! and compare; `caching_sha2_password` therefore always takes its fast path.

use rand::Rng;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Length of the server's nonce (the "scramble" of the handshake).
pub(crate) const NONCE_LEN: usize = 20;

/// The authentication methods the server speaks; the configured one is
/// offered in the handshake and requested when a client names another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthPlugin {
    /// SHA-1 based; what TiDB and MySQL 5.7 default to, understood by every
    /// client.
    NativePassword,
    /// SHA-256 based; MySQL 8's default.
    CachingSha2Password,
}

impl AuthPlugin {
    /// The plugin's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            AuthPlugin::NativePassword => "mysql_native_password",
            AuthPlugin::CachingSha2Password => "caching_sha2_password",
        }
    }

    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"mysql_native_password" => Some(AuthPlugin::NativePassword),
            b"caching_sha2_password" => Some(AuthPlugin::CachingSha2Password),
            _ => None,
        }
    }

    /// Whether `response` is this plugin's scramble of `password` under
    /// `nonce`. An empty password is sent as nothing (or a single NUL).
    pub(crate) fn verify(self, nonce: &[u8], password: &[u8], response: &[u8]) -> bool {
        if is_empty_response(response) {
            return password.is_empty();
        }
        if password.is_empty() {
            return false;
        }
        match self {
            AuthPlugin::NativePassword => ct_eq(&native_scramble(nonce, password), response),
            AuthPlugin::CachingSha2Password => {
                ct_eq(&caching_sha2_scramble(nonce, password), response)
            }
        }
    }
}

/// Whether an auth response stands for "no password".
pub(crate) fn is_empty_response(response: &[u8]) -> bool {
    matches!(response, [] | [0])
}

/// A fresh nonce of printable ASCII other than `$`: some clients treat the
/// nonce as a NUL-terminated string, and MySQL avoids `$` too.
pub(crate) fn new_nonce() -> [u8; NONCE_LEN] {
    let mut rng = rand::rng();
    let mut nonce = [0u8; NONCE_LEN];
    for b in &mut nonce {
        *b = loop {
            let c = rng.random_range(0x21u8..0x7F);
            if c != b'$' {
                break c;
            }
        };
    }
    nonce
}

/// `SHA1(password) XOR SHA1(nonce || SHA1(SHA1(password)))`.
pub(crate) fn native_scramble(nonce: &[u8], password: &[u8]) -> [u8; 20] {
    let stage1 = Sha1::digest(password);
    let stage2 = Sha1::digest(stage1);
    let mix = Sha1::new()
        .chain_update(nonce)
        .chain_update(stage2)
        .finalize();
    xor(stage1.into(), mix.into())
}

/// `SHA256(password) XOR SHA256(SHA256(SHA256(password)) || nonce)`.
pub(crate) fn caching_sha2_scramble(nonce: &[u8], password: &[u8]) -> [u8; 32] {
    let stage1 = Sha256::digest(password);
    let stage2 = Sha256::digest(stage1);
    let mix = Sha256::new()
        .chain_update(stage2)
        .chain_update(nonce)
        .finalize();
    xor(stage1.into(), mix.into())
}

fn xor<const N: usize>(mut a: [u8; N], b: [u8; N]) -> [u8; N] {
    a.iter_mut().zip(b).for_each(|(x, y)| *x ^= y);
    a
}

/// Compares without an early exit, so timing does not reveal how many
/// leading bytes of a guess were right.
fn ct_eq(expected: &[u8], got: &[u8]) -> bool {
    expected.len() == got.len()
        && expected
            .iter()
            .zip(got)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: [u8; 20] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // The expected values were computed with Python's hashlib from the
    // algorithm definitions in the module docs.
    #[test]
    fn native_password_vector() {
        assert_eq!(
            hex(&native_scramble(&NONCE, b"secret")),
            "b32bb3a583e1340c0a1108d58b1be49781ad8c2f"
        );
    }

    #[test]
    fn caching_sha2_vector() {
        assert_eq!(
            hex(&caching_sha2_scramble(&NONCE, b"secret")),
            "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9"
        );
    }

    #[test]
    fn verify_accepts_right_and_rejects_wrong() {
        for plugin in [AuthPlugin::NativePassword, AuthPlugin::CachingSha2Password] {
            let right = match plugin {
                AuthPlugin::NativePassword => native_scramble(&NONCE, b"secret").to_vec(),
                AuthPlugin::CachingSha2Password => {
                    caching_sha2_scramble(&NONCE, b"secret").to_vec()
                }
            };
            assert!(plugin.verify(&NONCE, b"secret", &right));
            assert!(!plugin.verify(&NONCE, b"other", &right));
            assert!(!plugin.verify(&NONCE, b"secret", &right[..right.len() - 1]));
            assert!(!plugin.verify(&NONCE, b"secret", b""));
            assert!(plugin.verify(&NONCE, b"", b""));
            assert!(plugin.verify(&NONCE, b"", b"\0"));
            assert!(!plugin.verify(&NONCE, b"", &right));
        }
    }

    #[test]
    fn nonce_is_printable_without_dollar_or_nul() {
        for _ in 0..100 {
            let n = new_nonce();
            assert!(n.iter().all(|&c| (0x21..0x7F).contains(&c) && c != b'$'));
        }
    }

    #[test]
    fn plugin_names_round_trip() {
        for plugin in [AuthPlugin::NativePassword, AuthPlugin::CachingSha2Password] {
            assert_eq!(
                AuthPlugin::from_name(plugin.name().as_bytes()),
                Some(plugin)
            );
        }
        assert_eq!(AuthPlugin::from_name(b"sha256_password"), None);
    }
}
