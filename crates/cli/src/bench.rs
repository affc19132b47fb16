//! The hidden `bench-*` commands: data and intermediate results for the benchmarks in
//! `scripts/bench/`. Built with the `bench` feature only, so that the shipped binary carries no
//! benchmark generator.

use std::io::Write;

use anyhow::Context;
use lasthop_detect::sigma::{Kind, RuleSet, Source, slot_text};
use lasthop_normalise::LogType;
use lasthop_query::SessionOptions;
use lasthop_sources::{Diagnostics, ReadOptions};

use crate::commands::{query_over, usage};
use crate::{BenchDataArgs, BenchGapStatsArgs, Exit, Failure, OrExit};

pub fn bench_quality_data(args: crate::BenchQualityDataArgs) -> Result<Exit, Failure> {
    use lasthop_demo::quality::{self, BeaconPlant, QualityConfig};
    if args.beacon_period.is_some_and(|p| !(1.0..=604_800.0).contains(&p)) {
        return Err(usage("--beacon-period: between 1 and 604800 seconds".into()));
    }
    if !(0.0..=0.95).contains(&args.beacon_jitter) || !(1..=5).contains(&args.beacon_hosts) {
        return Err(usage("--beacon-jitter: 0 to 0.95; --beacon-hosts: 1 to 5".into()));
    }
    if args.hosts < 6 || args.days == 0 || !(0.0..=1.0).contains(&args.shared_share) {
        return Err(usage(
            "--hosts: at least 6; --days: at least 1; --shared-share: 0 to 1".into(),
        ));
    }
    let config = QualityConfig {
        seed: args.seed,
        hosts: args.hosts,
        days: args.days,
        background_conns_per_host_per_day: args.background,
        beacon: args.beacon_period.map(|period_s| BeaconPlant {
            period_s,
            jitter: args.beacon_jitter,
            offset_days: args.beacon_offset_days,
            span_days: args.beacon_span_days,
            hosts: args.beacon_hosts,
        }),
        shared_share: args.shared_share,
        low_and_slow_per_day: args.low_and_slow,
        scanners: args.scanners,
        ..Default::default()
    };
    let summary = quality::generate(&args.out.join("logs"), &config).or_exit(Exit::StoreError)?;
    let pair = |p: &quality::PlantedPair| {
        serde_json::json!({"kind": p.kind, "sources": p.sources, "targets": p.targets,
                           "contacts": p.contacts})
    };
    let planted = serde_json::json!({
        "planted": summary.planted.iter().map(pair).collect::<Vec<_>>(),
        "benign": summary.benign.iter().map(pair).collect::<Vec<_>>(),
        "files": summary.files.len(),
    });
    std::fs::write(args.out.join("planted.json"), planted.to_string())
        .with_context(|| format!("writing {}", args.out.join("planted.json").display()))
        .or_exit(Exit::StoreError)?;
    Ok(Exit::Success)
}

pub fn bench_gap_stats(args: BenchGapStatsArgs) -> Result<Exit, Failure> {
    let rows = query_over(&args.over, &SessionOptions::default(), async |ctx| {
        lasthop_detect::scoring::gaps::gap_statistics(&ctx, 86_400).await
    })?;
    let mut out = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))
        .or_exit(Exit::StoreError)?;
    // A million rows of four floats each took a single core a third of a second at the end of
    // the run: the rows are formatted in pieces on every core, floats by ryu.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pieces: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let workers: Vec<_> = rows
            .chunks(rows.len().div_ceil(threads).max(1))
            .map(|rows| scope.spawn(move || gap_statistics_csv(rows)))
            .collect();
        workers.into_iter().map(|w| w.join().expect("formatting does not panic")).collect()
    });
    let mut write = || -> std::io::Result<()> {
        out.write_all(b"src,dst,gaps,q1,median,q3,mad\n")?;
        pieces.iter().try_for_each(|piece| out.write_all(piece))
    };
    write().or_exit(Exit::StoreError)?;
    eprintln!("{} pairs", rows.len());
    Ok(Exit::Success)
}

/// `bench-gap-stats` rows as CSV lines.
fn gap_statistics_csv(
    rows: &[(String, String, usize, lasthop_detect::scoring::stats::Spread)],
) -> Vec<u8> {
    let mut text = Vec::with_capacity(rows.len() * 80);
    let mut float = ryu::Buffer::new();
    for (src, dst, n, s) in rows {
        let _ = write!(text, "{src},{dst},{n}");
        for x in [s.q1, s.median, s.q3, s.mad] {
            text.push(b',');
            text.extend_from_slice(float.format(x).as_bytes());
        }
        text.push(b'\n');
    }
    text
}

pub fn bench_data(args: BenchDataArgs) -> Result<Exit, Failure> {
    let bytes = if args.web {
        write_web_log(&args).or_exit(Exit::StoreError)?
    } else {
        lasthop_demo::generate_conn_log(&args.out, args.records, args.seed, args.gzip)
            .or_exit(Exit::StoreError)?
    };
    eprintln!(
        "wrote {} records ({} bytes uncompressed) to {}",
        args.records,
        bytes,
        args.out.display()
    );
    Ok(Exit::Success)
}

/// The attack fixture mixed into `records` benign access-log lines; the attack line numbers go
/// beside it (`FILE.attacks`).
fn write_web_log(args: &BenchDataArgs) -> std::io::Result<u64> {
    let (lines, attacks) = lasthop_demo::web::mixed_access_log(args.records as usize, args.seed);
    let mut text = lines.join("\n");
    text.push('\n');
    let bytes = text.len() as u64;
    if args.gzip {
        let file = std::fs::File::create(&args.out)?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(text.as_bytes())?;
        gz.finish()?;
    } else {
        std::fs::write(&args.out, text)?;
    }
    let numbers: Vec<String> = attacks.iter().map(|n| n.to_string()).collect();
    let mut listing = args.out.clone().into_os_string();
    listing.push(".attacks");
    std::fs::write(listing, numbers.join("\n") + "\n")?;
    Ok(bytes)
}

/// Writes the events and rules of `lasthop bench-sigma-events`.
pub fn bench_sigma_events(args: crate::BenchSigmaEventsArgs) -> Result<Exit, Failure> {
    let mut rules = String::new();
    for bundle in std::iter::once(lasthop_detect::sigma::BUNDLED_SIGMAHQ)
        .chain(lasthop_detect::sigma::BUNDLED_LASTHOP)
    {
        for doc in bundle.split("\n---\n") {
            let mut one = RuleSet::default();
            one.add_yaml("bench", doc);
            if one.rules.iter().any(|r| r.table == "web") {
                rules.push_str(doc.trim_end());
                rules.push_str("\n---\n");
            }
        }
    }
    std::fs::write(&args.rules_out, rules.trim_end_matches("---\n")).or_exit(Exit::StoreError)?;
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(&args.out).or_exit(Exit::StoreError)?);
    let mut diagnostics = Diagnostics::default();
    let mut events = 0u64;
    for file in lasthop_sources::find_files(&args.paths, &mut diagnostics) {
        let summary =
            lasthop_sources::read_file(&file, &ReadOptions::default(), |log_type, batch| {
                if log_type != LogType::Web {
                    return Ok(());
                }
                let lines = slot_text(&batch, Source::Column("_line"), Kind::Number);
                for (row, mut event) in
                    lasthop_detect::sigma::json_events(lasthop_detect::sigma::WEB, &batch)
                        .into_iter()
                        .enumerate()
                {
                    if let Some(map) = event.as_object_mut() {
                        map.insert(
                            "_line".into(),
                            lines.value(row).parse::<u64>().unwrap_or(0).into(),
                        );
                    }
                    serde_json::to_writer(&mut out, &event).map_err(std::io::Error::from)?;
                    out.write_all(b"\n")?;
                    events += 1;
                }
                Ok::<(), std::io::Error>(())
            });
        summary.or_exit(Exit::StoreError)?;
    }
    out.flush().or_exit(Exit::StoreError)?;
    eprintln!("wrote {events} events to {}", args.out.display());
    Ok(Exit::Success)
}
