//! `GET /verify/api`: the answer on a certificate's seal, read by `sportello verify`
//! online and by anyone holding the paper.

use serde::{Deserialize, Serialize};

use crate::seal::CertificateContent;

/// The verdict on a seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Issued by this hub, unaltered.
    Genuine,
    /// Forged or altered.
    NotGenuine,
    /// Cannot be told (not a seal, or unknown to this hub).
    Unknown,
}

/// `GET /verify/api`: the verdict and, when genuine and still kept, the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    /// The verdict.
    pub verdict: Verdict,
    /// A stable code saying why: `ok`, `malformed`, `bad_signature`, `digest_mismatch`,
    /// `unknown_certificate`, `content_erased`.
    pub reason: String,
    /// The certificate id from the seal, when it could be read.
    pub certificate_id: Option<String>,
    /// When it was issued, when known.
    pub issued_at: Option<String>,
    /// The original content, when genuine and still kept.
    pub content: Option<CertificateContent>,
}
