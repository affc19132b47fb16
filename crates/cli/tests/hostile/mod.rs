//! The hostile-input suite: what an attacker (or a broken sensor) can put in front of the
//! importer and the rule and feed readers. Every case asks the same: no panic, no hang (a time
//! limit), bounded memory (the peak of the child processes), a message naming file and line,
//! and the good records kept.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::{CONN_HEADER, lasthop, lasthop_within, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(180);

/// Peak resident memory of the largest child this test process has waited for, in MiB (nextest
/// runs each test in its own process, so this is the test's own lasthop runs).
fn peak_child_mib() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    usage.ru_maxrss as u64 / 1024
}

/// A good conn line, identified by `uid`.
fn good(uid: &str, second: u64) -> String {
    format!(
        "{}.5\t{uid}\t10.0.0.5\t40000\t45.63.1.9\t443\ttcp\tssl\t1.5\t300\t1200\tSF\t-",
        1_717_372_800 + second
    )
}

/// Imports `path` into a fresh store under `dir` within the time limit; the output and store.
fn import(dir: &Path, path: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let store = dir.join("store");
    let mut args = vec!["import", path.to_str().unwrap(), "--store", store.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = lasthop_within(&args, LIMIT);
    assert!(
        out.status.code().is_some(),
        "lasthop was killed by a signal (a panic abort or the OOM killer): {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out, store)
}

/// `lasthop sql` over `store`, as CSV with its header line.
fn sql_csv(store: &Path, sql: &str) -> String {
    let out = lasthop(&["sql", sql, "--store", store.to_str().unwrap(), "--format", "csv"]);
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
    stdout(&out)
}

/// The uids the store holds in `table`.
fn stored_uids(store: &Path, table: &str) -> Vec<String> {
    let csv = sql_csv(store, &format!("SELECT uid FROM {table} ORDER BY uid"));
    csv.lines().skip(1).map(str::to_string).collect()
}

fn expect_uids(store: &Path, table: &str, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(stored_uids(store, table), expected);
}

#[test]
fn a_100_mb_line_is_skipped_by_line_number_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(CONN_HEADER.as_bytes()).unwrap();
    writeln!(f, "{}\n{}", good("Cbefore1", 1), good("Cbefore2", 2)).unwrap();
    let block = vec![b'A'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&block).unwrap();
    }
    writeln!(f, "\n{}", good("Cafter", 3)).unwrap();
    drop(f);
    let long_line = CONN_HEADER.lines().count() + 3;
    let (out, store) = import(dir.path(), &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("conn.log:{long_line}: line too long")), "{err}");
    expect_uids(&store, "conn", &["Cbefore1", "Cbefore2", "Cafter"]);
    // The default line limit is 16 MiB: the 100 MB line is never held whole.
    assert!(peak_child_mib() < 400, "peak {} MiB", peak_child_mib());
}

#[test]
fn nul_bytes_invalid_utf8_in_every_field_and_mixed_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log");
    let mut data = CONN_HEADER.as_bytes().to_vec();
    let mut clean = Vec::new();
    // CRLF, LF and a lone CR inside a field, line after line.
    for (i, ending) in ["\r\n", "\n", "\r\n"].iter().enumerate() {
        let uid = format!("Cclean{i}");
        data.extend_from_slice(good(&uid, i as u64).as_bytes());
        data.extend_from_slice(ending.as_bytes());
        clean.push(uid);
    }
    // Each field in turn replaced by invalid UTF-8, then by text with a NUL in it.
    let fields = good("Cx", 10);
    let columns = fields.split('\t').count();
    let mut hostile_lines = 0;
    for column in 0..columns {
        for poison in [&b"\xff\xfe\xc3"[..], &b"a\0b"[..]] {
            let mut line: Vec<u8> = Vec::new();
            for (i, field) in good(&format!("Cpoison{column}"), 20).split('\t').enumerate() {
                if i > 0 {
                    line.push(b'\t');
                }
                if i == column {
                    line.extend_from_slice(poison);
                } else {
                    line.extend_from_slice(field.as_bytes());
                }
            }
            line.extend_from_slice(if column % 2 == 0 { b"\r\n" } else { b"\n" });
            data.extend_from_slice(&line);
            hostile_lines += 1;
        }
    }
    data.extend_from_slice(good("Clast", 30).as_bytes());
    clean.push("Clast".into());
    std::fs::write(&path, &data).unwrap();
    let (out, store) = import(dir.path(), &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let uids = stored_uids(&store, "conn");
    for uid in &clean {
        assert!(uids.contains(uid), "{uid} lost: {uids:?}\n{}", stderr(&out));
    }
    // Every hostile line is either kept (the bad field repaired or nulled) or named by line.
    let err = stderr(&out);
    let kept = uids.len() - clean.len();
    let dropped = hostile_lines - kept;
    let summary = err.lines().find(|l| l.contains("records")).unwrap_or_default().to_string();
    assert!(dropped == 0 || err.contains("conn.log:"), "{err}");
    assert!(summary.contains(&format!("{} records", uids.len())), "{summary}\n{err}");
    // Control characters in stored text never reach the terminal raw.
    let show =
        lasthop(&["sql", "SELECT uid, service FROM conn", "--store", store.to_str().unwrap()]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(!stdout(&show).contains('\0') && !stdout(&show).contains('\r'), "{}", stdout(&show));
}

#[test]
fn zeek_headers_that_claim_more_or_fewer_columns_than_the_rows_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log");
    let more = CONN_HEADER
        .replace("\tcommunity_id\n", "\tcommunity_id\textra_col\n")
        .replace("\tstring\tstring\n", "\tstring\tstring\tstring\n");
    let fewer = CONN_HEADER
        .replace("\tconn_state\tcommunity_id\n", "\tconn_state\n")
        .replace("\tstring\tstring\n", "\tstring\n");
    let text = format!(
        "{more}{}\n{}\n{fewer}{}\n{CONN_HEADER}{}\n",
        good("Cmore", 1),
        good("Cmore2", 2),
        good("Cfewer", 3),
        good("Cright", 4)
    );
    std::fs::write(&path, text).unwrap();
    let (out, store) = import(dir.path(), &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let header = CONN_HEADER.lines().count();
    for line in [header + 1, header + 2, 2 * header + 3] {
        assert!(err.contains(&format!("conn.log:{line}: wrong field count")), "{line}: {err}");
    }
    expect_uids(&store, "conn", &["Cright"]);
}

#[test]
fn far_timestamps_and_ipv6_zone_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log");
    let row = |ts: &str, uid: &str, src: &str| {
        format!("{ts}\t{uid}\t{src}\t40000\t45.63.1.9\t443\ttcp\tssl\t1.5\t300\t1200\tSF\t-\n")
    };
    let mut text = CONN_HEADER.to_string();
    for (ts, uid) in [
        ("-62135596800.0", "Cyear1"),
        ("0.0", "Cepoch"),
        ("253402300799.0", "Cyear9999"),
        ("1717372800.5", "Cnow"),
    ] {
        text.push_str(&row(ts, uid, "10.0.0.5"));
    }
    let bad_ts = ["1e300", "-1e300", "253402300800000.0", "nan", "inf", "-"];
    for (i, ts) in bad_ts.iter().enumerate() {
        text.push_str(&row(ts, &format!("Cbadts{i}"), "10.0.0.5"));
    }
    text.push_str(&row("1717372801.0", "Czone", "fe80::1%eth0"));
    text.push_str(&row("1717372802.0", "Czone2", "fe80::1%25"));
    std::fs::write(&path, &text).unwrap();
    let (out, store) = import(dir.path(), &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let first_bad = CONN_HEADER.lines().count() + 5;
    // The first few by line and field, then the count.
    for (line, ts) in (first_bad..).zip(&bad_ts[..5]) {
        let warning = format!("conn.log:{line}: bad timestamp: ts is {ts:?}\n");
        assert!(err.contains(&warning), "{warning}: {err}");
    }
    assert!(err.contains(&format!("{} bad timestamp", bad_ts.len())), "{err}");
    let uids = stored_uids(&store, "conn");
    for uid in ["Cyear1", "Cepoch", "Cyear9999", "Cnow", "Czone", "Czone2"] {
        assert!(uids.contains(&uid.to_string()), "{uid}: {uids:?}\n{err}");
    }
    // The zone is not part of the address: both rows are fe80::1.
    let zone = sql_csv(&store, "SELECT count(*) AS n FROM conn WHERE src = 'fe80::1'");
    assert_eq!(zone.lines().nth(1), Some("2"), "{zone}");
    // And a hunt over all of it runs.
    let hunt = lasthop_within(&["hunt", "--store", store.to_str().unwrap()], LIMIT);
    assert!(hunt.status.success(), "{}", stderr(&hunt));
}

/// `n` gzip members, each the same megabyte of blank-ish lines: a file of a few kilobytes per
/// member that expands a thousand times.
fn gzip_bomb(path: &Path, head: &str, members: usize) {
    let mut body = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    body.write_all(&vec![b'\n'; 1 << 20]).unwrap();
    let member = body.finish().unwrap();
    let mut first = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    first.write_all(head.as_bytes()).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&first.finish().unwrap()).unwrap();
    for _ in 0..members {
        f.write_all(&member).unwrap();
    }
}

#[test]
fn a_gzip_bomb_is_cut_off_and_reported_and_what_came_before_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log.gz");
    let head = format!("{CONN_HEADER}{}\n{}\n", good("Cbomb1", 1), good("Cbomb2", 2));
    // 20,000 members: 20 GiB once expanded, from about 20 MB.
    gzip_bomb(&path, &head, 20_000);
    let started = std::time::Instant::now();
    let (out, store) = import(dir.path(), &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("conn.log.gz") && err.contains("decompression bomb"), "{err}");
    expect_uids(&store, "conn", &["Cbomb1", "Cbomb2"]);
    assert!(peak_child_mib() < 400, "peak {} MiB", peak_child_mib());
    eprintln!("bomb stopped after {:?}", started.elapsed());
}

#[test]
fn gzip_and_zstd_files_truncated_in_the_middle_keep_their_first_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = CONN_HEADER.to_string();
    for i in 0..2000 {
        text.push_str(&good(&format!("Ctrunc{i:05}"), i));
        text.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(text.as_bytes(), 3).unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("conn.a.log.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(logs.join("conn.b.log.zst"), &zst[..zst.len() / 2]).unwrap();
    let (out, store) = import(dir.path(), &logs, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for file in ["conn.a.log.gz", "conn.b.log.zst"] {
        assert!(err.contains(file), "{file}: {err}");
    }
    assert!(err.contains("rest of the file is lost"), "{err}");
    let uids = stored_uids(&store, "conn");
    // Both copies hold the same records (Zeek's uid and ts): whatever each kept is stored once,
    // and the first records of the file are there.
    assert!(uids.len() > 100 && uids.len() < 2000, "{}", uids.len());
    assert!(uids.contains(&"Ctrunc00000".to_string()));
}

#[test]
fn a_folder_with_unreadable_files_and_symlink_loops_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let deep = logs.join("2024-06-03");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("conn.log"), format!("{CONN_HEADER}{}\n", good("Creadable", 1)))
        .unwrap();
    std::os::unix::fs::symlink(&logs, deep.join("loop")).unwrap();
    std::os::unix::fs::symlink(deep.join("self"), deep.join("self")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), deep.join("dangling.log")).unwrap();
    let locked = deep.join("conn.locked.log");
    std::fs::write(&locked, format!("{CONN_HEADER}{}\n", good("Clocked", 2))).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root_reads_anything = std::fs::read(&locked).is_ok();
    std::os::unix::net::UnixListener::bind(deep.join("conn.sock.log")).unwrap();
    let (out, store) = import(dir.path(), &logs, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("dangling.log"), "{err}");
    let uids = stored_uids(&store, "conn");
    assert!(uids.contains(&"Creadable".to_string()), "{uids:?}\n{err}");
    if root_reads_anything {
        eprintln!("running as root: the mode-000 file is readable and was imported");
    } else {
        assert!(err.contains("conn.locked.log") && err.contains("ermission"), "{err}");
    }
    // Each file once, however many ways the loop reaches it.
    assert_eq!(uids.iter().filter(|u| *u == "Creadable").count(), 1);
}

#[test]
fn sigma_rules_with_huge_or_unsupported_regular_expressions_are_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let rule = |id: u32, pattern: &str| {
        format!(
            "title: hostile {id}\nid: 6f0d3a7e-0000-4000-8000-{id:012}\nlogsource:\n  category: webserver\n\
             detection:\n  sel:\n    cs-uri-query|re: '{pattern}'\n  condition: sel\nlevel: high\n"
        )
    };
    let cases = [
        (1, "(?<=admin)x".to_string(), "look-around"),
        (2, "a{1000}{1000}".to_string(), "size limit"),
        (3, "x".repeat(2_000_000), "size limit"),
        (4, "(".to_string(), "unclosed"),
    ];
    for (id, pattern, _) in &cases {
        std::fs::write(rules.join(format!("r{id}.yml")), rule(*id, pattern)).unwrap();
    }
    std::fs::write(rules.join("good.yml"), rule(99, "jndi")).unwrap();
    std::fs::write(rules.join("broken.yml"), "title: [unterminated\n\0\u{1b}[2J").unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        "203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] \"GET /?q=${jndi:ldap://x} HTTP/1.1\" 200 5 \"-\" \"curl\"\n",
    )
    .unwrap();
    let out = lasthop_within(
        &[
            "rules",
            "match",
            log.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--no-bundled",
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for (id, _, reason) in &cases {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("r{id}.yml")))
            .unwrap_or_else(|| panic!("r{id}.yml not reported: {err}"));
        assert!(line.to_lowercase().contains(reason), "r{id}: {line}");
        assert!(line.len() < 2000, "the reason quotes a bounded pattern: {} bytes", line.len());
    }
    assert!(err.contains("broken.yml") && !err.contains('\u{1b}'), "{err}");
    assert!(stdout(&out).contains("6f0d3a7e-0000-4000-8000-000000000099"), "{}", stdout(&out));
    assert!(peak_child_mib() < 400, "peak {} MiB", peak_child_mib());
}

#[test]
fn stix_bundles_with_cycles_and_huge_arrays_load_what_they_can() {
    let dir = tempfile::tempdir().unwrap();
    let indicator = |id: &str, pattern: &str| {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
            "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "pattern": pattern,
            "created_by_ref": "identity--c0ffee00-0000-4000-8000-000000000001",
        })
    };
    let mut objects = vec![
        serde_json::json!({"type": "identity", "id": "identity--c0ffee00-0000-4000-8000-000000000001",
            "name": "loop", "created_by_ref": "identity--c0ffee00-0000-4000-8000-000000000001"}),
        indicator(
            "indicator--c0ffee00-0000-4000-8000-000000000002",
            "[ipv4-addr:value = '45.63.1.9']",
        ),
        serde_json::json!({"type": "relationship", "id": "relationship--c0ffee00-0000-4000-8000-000000000003",
            "source_ref": "indicator--c0ffee00-0000-4000-8000-000000000002",
            "target_ref": "indicator--c0ffee00-0000-4000-8000-000000000002"}),
    ];
    // One pattern with a hundred thousand alternatives, and a hundred thousand objects.
    let many: Vec<String> =
        (0..100_000).map(|i| format!("'10.{}.{}.{}'", i >> 16, (i >> 8) & 255, i & 255)).collect();
    objects.push(indicator(
        "indicator--c0ffee00-0000-4000-8000-000000000004",
        &format!("[ipv4-addr:value IN ({})]", many.join(", ")),
    ));
    for i in 0..100_000 {
        objects.push(serde_json::json!({"type": "note", "id": format!("note--{i}"), "object_refs": ["note--0"]}));
    }
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--c0ffee00-0000-4000-8000-000000000005", "objects": objects});
    let feed = dir.path().join("bundle.json");
    std::fs::write(&feed, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("conn.log"), format!("{CONN_HEADER}{}\n", good("Cioc", 1))).unwrap();
    let out = lasthop_within(
        &["hunt", logs.to_str().unwrap(), "--ioc-file", feed.to_str().unwrap(), "--format", "json"],
        LIMIT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let findings: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["detector"] == "ioc-match"
                && f["entities"]["remote"]["address"] == "45.63.1.9"),
        "{findings:#?}"
    );
    assert!(peak_child_mib() < 800, "peak {} MiB", peak_child_mib());
}

/// Every file under `dir`, relative to `root`.
fn files_under(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// What a store holds, independent of file names: every table's rows in a fixed order, and the
/// sources its manifest committed.
fn store_content(store: &Path) -> String {
    let mut content = String::new();
    for table in ["conn", "dns"] {
        content.push_str(&sql_csv(store, &format!("SELECT * FROM {table} ORDER BY uid, ts")));
    }
    let manifest = std::fs::read_to_string(store.join("manifest.jsonl")).unwrap_or_default();
    let mut sources: Vec<String> = manifest
        .lines()
        .map(|l| {
            let commit: serde_json::Value =
                serde_json::from_str(l).expect("no torn or corrupt line");
            format!("{} {}", commit["source"]["path"], commit["records"])
        })
        .collect();
    sources.sort();
    content + &sources.join("\n")
}

#[test]
fn an_import_killed_at_random_points_leaves_the_store_an_uninterrupted_import_makes() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Eight hourly files and a rotated gzip copy of one of them (the same records twice).
    for hour in 0..8u64 {
        let mut text = CONN_HEADER.to_string();
        for i in 0..3000 {
            text.push_str(&good(&format!("C{hour}x{i:05}"), hour * 3600 + i));
            text.push('\n');
        }
        let name = format!("conn.{hour:02}:00:00-{:02}:00:00.log", hour + 1);
        std::fs::write(logs.join(&name), &text).unwrap();
        if hour == 3 {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            std::fs::write(logs.join(format!("{name}.gz")), gz.finish().unwrap()).unwrap();
        }
    }
    let spawn_import = |store: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lasthop"))
            .args(["import", logs.to_str().unwrap(), "--store", store.to_str().unwrap()])
            .args(["--threads", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let reference = dir.path().join("reference");
    assert!(spawn_import(&reference).wait().unwrap().success());
    let expected = store_content(&reference);
    // Kill points span the fastest of three fresh imports: the first run pays for a cold page
    // cache, and points past the end of an import interrupt nothing.
    let full_run = (0..3)
        .map(|i| {
            let store = dir.path().join(format!("timed{i}"));
            let started = std::time::Instant::now();
            assert!(spawn_import(&store).wait().unwrap().success());
            started.elapsed()
        })
        .min()
        .unwrap();
    assert!(expected.lines().count() > 8 * 3000, "the reference holds every record");

    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
            | 1;
    eprintln!("kill points seeded with {seed}, full import {full_run:?}");
    let mut next_kill_point = || {
        // xorshift: a point anywhere in a full run's length.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        full_run.mul_f64((seed % 1000) as f64 / 1000.0)
    };
    // How many kills land inside an import depends on the machine's load (a concurrent test can
    // halve or double an import's length), so runs go on until enough have, within a cap.
    let mut interrupted = 0;
    let mut killed = PathBuf::new();
    let mut runs = 0;
    while (runs < 20 || interrupted < 15) && runs < 80 {
        let run = runs;
        runs += 1;
        // Each run on a fresh store: killed once, re-run and killed again, then finished.
        killed = dir.path().join(format!("killed{run}"));
        for _ in 0..2 {
            let mut child = spawn_import(&killed);
            std::thread::sleep(next_kill_point());
            if child.try_wait().unwrap().is_none() {
                interrupted += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
        assert!(spawn_import(&killed).wait().unwrap().success());
        assert_eq!(store_content(&killed), expected, "run {run}");
    }
    eprintln!("{interrupted} of {} kills landed while the import ran", 2 * runs);
    assert!(interrupted >= 15, "too few kills interrupted an import: {interrupted}");
    // Nothing half-written is left: no temporary parts, no part the manifest does not name.
    assert_eq!(files_under(&killed, &killed.join("tmp")), Vec::<String>::new());
    let manifest = std::fs::read_to_string(killed.join("manifest.jsonl")).unwrap();
    let mut named: Vec<String> = manifest
        .lines()
        .flat_map(|l| {
            let commit: serde_json::Value = serde_json::from_str(l).unwrap();
            commit["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["file"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    named.sort();
    assert_eq!(files_under(&killed, &killed.join("data")), named);
}

#[test]
fn records_with_thousands_of_fields_or_set_items_are_cut_to_the_limits_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut conn = serde_json::json!({"_path": "conn", "ts": 1717372800.5, "uid": "Cwide",
        "id.orig_h": "10.0.0.5", "id.orig_p": 40000, "id.resp_h": "45.63.1.9", "id.resp_p": 443,
        "proto": "tcp"});
    for i in 0..5000 {
        conn[format!("custom_{i}")] = serde_json::json!(i);
    }
    let answers: Vec<String> =
        (0..20_000).map(|i| format!("10.{}.{}.1", i >> 8, i & 255)).collect();
    let dns = serde_json::json!({"_path": "dns", "ts": 1717372801.5, "uid": "Cdeep",
        "id.orig_h": "10.0.0.5", "id.orig_p": 40001, "id.resp_h": "10.0.0.53", "id.resp_p": 53,
        "proto": "udp", "query": "x.example", "answers": answers});
    std::fs::write(logs.join("mixed.log"), format!("{conn}\n{dns}\n")).unwrap();
    let count = |store: &Path, sql: &str| {
        sql_csv(store, sql).lines().nth(1).unwrap_or_default().to_string()
    };
    let extras = "SELECT array_length(map_keys(_extra)) FROM conn";
    let items = "SELECT array_length(answers) FROM dns";
    // Defaults: 1,024 extra fields and 10,000 set items.
    let (out, store) = import(dir.path(), &logs, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("mixed.log:1: over a record limit") && err.contains("5000 extra fields"),
        "{err}"
    );
    assert!(
        err.contains("mixed.log:2: over a record limit") && err.contains("20000 set items"),
        "{err}"
    );
    assert_eq!((count(&store, extras), count(&store, items)), ("1024".into(), "10000".into()));
    // The flags move them.
    let narrow = dir.path().join("narrow");
    std::fs::create_dir(&narrow).unwrap();
    let (out, store) = import(&narrow, &logs, &["--max-fields", "2", "--max-set-items", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((count(&store, extras), count(&store, items)), ("2".into(), "3".into()));
}

/// A tmpfs of `size` mounted at `at`, unmounted when dropped; `None` where this test may not
/// mount (not root, or a container without the capability).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", at.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), self.0.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_during_import_or_spilling_is_a_clear_error_and_the_store_stays_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "512k") else {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Six hourly files of distinct, poorly compressible records: about 0.9 MB of store (1.1 MB
    // before counts were delta-packed), well past the disk's 512 KiB.
    for hour in 0..6u64 {
        let mut text = CONN_HEADER.to_string();
        for i in 0..6000u64 {
            let n = (hour * 6000 + i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            text.push_str(&format!(
                "{}.{:06}\tC{n:016x}\t10.{}.{}.{}\t{}\t45.{}.{}.9\t443\ttcp\tssl\t{}.5\t{}\t{}\tSF\t-\n",
                1_717_372_800 + hour * 3600 + i % 3600,
                n % 1_000_000,
                n >> 56,
                (n >> 48) & 255,
                (n >> 40) & 255,
                1024 + (n >> 20) % 60000,
                (n >> 12) & 255,
                (n >> 4) & 255,
                n % 97,
                n % 100_003,
                n % 1_000_033
            ));
        }
        std::fs::write(logs.join(format!("conn.{hour:02}:00:00-{:02}:00:00.log", hour + 1)), text)
            .unwrap();
    }
    let reference = dir.path().join("reference");
    let out = lasthop(&["import", logs.to_str().unwrap(), "--store", reference.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = disk.0.join("store");
    let full = lasthop_within(
        &["import", logs.to_str().unwrap(), "--store", store.to_str().unwrap()],
        LIMIT,
    );
    let err = stderr(&full);
    assert!(!full.status.success(), "a full disk is not success: {err}");
    assert!(err.contains("No space left on device") && err.contains("the disk is full"), "{err}");
    assert_eq!(err.matches("No space left").count(), 1, "said once: {err}");
    // What was committed reads whole: each committed file's records, nothing half-written.
    let content = store_content(&store);
    let committed = std::fs::read_to_string(store.join("manifest.jsonl")).unwrap_or_default();
    assert!(content.lines().count() < store_content(&reference).lines().count());
    for line in committed.lines() {
        let commit: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(commit["records"], 6000, "{commit}");
    }
    // Room again: the re-run completes the store to what an uninterrupted import makes.
    disk.grow("64m");
    let again = lasthop(&["import", logs.to_str().unwrap(), "--store", store.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(store_content(&store), store_content(&reference));

    // Spilling onto a full disk: a clear error, and the store as it was.
    let spill = dir.path().join("spill");
    let Some(_spill_disk) = SmallDisk::mount(&spill, "64k") else { return };
    let before = store_content(&reference);
    let hunt = lasthop_within(
        &[
            "hunt",
            "--store",
            reference.to_str().unwrap(),
            "--query-memory",
            "16M",
            "--spill-dir",
            spill.to_str().unwrap(),
        ],
        LIMIT,
    );
    let err = stderr(&hunt);
    if hunt.status.success() {
        eprintln!("the hunt fitted in 16M without spilling; nothing to show: {err}");
    } else {
        // Each detector that needed to spill says so once, and what could not run is counted.
        for line in err.lines().filter(|l| l.contains("No space left")) {
            assert!(line.contains("the disk is full"), "{line}");
            assert_eq!(line.matches("No space left").count(), 1, "said once: {line}");
        }
        assert!(err.contains("No space left") && err.contains("detector(s) failed"), "{err}");
    }
    assert_eq!(store_content(&reference), before);
}
