//! Reading and importing every real Zeek sample in `../shared/data/zeek/`. Each test skips, with
//! a message, when that folder is absent (a clone on its own).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt16Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use lasthop_normalise::{LogType, cell_to_json, columns};
use lasthop_sources::{Diagnostics, ReadOptions, Reason, find_files, open_decompressed, read_file};

fn shared_zeek() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/zeek");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent; the real-data tests need ../shared/data", dir.display());
        None
    }
}

fn read_all(path: &Path) -> (Vec<(LogType, RecordBatch)>, lasthop_sources::FileSummary) {
    let mut batches = Vec::new();
    let summary = read_file(
        path,
        &ReadOptions { threads: 2, chunk_bytes: 64 << 10, ..ReadOptions::default() },
        |t, b| {
            batches.push((t, b));
            Ok::<(), ()>(())
        },
    )
    .unwrap();
    (batches, summary)
}

/// Data lines of a file as a person would count them: not blank, not a `#` header.
fn data_lines(path: &Path) -> u64 {
    let reader = BufReader::new(open_decompressed(path).unwrap());
    reader
        .split(b'\n')
        .map_while(Result::ok)
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace) && !l.starts_with(b"#"))
        .count() as u64
}

#[test]
fn every_sample_is_read_and_every_line_accounted_for() {
    let Some(dir) = shared_zeek() else { return };
    let mut d = Diagnostics::default();
    let files = find_files(&[dir], &mut d);
    assert!(files.len() > 1000, "expected the full sample set, found {} files", files.len());
    let mut stored = 0u64;
    let mut by_type: BTreeMap<LogType, u64> = BTreeMap::new();
    for file in &files {
        let (_, summary) = read_all(file);
        let diag = &summary.diagnostics;
        if diag.total(Reason::UnrecognisedFormat) > 0 {
            continue;
        }
        let lost: u64 = diag.counts.iter().filter(|(r, _)| r.drops_record()).map(|(_, n)| n).sum();
        assert_eq!(
            summary.records + lost,
            data_lines(file),
            "{}: records {} + skipped {lost} must equal the data lines; {:?}",
            file.display(),
            summary.records,
            diag.samples
        );
        stored += summary.records;
        for (t, n) in summary.records_by_type {
            *by_type.entry(t).or_insert(0) += n;
        }
    }
    for t in [
        LogType::Conn,
        LogType::Dns,
        LogType::Http,
        LogType::Ssl,
        LogType::X509,
        LogType::Files,
        LogType::OpenConn,
        LogType::Ssh,
    ] {
        assert!(
            by_type.get(&t).copied().unwrap_or(0) > 0,
            "no {t} records in the samples: {by_type:?}"
        );
    }
    assert!(stored > 100_000, "{stored}");
}

/// A table as sorted rows of typed values, without the bookkeeping columns (source file, line,
/// extra fields) that legitimately differ between the TSV and JSON writers.
fn canonical_rows(
    batches: &[(LogType, RecordBatch)],
    log_type: LogType,
) -> Vec<(u64, Vec<String>)> {
    let typed = columns(log_type).len();
    let mut rows = Vec::new();
    for (t, b) in batches.iter().filter(|(t, _)| *t == log_type) {
        assert_eq!(*t, log_type);
        let keys = b.column_by_name("_key").unwrap().as_primitive::<UInt64Type>();
        for r in 0..b.num_rows() {
            let values = (0..typed)
                .map(|c| match cell_to_json(b.column(c), r) {
                    // RITA's JSON capture omits empty sets and strings that its TSV capture
                    // prints as (empty): the same absence, written two ways.
                    serde_json::Value::Array(items) if items.is_empty() => "null".to_string(),
                    serde_json::Value::String(s) if s.is_empty() => "null".to_string(),
                    // TSV writes intervals with 6 decimals, JSON with full precision.
                    serde_json::Value::Number(n) if n.is_f64() => {
                        format!("{:.6}", n.as_f64().unwrap())
                    }
                    serde_json::Value::Array(items) => format!(
                        "{:?}",
                        items
                            .iter()
                            .map(|i| i.as_f64().map(|f| format!("{f:.6}")).unwrap_or(i.to_string()))
                            .collect::<Vec<_>>()
                    ),
                    other => other.to_string(),
                })
                .collect();
            rows.push((keys.value(r), values));
        }
    }
    rows.sort();
    rows
}

#[test]
fn tsv_and_json_of_the_same_capture_give_identical_tables() {
    let Some(dir) = shared_zeek() else { return };
    let pairs = [
        ("brim/zeek-default/dns.log.gz", "brim/zeek-json/dns.json.gz", LogType::Dns),
        ("brim/zeek-default/ssl.log.gz", "brim/zeek-json/ssl.json.gz", LogType::Ssl),
        ("brim/zeek-default/x509.log.gz", "brim/zeek-json/x509.json.gz", LogType::X509),
        ("rita/valid_tsv/http.log.gz", "rita/valid_json/http.log.gz", LogType::Http),
    ];
    for (tsv, json, log_type) in pairs {
        let (tsv_batches, tsv_summary) = read_all(&dir.join(tsv));
        let (json_batches, json_summary) = read_all(&dir.join(json));
        assert_eq!(tsv_summary.records, data_lines(&dir.join(tsv)), "{tsv}");
        assert_eq!(json_summary.records, data_lines(&dir.join(json)), "{json}");
        let a = canonical_rows(&tsv_batches, log_type);
        let b = canonical_rows(&json_batches, log_type);
        assert_eq!(a.len(), b.len(), "{tsv} vs {json}");
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        let first = a.iter().zip(&b).find(|(x, y)| x != y).map(|(x, y)| {
            let col = x.1.iter().zip(&y.1).position(|(p, q)| p != q);
            (
                col.map(|c| columns(log_type)[c].name.clone()),
                col.map(|c| (x.1[c].clone(), y.1[c].clone())),
            )
        });
        assert_eq!(differing, 0, "{tsv} vs {json}: first difference {first:?}");
    }
}

#[test]
fn rotated_tree_imports_once_with_extra_columns_kept() {
    let Some(dir) = shared_zeek() else { return };
    let store = tempfile::tempdir().unwrap();
    let mut d = Diagnostics::default();
    let files = find_files(&[dir.join("rita/missing_host")], &mut d);
    let options = lasthop_store::ImportOptions::default();
    let report = lasthop_store::import(store.path(), &files, &options, &mut |_| {}).unwrap();
    assert_eq!(report.files_found, files.len());
    assert!(report.records_by_table["conn"] > 10_000, "{:?}", report.records_by_table);
    assert!(report.records_by_table.contains_key("open_conn"), "{:?}", report.records_by_table);
    assert!(report.diagnostics.skipped_types.contains_key("capture_loss"));
    // ssh.log is stored whole: the HASSH context reads it.
    let ssh_lines: u64 = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ssh.")))
        .map(|f| data_lines(f))
        .sum();
    assert!(ssh_lines > 1_000, "{ssh_lines}");
    assert_eq!(report.records_by_table.get("ssh"), Some(&ssh_lines));
    let opened = lasthop_store::Store::open(store.path()).unwrap();
    assert_eq!(opened.row_counts().values().sum::<u64>(), report.records);

    // `_node_name` of the conn logs lands in the extra map.
    let part = &opened.part_paths(LogType::Conn)[0];
    let batch = &read_part(part)[0];
    let extra = batch.column_by_name("_extra").unwrap();
    assert!(extra.null_count() < extra.len());
    assert!(cell_to_json(extra, 0).get("_node_name").is_some());

    let again = lasthop_store::import(store.path(), &files, &options, &mut |_| {}).unwrap();
    assert_eq!(again.files_already_imported, files.len());
    assert_eq!(again.records, 0);
}

/// What a killed import leaves behind — a renamed but uncommitted part, a partial file in `tmp/`,
/// a torn manifest line — is swept by the next import and never read.
#[test]
fn leftovers_of_a_killed_import_are_swept_and_never_read() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    let mut f = std::fs::File::create(&log).unwrap();
    writeln!(f, "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.resp_h").unwrap();
    for i in 0..100 {
        writeln!(f, "{}.0\tC{i}\t10.0.0.1\t10.0.0.2", 1_717_372_800 + i * 10).unwrap();
    }
    drop(f);
    let store = dir.path().join("store");
    let options = lasthop_store::ImportOptions::default();
    lasthop_store::import(&store, std::slice::from_ref(&log), &options, &mut |_| {}).unwrap();
    let committed = lasthop_store::Store::open(&store).unwrap().part_paths(LogType::Conn);
    assert_eq!(committed.len(), 1);
    let orphan = committed[0].with_file_name("conn-orphan.parquet");
    std::fs::copy(&committed[0], &orphan).unwrap();
    std::fs::write(store.join("tmp/conn-x.parquet.partial"), b"PAR1 half").unwrap();
    let mut manifest =
        std::fs::OpenOptions::new().append(true).open(store.join("manifest.jsonl")).unwrap();
    manifest.write_all(b"{\"source\":{\"path\":\"torn").unwrap();
    drop(manifest);

    // Readers follow the manifest: the orphan is not part of the table.
    let opened = lasthop_store::Store::open(&store).unwrap();
    assert_eq!(opened.part_paths(LogType::Conn), committed);
    assert_eq!(opened.row_counts()["conn"], 100);

    // The next import sweeps the leftovers; the same records under another name are duplicates.
    let copy = dir.path().join("conn.00:00:00-01:00:00.log");
    std::fs::copy(&log, &copy).unwrap();
    std::fs::write(
        &copy,
        std::fs::read_to_string(&log).unwrap() + "1717373800.0\tCnew\t10.0.0.1\t10.0.0.2\n",
    )
    .unwrap();
    let report = lasthop_store::import(&store, &[log, copy], &options, &mut |_| {}).unwrap();
    assert_eq!(report.files_already_imported, 1);
    assert_eq!((report.records, report.duplicates), (1, 100));
    assert!(!orphan.exists());
    assert_eq!(std::fs::read_dir(store.join("tmp")).unwrap().count(), 0);
    let opened = lasthop_store::Store::open(&store).unwrap();
    assert_eq!(opened.row_counts()["conn"], 101);
    assert_eq!(opened.manifest().commits.len(), 2);
}

/// A conn log of `days` days from 2024-06-03 + `first_day`, `per_day` records a day.
fn daily_conn_log(path: &Path, first_day: u64, days: u64, per_day: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    writeln!(f, "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.resp_h").unwrap();
    for day in first_day..first_day + days {
        for i in 0..per_day {
            let ts = 1_717_372_800 + day * 86_400 + i * 60;
            writeln!(f, "{ts}.0\tC{day}x{i}\t10.0.0.1\t192.0.2.7").unwrap();
        }
    }
}

#[test]
fn retention_drops_old_days_and_hourly_imports_add_only_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let store = dir.path().join("store");
    let options = lasthop_store::ImportOptions::default();
    let import = |paths: &[PathBuf]| {
        let mut d = Diagnostics::default();
        let files = find_files(paths, &mut d);
        lasthop_store::import(&store, &files, &options, &mut |_| {}).unwrap()
    };
    daily_conn_log(&logs.join("conn.week1.log"), 0, 5, 10);
    let first = import(std::slice::from_ref(&logs));
    assert_eq!((first.files_imported, first.records), (1, 50));
    let parts = lasthop_store::Store::open(&store).unwrap().part_paths(LogType::Conn);
    assert_eq!(parts.len(), 5, "one part per day");

    // Keep three days, counted back from the latest record (2024-06-07).
    let dropped = lasthop_store::apply_retention(&store, 3).unwrap();
    assert_eq!(dropped.first_day_kept.as_deref(), Some("2024-06-05"));
    assert_eq!((dropped.parts_dropped, dropped.rows_dropped), (2, 20));
    let opened = lasthop_store::Store::open(&store).unwrap();
    assert_eq!(opened.row_counts()["conn"], 30);
    let kept = opened.part_paths(LogType::Conn);
    for p in &parts {
        assert_eq!(p.exists(), kept.contains(p), "{}: only dropped parts are deleted", p.display());
    }
    assert!(opened.manifest().parts().all(|p| p.day.as_str() >= "2024-06-05"));

    // The next hour's run over the growing folder: the old file is in the ledger (its dropped
    // days do not come back), only the new file is read.
    daily_conn_log(&logs.join("conn.week2.log"), 5, 1, 10);
    let next = import(std::slice::from_ref(&logs));
    assert_eq!((next.files_imported, next.files_already_imported, next.records), (1, 1, 10));
    assert_eq!(lasthop_store::Store::open(&store).unwrap().row_counts()["conn"], 40);
    // Retention again moves the window with the data; running it twice changes nothing more.
    assert_eq!(lasthop_store::apply_retention(&store, 3).unwrap().parts_dropped, 1);
    assert_eq!(lasthop_store::apply_retention(&store, 3).unwrap().parts_dropped, 0);
    assert_eq!(lasthop_store::Store::open(&store).unwrap().row_counts()["conn"], 30);
}

/// Each column is stored in the encoding chosen for its kind of values, and reads back as
/// written: identifiers with their lengths packed apart, counts, times and source ports as
/// deltas, repeating text in a dictionary.
#[test]
fn columns_are_stored_in_their_chosen_encodings_and_read_back_intact() {
    use parquet::basic::{Compression, Encoding};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    let mut text = String::from(
        "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t\
         proto\torig_bytes\tcommunity_id\n",
    );
    let uid = |i: u64| format!("C{:017x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 4);
    let port = |i: u64| 49_152 + (i * 3 % 16_000) as u16;
    for i in 0..3000u64 {
        let proto = ["tcp", "udp"][i as usize % 2];
        text += &format!(
            "{}.{:06}\t{}\t10.0.0.{}\t{}\t192.0.2.7\t{proto}\t{}\t1:{}=\n",
            1_717_372_800 + i,
            i % 1_000_000,
            uid(i),
            i % 50,
            port(i),
            i * 7 % 1000,
            uid(i + 1)
        );
    }
    std::fs::write(&log, text).unwrap();
    let store = dir.path().join("store");
    let options = lasthop_store::ImportOptions::default();
    let report = lasthop_store::import(&store, &[log], &options, &mut |_| {}).unwrap();
    assert_eq!(report.records, 3000);

    let parts = lasthop_store::Store::open(&store).unwrap().part_paths(LogType::Conn);
    let reader = SerializedFileReader::new(std::fs::File::open(&parts[0]).unwrap()).unwrap();
    let group = reader.metadata().row_group(0);
    let column = |name: &str| {
        group.columns().iter().find(|c| c.column_path().string() == name).unwrap().clone()
    };
    let encodings = |name: &str| {
        let column = column(name);
        (column.encodings().collect::<Vec<_>>(), column.dictionary_page_offset().is_some())
    };
    for id in ["uid", "community_id"] {
        let (used, dictionary) = encodings(id);
        assert!(used.contains(&Encoding::DELTA_LENGTH_BYTE_ARRAY) && !dictionary, "{id}: {used:?}");
        assert!(matches!(column(id).compression(), Compression::ZSTD(_)), "{id}");
    }
    // Delta-packed columns skip zstd, which could not make them smaller.
    for delta in ["ts", "orig_bytes", "_line"] {
        assert!(encodings(delta).0.contains(&Encoding::DELTA_BINARY_PACKED), "{delta}");
        assert_eq!(column(delta).compression(), Compression::UNCOMPRESSED, "{delta}");
    }
    // Source ports are deltas too, without a dictionary to hash every value into.
    let (src_port, dictionary) = encodings("src_port");
    assert!(src_port.contains(&Encoding::DELTA_BINARY_PACKED) && !dictionary, "{src_port:?}");
    // Repeating text and addresses are dictionary-encoded.
    for repeating in ["proto", "src", "dst"] {
        let (used, dictionary) = encodings(repeating);
        assert!(used.contains(&Encoding::RLE_DICTIONARY) && dictionary, "{repeating}: {used:?}");
    }

    let batches = read_part(&parts[0]);
    let uids: Vec<String> = batches
        .iter()
        .flat_map(|b| b.column_by_name("uid").unwrap().as_string::<i32>().iter())
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(uids, (0..3000).map(uid).collect::<Vec<_>>());
    let ids: Vec<String> = batches
        .iter()
        .flat_map(|b| b.column_by_name("community_id").unwrap().as_string::<i32>().iter())
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(ids, (0..3000).map(|i| format!("1:{}=", uid(i + 1))).collect::<Vec<_>>());
    let ports: Vec<u16> = batches
        .iter()
        .flat_map(|b| {
            let ports = b.column_by_name("src_port").unwrap();
            ports.as_primitive::<UInt16Type>().values().to_vec()
        })
        .collect();
    assert_eq!(ports, (0..3000).map(port).collect::<Vec<_>>());
    let sources: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let src = b.column_by_name("src").unwrap().clone();
            (0..src.len()).map(move |row| cell_to_json(&src, row).to_string())
        })
        .collect();
    assert_eq!(sources, (0..3000).map(|i| format!("\"10.0.0.{}\"", i % 50)).collect::<Vec<_>>());
}

fn read_part(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Files without a header take their log type from their name, so the same bytes under another
/// log name are other records (RITA's `json_with_all_fields` keeps `ORIGINALdns.log` beside
/// `dns.log`), while a rotated copy under the same log name is still recognised as imported.
#[test]
fn the_same_bytes_under_another_log_name_are_imported() {
    let logs = tempfile::tempdir().unwrap();
    let line = r#"{"ts":1700000000.5,"uid":"Cdns1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":"example.com"}"#;
    let text = format!("{line}\n{}\n", line.replace("Cdns1", "Cdns2"));
    for name in ["ORIGINALdns.log", "dns.log", "dns.2023-11-14-22-13-20.log"] {
        std::fs::write(logs.path().join(name), &text).unwrap();
    }
    let store = tempfile::tempdir().unwrap();
    let files = find_files(&[logs.path().to_path_buf()], &mut Diagnostics::default());
    assert_eq!(files.len(), 3);
    let options = lasthop_store::ImportOptions::default();
    let report = lasthop_store::import(store.path(), &files, &options, &mut |_| {}).unwrap();
    assert_eq!(report.records_by_table.get("dns"), Some(&2), "{:?}", report.records_by_table);
    assert_eq!(report.files_already_imported, 1);
    assert_eq!(report.diagnostics.skipped_types.get("ORIGINALdns"), Some(&2));
}

/// Parts written by lasthop's parallel writer and by parquet's `ArrowWriter`, read back by an
/// independent reader (pyarrow): the same part files, schemas and rows, every row of each found
/// in the other. Skips without pyarrow, except in CI (`CI` set), where it must run.
#[test]
fn both_part_writers_give_an_independent_reader_the_same_rows() {
    let has_pyarrow = std::process::Command::new("python3")
        .args(["-c", "import pyarrow.parquet"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyarrow {
        assert!(std::env::var_os("CI").is_none(), "CI must have pyarrow (pip install pyarrow)");
        eprintln!("skipping: pyarrow not installed (pip install pyarrow)");
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let config = lasthop_demo::DemoConfig { hosts: 30, days: 2, ..Default::default() };
    lasthop_demo::generate(logs.path(), &config).unwrap();
    let mut inputs = vec![logs.path().to_path_buf()];
    inputs.extend(shared_zeek().map(|z| z.join("rita/dnscat2-ja3-strobe-agent")));
    let stores = tempfile::tempdir().unwrap();
    for (name, encoder) in [
        ("lasthop", lasthop_store::PartEncoder::Lasthop),
        ("arrow", lasthop_store::PartEncoder::Arrow),
    ] {
        let mut diagnostics = Diagnostics::default();
        let files = find_files(&inputs, &mut diagnostics);
        let options = lasthop_store::ImportOptions { encoder, ..Default::default() };
        lasthop_store::import(&stores.path().join(name), &files, &options, &mut |_| {}).unwrap();
    }
    let script = r#"
import collections, pathlib, sys
import pyarrow.parquet as pq
a, b = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
parts_a = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
parts_b = sorted(p.relative_to(b) for p in b.rglob("*.parquet"))
assert parts_a == parts_b, f"different part files: {set(parts_a) ^ set(parts_b)}"
rows = 0
for part in parts_a:
    ta, tb = pq.read_table(a / part), pq.read_table(b / part)
    assert ta.schema.equals(tb.schema, check_metadata=False), f"{part}: schemas differ"
    ra = collections.Counter(repr(r) for r in ta.to_pylist())
    rb = collections.Counter(repr(r) for r in tb.to_pylist())
    assert not ra - rb, f"{part}: {sum((ra - rb).values())} rows only in the first"
    assert not rb - ra, f"{part}: {sum((rb - ra).values())} rows only in the second"
    rows += ta.num_rows
print(f"{len(parts_a)} parts, {rows} rows, the same in both")
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(stores.path().join("lasthop"))
        .arg(stores.path().join("arrow"))
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    eprintln!("{stdout}");
    let parts: usize = stdout.split(' ').next().unwrap().parse().unwrap();
    assert!(parts >= 5, "{stdout}");
}
