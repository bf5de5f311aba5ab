//! User-agent normalisation: the raw string to a client *family* that ignores versions and
//! platform details, so `Boto3/1.34.12 md/Botocore#1.34.12 ...` and `Boto3/1.35.0 ...` are both
//! `boto3`, and an SDK upgrade is not a "new client".
//!
//! Families are found by one Aho-Corasick pass over the lowercased string; where several markers
//! match, the most specific wins (a tool before the SDK it embeds: `terraform` before
//! `aws-sdk-go`). Unknown clients fall back to their first product token. Results are cached per
//! distinct user agent by [`UaClassifier`].

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;

/// Family given to an empty user agent.
pub const EMPTY_FAMILY: &str = "none";
/// Family of web browsers.
pub const BROWSER_FAMILY: &str = "browser";

/// The first this many markers are offensive tooling.
const OFFENSIVE_MARKERS: usize = 12;

/// Markers, most specific first: (needle, family). A needle is matched case-insensitively
/// anywhere in the user agent.
const MARKERS: &[(&str, &str)] = &[
    // Offensive and red-team tooling (a risk factor of its own).
    ("pacu", "pacu"),
    ("kali", "kali"),
    ("parrot", "parrot"),
    ("pentoo", "pentoo"),
    ("scoutsuite", "scoutsuite"),
    ("prowler", "prowler"),
    ("cloudfox", "cloudfox"),
    ("weirdaal", "weirdaal"),
    ("trufflehog", "trufflehog"),
    ("stratus-red-team", "stratus-red-team"),
    ("sqlmap", "sqlmap"),
    ("nmap", "nmap"),
    // Automation that embeds an SDK.
    ("terraform", "terraform"),
    ("pulumi", "pulumi"),
    ("crossplane", "crossplane"),
    ("ansible", "ansible"),
    ("amazon-ssm-agent", "amazon-ssm-agent"),
    ("aws-cdk", "aws-cdk"),
    ("cloudformation", "cloudformation"),
    ("aws-sam-cli", "aws-sam-cli"),
    ("eksctl", "eksctl"),
    ("kubectl", "kubectl"),
    // Consoles.
    ("signin.amazonaws.com", "aws-console"),
    ("console.ec2.amazonaws.com", "aws-console"),
    ("console.aws.amazon.com", "aws-console"),
    ("console.amazonaws.com", "aws-console"),
    ("console/", "aws-console"),
    ("aws-internal", "aws-internal"),
    ("aws internal", "aws-internal"),
    // AWS CLIs and SDKs.
    ("aws-cli", "aws-cli"),
    ("aws-tools-for-powershell", "aws-powershell"),
    ("awspowershell", "aws-powershell"),
    ("boto3", "boto3"),
    ("botocore", "botocore"),
    ("aws-sdk-go-v2", "aws-sdk-go-v2"),
    ("aws-sdk-go", "aws-sdk-go"),
    ("aws-sdk-java", "aws-sdk-java"),
    ("aws-sdk-js", "aws-sdk-js"),
    ("aws-sdk-nodejs", "aws-sdk-js"),
    ("aws-sdk-dotnet", "aws-sdk-dotnet"),
    ("aws-sdk-php", "aws-sdk-php"),
    ("aws-sdk-ruby", "aws-sdk-ruby"),
    ("aws-sdk-rust", "aws-sdk-rust"),
    ("aws-sdk-cpp", "aws-sdk-cpp"),
    // Azure.
    ("azurecli", "azure-cli"),
    ("azure-cli", "azure-cli"),
    ("azurepowershell", "azure-powershell"),
    ("azure-powershell", "azure-powershell"),
    ("azsdk-python", "azure-sdk-python"),
    ("azsdk-net", "azure-sdk-dotnet"),
    ("azsdk-js", "azure-sdk-js"),
    ("azsdk-java", "azure-sdk-java"),
    ("azsdk-go", "azure-sdk-go"),
    ("azure-sdk-for-go", "azure-sdk-go"),
    // GitHub and package managers.
    ("github cli", "github-cli"),
    ("gh cli", "github-cli"),
    ("octokit", "octokit"),
    ("pygithub", "pygithub"),
    ("git/", "git"),
    ("jgit", "git"),
    ("npm/", "npm"),
    ("yarn/", "yarn"),
    ("pip/", "pip"),
    ("rubygems", "rubygems"),
    ("cargo/", "cargo"),
    // Generic HTTP clients.
    ("python-requests", "python-requests"),
    ("python-urllib", "python-urllib"),
    ("aiohttp", "aiohttp"),
    ("httpx", "httpx"),
    ("curl/", "curl"),
    ("wget", "wget"),
    ("go-http-client", "go-http-client"),
    ("okhttp", "okhttp"),
    ("apache-httpclient", "apache-httpclient"),
    ("node-fetch", "node-fetch"),
    ("axios", "axios"),
    ("postmanruntime", "postman"),
    ("insomnia", "insomnia"),
    ("powershell", "powershell"),
    ("okta", "okta-sdk"),
    // Browsers last: many tools say "Mozilla/5.0 (compatible; ...)".
    ("mozilla/", BROWSER_FAMILY),
];

/// Classifies user agents into families, with a bounded cache of past answers.
pub struct UaClassifier {
    matcher: AhoCorasick,
    cache: FxHashMap<u64, Arc<str>>,
    families: FxHashMap<&'static str, Arc<str>>,
    cache_limit: usize,
}

impl Default for UaClassifier {
    fn default() -> Self {
        Self::new()
    }
}

impl UaClassifier {
    /// Builds the matcher.
    pub fn new() -> Self {
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(MARKERS.iter().map(|(n, _)| n))
            .expect("static user-agent markers compile");
        let families = MARKERS
            .iter()
            .map(|(_, f)| (*f, Arc::<str>::from(*f)))
            .chain([(EMPTY_FAMILY, Arc::<str>::from(EMPTY_FAMILY))])
            .collect();
        UaClassifier {
            matcher,
            cache: FxHashMap::default(),
            families,
            cache_limit: 65_536,
        }
    }

    /// The family of a user agent (cached).
    pub fn family(&mut self, ua: &str) -> Arc<str> {
        let h = xxhash_rust::xxh3::xxh3_64(ua.as_bytes());
        if let Some(f) = self.cache.get(&h) {
            return f.clone();
        }
        let fam: Arc<str> = match self.known_family(ua) {
            Some(f) => self.families[f].clone(),
            None => Arc::from(fallback_family(ua).as_str()),
        };
        if self.cache.len() >= self.cache_limit {
            self.cache.clear();
        }
        self.cache.insert(h, fam.clone());
        fam
    }

    /// The most specific known family marker in `ua`, if any.
    pub fn known_family(&self, ua: &str) -> Option<&'static str> {
        if ua.trim().is_empty() {
            return Some(EMPTY_FAMILY);
        }
        self.matcher
            .find_overlapping_iter(ua)
            .map(|m| m.pattern().as_usize())
            .min()
            .map(|i| MARKERS[i].1)
    }
}

/// True if the family is offensive / red-team tooling.
pub fn is_offensive_family(family: &str) -> bool {
    MARKERS[..OFFENSIVE_MARKERS]
        .iter()
        .any(|(_, f)| *f == family)
}

/// The first product token, lowercased, without version: `MyTool/2.3 (linux)` -> `mytool`.
fn fallback_family(ua: &str) -> String {
    let tok = ua
        .trim()
        .trim_start_matches(['[', '"', '\''])
        .split(['/', ' ', '(', ',', ';', '['])
        .next()
        .unwrap_or("");
    let fam: String = tok
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect::<String>()
        .to_ascii_lowercase();
    if fam.is_empty() || fam.chars().all(|c| c.is_ascii_digit() || c == '.') {
        "other".to_string()
    } else {
        fam
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let mut c = UaClassifier::new();
        let cases = [
            ("Boto3/1.34.12 md/Botocore#1.34.12 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.6", "boto3"),
            ("aws-cli/2.13.4 Python/3.11.4 Darwin/22.5.0 exe/x86_64 prompt/off command/s3.ls", "aws-cli"),
            ("aws-sdk-go/1.41.4 (go1.18.3; linux; amd64) amazon-ssm-agent/", "amazon-ssm-agent"),
            ("aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10 md/GOOS/linux md/GOARCH/amd64 api/sts/1.17.1", "aws-sdk-go-v2"),
            ("APN/1.0 HashiCorp/1.0 Terraform/1.5.2 (+https://www.terraform.io) terraform-provider-aws/5.7.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.294 (go1.20.5; linux; amd64)", "terraform"),
            ("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184]", "aws-console"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.83 Safari/537.36", "browser"),
            ("Boto3/1.9.201 Python/2.7.12 Linux/4.15.0 Botocore/1.12.201 Pacu", "pacu"),
            ("aws-cli/1.16.0 Python/3.7 Linux/5.10.0-kali7-amd64 botocore/1.20.0", "kali"),
            ("python-requests/2.31.0", "python-requests"),
            ("console.ec2.amazonaws.com", "aws-console"),
            ("git/2.30.2", "git"),
            ("GitHub CLI 2.40.1", "github-cli"),
            ("", "none"),
            ("launch/production", "launch"),
            ("SuperTool/9.9 (x)", "supertool"),
            ("1.2.3", "other"),
        ];
        for (ua, fam) in cases {
            assert_eq!(&*c.family(ua), fam, "{ua}");
        }
        // cached answer is the same
        assert_eq!(&*c.family("git/2.30.2"), "git");
    }

    #[test]
    fn sdk_bump_is_same_family() {
        let mut c = UaClassifier::new();
        assert_eq!(
            c.family("Boto3/1.34.12 md/Botocore#1.34.12"),
            c.family("Boto3/1.35.99 md/Botocore#1.35.99")
        );
    }

    #[test]
    fn offensive() {
        assert!(is_offensive_family("pacu"));
        assert!(is_offensive_family("nmap"));
        assert!(!is_offensive_family("terraform"));
    }
}
