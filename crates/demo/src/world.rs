//! The simulated enterprise: its hosts and servers, and the popular internet services its users
//! reach, each with addresses in the provider's real ranges and a certificate chain.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::out::{self, ipv4};
use crate::records::Cert;

pub(crate) const RESOLVER: u32 = u32::from_be_bytes([10, 20, 0, 53]);
pub(crate) const DC: u32 = u32::from_be_bytes([10, 20, 0, 10]);
pub(crate) const FILE_SERVER: u32 = u32::from_be_bytes([10, 20, 0, 20]);
pub(crate) const DMZ_WEB: u32 = u32::from_be_bytes([10, 30, 0, 10]);
pub(crate) const MAIL: u32 = u32::from_be_bytes([10, 30, 0, 25]);
/// The resolver forwards cache misses to these public resolvers.
pub(crate) const UPSTREAM_DNS: [u32; 2] =
    [u32::from_be_bytes([8, 8, 8, 8]), u32::from_be_bytes([1, 1, 1, 1])];
pub(crate) const NTP_SERVER: u32 = u32::from_be_bytes([168, 61, 215, 74]);

pub(crate) const AD_DOMAIN: &str = "corp.northwind.local";
pub(crate) const PUBLIC_SITE: &str = "www.northwind-traders.com";

/// How the service is spoken to; plain-HTTP kinds are the certificate-revocation and update
/// endpoints that Windows really fetches over port 80.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tls,
    Ocsp,
    Crl,
    Ctl,
    Ncsi,
    WinUpdate,
}

pub(crate) struct ServiceDef {
    pub host: &'static str,
    pub kind: Kind,
    pub weight: u32,
    /// Index into [`CAS`]; ignored for plain HTTP.
    pub ca: usize,
    /// (first octet, second octet, third-octet range).
    pub ranges: &'static [(u8, u8, u8, u8)],
    pub cname: Option<&'static str>,
}

const fn svc(
    host: &'static str,
    kind: Kind,
    weight: u32,
    ca: usize,
    ranges: &'static [(u8, u8, u8, u8)],
) -> ServiceDef {
    ServiceDef { host, kind, weight, ca, ranges, cname: None }
}

const fn svc_c(
    host: &'static str,
    weight: u32,
    ca: usize,
    ranges: &'static [(u8, u8, u8, u8)],
    cname: &'static str,
) -> ServiceDef {
    ServiceDef { host, kind: Kind::Tls, weight, ca, ranges, cname: Some(cname) }
}

/// Intermediate CAs: (subject, issuer, ECDSA key).
pub(crate) const CAS: &[(&str, &str, bool)] = &[
    (
        "CN=Microsoft Azure RSA TLS Issuing CA 04,O=Microsoft Corporation,C=US",
        "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US",
        false,
    ),
    (
        "CN=WR2,O=Google Trust Services,C=US",
        "CN=GTS Root R1,O=Google Trust Services LLC,C=US",
        false,
    ),
    (
        "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US",
        "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US",
        false,
    ),
    (
        "CN=R11,O=Let's Encrypt,C=US",
        "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
        false,
    ),
    ("CN=Amazon RSA 2048 M02,O=Amazon,C=US", "CN=Amazon Root CA 1,O=Amazon,C=US", false),
    (
        "CN=Sectigo ECC Domain Validation Secure Server CA,O=Sectigo Limited,L=Salford,ST=Greater Manchester,C=GB",
        "CN=USERTrust ECC Certification Authority,O=The USERTRUST Network,L=Jersey City,ST=New Jersey,C=US",
        true,
    ),
    (
        "CN=GlobalSign Atlas R3 DV TLS CA 2024 Q2,O=GlobalSign nv-sa,C=BE",
        "CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3",
        false,
    ),
    (
        "CN=WE1,O=Google Trust Services,C=US",
        "CN=GTS Root R4,O=Google Trust Services LLC,C=US",
        true,
    ),
];

const MS_LOGIN: &[(u8, u8, u8, u8)] = &[(20, 190, 128, 191), (40, 126, 0, 63)];
const MS_EXO: &[(u8, u8, u8, u8)] = &[(52, 96, 0, 255), (40, 99, 0, 255)];
const MS_TEAMS: &[(u8, u8, u8, u8)] = &[(52, 113, 0, 255), (52, 112, 0, 255)];
const MS_AFD: &[(u8, u8, u8, u8)] = &[(13, 107, 246, 246), (13, 107, 213, 213)];
const MS_SPO: &[(u8, u8, u8, u8)] = &[(13, 107, 136, 139)];
const MS_42: &[(u8, u8, u8, u8)] = &[(13, 107, 42, 43)];
const MS_TELEMETRY: &[(u8, u8, u8, u8)] = &[(20, 42, 64, 79), (20, 189, 173, 173)];
const MS_AZURE: &[(u8, u8, u8, u8)] = &[(20, 62, 0, 127), (52, 168, 112, 127)];
const MS_WNS: &[(u8, u8, u8, u8)] = &[(20, 198, 0, 127)];
const MS_BING: &[(u8, u8, u8, u8)] = &[(13, 107, 21, 21), (204, 79, 197, 197)];
const AKAMAI_MS: &[(u8, u8, u8, u8)] = &[(23, 60, 64, 79)];
const MS_NCSI: &[(u8, u8, u8, u8)] = &[(13, 107, 4, 4)];
const GOOGLE: &[(u8, u8, u8, u8)] = &[(142, 250, 64, 191), (172, 217, 0, 31), (142, 251, 32, 47)];
const FASTLY: &[(u8, u8, u8, u8)] = &[(151, 101, 0, 255)];
const GITHUB_CDN: &[(u8, u8, u8, u8)] = &[(185, 199, 108, 111)];
const GITHUB: &[(u8, u8, u8, u8)] = &[(140, 82, 112, 114)];
const CLOUDFLARE: &[(u8, u8, u8, u8)] = &[(104, 16, 0, 31), (104, 17, 0, 31), (104, 18, 0, 47)];
const CLOUDFLARE2: &[(u8, u8, u8, u8)] = &[(162, 159, 128, 138), (162, 159, 152, 153)];
const AWS: &[(u8, u8, u8, u8)] = &[(52, 84, 0, 255), (54, 239, 0, 255), (3, 5, 0, 31)];
const AWS_S3: &[(u8, u8, u8, u8)] = &[(52, 216, 0, 255), (52, 217, 0, 255)];
const CLOUDFRONT: &[(u8, u8, u8, u8)] = &[(18, 160, 0, 255), (13, 35, 0, 255)];
const ZOOM: &[(u8, u8, u8, u8)] = &[(170, 114, 0, 255)];
const DROPBOX: &[(u8, u8, u8, u8)] = &[(162, 125, 0, 31)];
const OKTA: &[(u8, u8, u8, u8)] = &[(52, 34, 0, 255), (44, 224, 0, 63)];
const SALESFORCE: &[(u8, u8, u8, u8)] = &[(85, 222, 128, 159)];
const CROWDSTRIKE: &[(u8, u8, u8, u8)] = &[(100, 20, 0, 255), (52, 40, 0, 255)];
const APPLE: &[(u8, u8, u8, u8)] = &[(17, 253, 0, 255)];
const EDGECAST: &[(u8, u8, u8, u8)] = &[(93, 184, 220, 220), (72, 21, 91, 91)];
const LENCR: &[(u8, u8, u8, u8)] = &[(23, 215, 0, 63)];
const WIKIMEDIA: &[(u8, u8, u8, u8)] = &[(208, 80, 154, 154), (185, 15, 59, 59)];
const META: &[(u8, u8, u8, u8)] = &[(157, 240, 0, 255)];
const WEBEX: &[(u8, u8, u8, u8)] = &[(170, 72, 0, 255)];
const HN: &[(u8, u8, u8, u8)] = &[(209, 216, 230, 230)];

use Kind::*;

/// Popular destinations with rough popularity weights; about 75 names which, with a few
/// addresses each, make roughly 200 distinct external services.
pub(crate) const SERVICES: &[ServiceDef] = &[
    svc("login.microsoftonline.com", Tls, 60, 0, MS_LOGIN),
    svc_c("outlook.office365.com", 80, 2, MS_EXO, "outlook.ha.office365.com"),
    svc_c("outlook.office.com", 30, 2, MS_EXO, "outlook.ha.office365.com"),
    svc("teams.microsoft.com", Tls, 50, 0, MS_TEAMS),
    svc("graph.microsoft.com", Tls, 30, 0, MS_LOGIN),
    svc_c("www.office.com", 20, 0, MS_AFD, "www.office.com.s-0005.dual-s-msedge.net"),
    svc("northwind-my.sharepoint.com", Tls, 25, 0, MS_SPO),
    svc("northwind.sharepoint.com", Tls, 20, 0, MS_SPO),
    svc("onedrive.live.com", Tls, 10, 0, MS_42),
    svc("settings-win.data.microsoft.com", Tls, 25, 0, MS_TELEMETRY),
    svc("v10.events.data.microsoft.com", Tls, 30, 0, MS_TELEMETRY),
    svc_c("www.microsoft.com", 10, 0, MS_AFD, "www.microsoft.com-c-3.edgekey.net"),
    svc("www.bing.com", Tls, 15, 0, MS_BING),
    svc("officecdn.microsoft.com", Tls, 5, 0, MS_AFD),
    svc("edge.microsoft.com", Tls, 10, 0, MS_BING),
    svc("nav.smartscreen.microsoft.com", Tls, 12, 0, MS_AZURE),
    svc("login.live.com", Tls, 10, 0, MS_LOGIN),
    svc("fe2cr.update.microsoft.com", Tls, 6, 0, MS_AZURE),
    svc("client.wns.windows.com", Tls, 15, 0, MS_WNS),
    svc("www.linkedin.com", Tls, 10, 2, MS_42),
    svc("static.licdn.com", Tls, 4, 2, MS_42),
    svc("dev.azure.com", Tls, 4, 0, MS_42),
    svc("update.code.visualstudio.com", Tls, 3, 0, MS_AFD),
    svc("marketplace.visualstudio.com", Tls, 2, 0, MS_AFD),
    svc("ctldl.windowsupdate.com", Ctl, 15, 0, AKAMAI_MS),
    svc("download.windowsupdate.com", WinUpdate, 8, 0, AKAMAI_MS),
    svc("www.msftconnecttest.com", Ncsi, 6, 0, MS_NCSI),
    svc("www.google.com", Tls, 60, 1, GOOGLE),
    svc("www.gstatic.com", Tls, 40, 1, GOOGLE),
    svc("fonts.googleapis.com", Tls, 20, 1, GOOGLE),
    svc("fonts.gstatic.com", Tls, 20, 1, GOOGLE),
    svc("apis.google.com", Tls, 10, 1, GOOGLE),
    svc("accounts.google.com", Tls, 10, 1, GOOGLE),
    svc("mail.google.com", Tls, 10, 1, GOOGLE),
    svc("www.youtube.com", Tls, 15, 1, GOOGLE),
    svc("i.ytimg.com", Tls, 10, 1, GOOGLE),
    svc("clients2.google.com", Tls, 8, 1, GOOGLE),
    svc("update.googleapis.com", Tls, 8, 1, GOOGLE),
    svc("safebrowsing.googleapis.com", Tls, 10, 1, GOOGLE),
    svc("www.googletagmanager.com", Tls, 15, 1, GOOGLE),
    svc("drive.google.com", Tls, 5, 1, GOOGLE),
    svc("adservice.google.com", Tls, 5, 1, GOOGLE),
    svc("ocsp.pki.goog", Ocsp, 8, 1, GOOGLE),
    svc("www.reddit.com", Tls, 8, 2, FASTLY),
    svc("pypi.org", Tls, 3, 6, FASTLY),
    svc("files.pythonhosted.org", Tls, 3, 6, FASTLY),
    svc("www.nytimes.com", Tls, 5, 2, FASTLY),
    svc("cdn.jsdelivr.net", Tls, 6, 6, FASTLY),
    svc("www.bbc.co.uk", Tls, 4, 6, FASTLY),
    svc("www.theguardian.com", Tls, 3, 3, FASTLY),
    svc("github.githubassets.com", Tls, 10, 5, GITHUB_CDN),
    svc("raw.githubusercontent.com", Tls, 5, 5, GITHUB_CDN),
    svc("avatars.githubusercontent.com", Tls, 5, 5, GITHUB_CDN),
    svc("github.com", Tls, 15, 5, GITHUB),
    svc("api.github.com", Tls, 8, 5, GITHUB),
    svc("cdnjs.cloudflare.com", Tls, 8, 7, CLOUDFLARE),
    svc("www.cloudflare.com", Tls, 2, 7, CLOUDFLARE),
    svc("stackoverflow.com", Tls, 8, 3, CLOUDFLARE),
    svc("cdn.sstatic.net", Tls, 6, 3, CLOUDFLARE),
    svc("registry.npmjs.org", Tls, 3, 7, CLOUDFLARE),
    svc("chatgpt.com", Tls, 10, 7, CLOUDFLARE),
    svc("www.canva.com", Tls, 3, 7, CLOUDFLARE),
    svc("discord.com", Tls, 3, 7, CLOUDFLARE2),
    svc("medium.com", Tls, 3, 7, CLOUDFLARE2),
    svc("slack.com", Tls, 15, 4, AWS),
    svc("edgeapi.slack.com", Tls, 10, 4, AWS),
    svc("www.amazon.com", Tls, 8, 2, AWS),
    svc("s3.amazonaws.com", Tls, 6, 4, AWS_S3),
    svc("zoom.us", Tls, 8, 2, ZOOM),
    svc("us05web.zoom.us", Tls, 5, 2, ZOOM),
    svc("www.dropbox.com", Tls, 3, 2, DROPBOX),
    svc("northwind.okta.com", Tls, 10, 2, OKTA),
    svc("ok12static.oktacdn.com", Tls, 5, 4, CLOUDFRONT),
    svc("northwind.atlassian.net", Tls, 10, 4, CLOUDFRONT),
    svc("northwind.my.salesforce.com", Tls, 6, 2, SALESFORCE),
    svc("ts01-b.cloudsink.net", Tls, 20, 2, CROWDSTRIKE),
    svc("gs.apple.com", Tls, 2, 2, APPLE),
    svc("ocsp.digicert.com", Ocsp, 15, 2, EDGECAST),
    svc("crl3.digicert.com", Crl, 5, 2, EDGECAST),
    svc("r11.o.lencr.org", Ocsp, 4, 3, LENCR),
    svc("en.wikipedia.org", Tls, 5, 6, WIKIMEDIA),
    svc("upload.wikimedia.org", Tls, 4, 6, WIKIMEDIA),
    svc("web.whatsapp.com", Tls, 3, 2, META),
    svc("northwind.webex.com", Tls, 2, 2, WEBEX),
    svc("news.ycombinator.com", Tls, 2, 3, HN),
];

pub(crate) struct Service {
    pub def: &'static ServiceDef,
    pub ips: Vec<u32>,
    pub v6: String,
    /// Index into [`World::certs`] of the leaf; the intermediate is `CAS` index `def.ca`.
    pub leaf: usize,
    pub ja3s: String,
}

pub(crate) struct Workstation {
    pub ip: u32,
    /// Multiplies the site-wide connection rate; users differ a lot in how busy they are.
    pub activity: f64,
    /// Left running overnight, so it keeps up background chatter at night and weekends.
    pub always_on: bool,
    pub browser: usize,
}

/// Browser user agents and their JA3 hashes; one per workstation.
pub(crate) const BROWSERS: &[(&str, &str)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
        "773906b0efdefa24a7f2b8eb6985bf37",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        "cd08e31494f9531f560d64c695473da9",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
        "579ccef312d18482fc42e2b822ca2430",
    ),
];

/// The JA3 of Windows' own TLS stack (schannel), used by OS services and Office.
pub(crate) const SCHANNEL_JA3: &str = "28a2c9bd18a11de089ef85a160da29e4";

pub(crate) struct World {
    pub workstations: Vec<Workstation>,
    pub services: Vec<Service>,
    /// Cumulative popularity weights over `services` for weighted choice.
    pub cumulative: Vec<u32>,
    pub http_services: Vec<usize>,
    pub certs: Vec<Cert>,
    pub site_leaf: usize,
}

/// Hosts the planted scenarios run on; they are always part of the workstation population so
/// that they also carry ordinary traffic and do not stand out merely by existing.
pub(crate) const SCENARIO_HOSTS: [[u8; 4]; 3] =
    [[10, 20, 14, 77], [10, 20, 33, 5], [10, 20, 2, 15]];

fn random_serial<R: Rng>(rng: &mut R) -> String {
    out::hex_string(rng, 32).to_ascii_uppercase()
}

fn parent_domain(host: &str) -> Option<&str> {
    let dot = host.find('.')?;
    let rest = &host[dot + 1..];
    rest.contains('.').then_some(rest)
}

impl World {
    pub(crate) fn build<R: Rng>(rng: &mut R, start: i64, hosts: usize) -> World {
        let mut certs: Vec<Cert> = CAS
            .iter()
            .map(|&(subject, issuer, ecdsa)| Cert {
                fp: out::hex_string(rng, 64),
                serial: random_serial(rng),
                subject: subject.to_string(),
                issuer: issuer.to_string(),
                not_before: start - rng.gen_range(200..900) * 86_400,
                not_after: start + rng.gen_range(300..1500) * 86_400,
                ecdsa,
                sans: None,
                ca: true,
            })
            .collect();
        let leaf = |rng: &mut R, host: &str, ca: usize, certs: &mut Vec<Cert>| {
            let wildcard = parent_domain(host).filter(|_| rng.gen_bool(0.4));
            let (subject, sans) = match wildcard {
                Some(parent) => (format!("*.{parent}"), format!("*.{parent},{parent}")),
                None => (host.to_string(), host.to_string()),
            };
            let lifetime = if ca == 3 || ca == 1 || ca == 7 { 90 } else { 365 };
            // Never expiring within the demo period, so validation_status `ok` stays true.
            let age = rng.gen_range(5..lifetime - 30);
            certs.push(Cert {
                fp: out::hex_string(rng, 64),
                serial: random_serial(rng),
                subject: format!("CN={subject}"),
                issuer: CAS[ca].0.to_string(),
                not_before: start - age * 86_400,
                not_after: start + (lifetime - age) * 86_400,
                ecdsa: CAS[ca].2,
                sans: Some(sans),
                ca: false,
            });
            certs.len() - 1
        };

        let mut services = Vec::new();
        for def in SERVICES {
            let n = rng.gen_range(2..=4);
            let mut ips = Vec::with_capacity(n);
            while ips.len() < n {
                let &(a, b, lo, hi) = def.ranges.choose(rng).expect("ranges are never empty");
                let ip = ipv4(a, b, rng.gen_range(lo..=hi), rng.gen_range(1..=254));
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            // The provider's IPv6 allocation, for the AAAA answers dual-stack clients get.
            let v6_prefix = match def.ranges[0].0 {
                142 | 172 => "2607:f8b0",
                104 | 162 => "2606:4700",
                151 | 185 => "2a04:4e42",
                13 | 20 | 40 | 204 => "2603:1036",
                140 => "2606:50c0",
                _ => "2600:1f18",
            };
            let v6 = format!(
                "{v6_prefix}:{:x}:{:x}::{:x}",
                rng.gen_range(0x100..0xfff),
                rng.gen_range(0..0xff),
                rng.gen_range(1..0xff)
            );
            let leaf = leaf(rng, def.host, def.ca, &mut certs);
            services.push(Service { def, ips, v6, leaf, ja3s: out::hex_string(rng, 32) });
        }
        let site_leaf = leaf(rng, PUBLIC_SITE, 3, &mut certs);

        let mut cumulative = Vec::with_capacity(services.len());
        let mut total = 0;
        for s in &services {
            total += if s.def.kind == Tls { s.def.weight } else { 0 };
            cumulative.push(total);
        }
        let http_services =
            (0..services.len()).filter(|&i| services[i].def.kind != Tls).collect::<Vec<_>>();

        let mut ips: Vec<u32> = SCENARIO_HOSTS.iter().map(|o| u32::from_be_bytes(*o)).collect();
        while ips.len() < hosts {
            let ip = ipv4(10, 20, rng.gen_range(1..=60), rng.gen_range(10..=250));
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        ips.sort_unstable();
        let mut workstations: Vec<Workstation> = ips
            .into_iter()
            .map(|ip| {
                // Sum of uniforms ≈ normal; exp of it gives a right-skewed, log-normal-like spread.
                let z: f64 = (0..4).map(|_| rng.r#gen::<f64>()).sum::<f64>() - 2.0;
                Workstation {
                    ip,
                    activity: (z * 0.9).exp(),
                    always_on: rng.gen_bool(0.35),
                    browser: rng.gen_range(0..BROWSERS.len()),
                }
            })
            .collect();
        // Rescale so the site-wide mean is exactly 1 and the configured rate holds on average.
        let mean = workstations.iter().map(|w| w.activity).sum::<f64>() / workstations.len() as f64;
        for w in &mut workstations {
            w.activity /= mean;
        }

        World { workstations, services, cumulative, http_services, certs, site_leaf }
    }

    /// A TLS service picked by popularity.
    pub(crate) fn pick_tls<R: Rng>(&self, rng: &mut R) -> usize {
        let total = *self.cumulative.last().expect("there are services");
        let x = rng.gen_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}
