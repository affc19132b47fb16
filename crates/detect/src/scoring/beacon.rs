//! lasthop's beacon scorer: how much a series of contacts between two endpoints looks like an
//! implant calling home.
//!
//! RITA's score (see [`super::rita`]) looks at one 24-hour window and at the dispersion of gaps.
//! The implants of the advisory defeat both: they jitter their sleep by half the period or more,
//! call home a few times a day for weeks, and keep office hours. This scorer therefore judges
//! each pair over its own life, from its first contact to its last, whatever window is hunted,
//! and combines:
//!
//! - **gap regularity**: the median absolute deviation of the gaps relative to their median, and
//!   their Bowley skew (robust: one huge gap, the laptop asleep overnight, moves neither);
//! - **periodicity of binned counts**: contacts counted in bins one period wide are as even as a
//!   clock's when a beacon runs, even a heavily jittered one (index of dispersion var/mean: ≈0
//!   for a clock, ≈j²/3 for sleep jittered by ±j, 1 for random Poisson traffic, ≫1 for people);
//! - **persistence**: how long the pair has lived (in proportion up to a day, 0.85 at a day, full
//!   marks from three days on a log scale) and how continuously (the share of the days of its own
//!   life with contact). A beacon that ran for three days scores the same in a 3-day and a 90-day
//!   window: the window it is hunted in says nothing about the implant;
//! - **size regularity**: the dispersion of bytes sent per connection.
//!
//! When nearly all contacts fall inside the site's working hours, the same measures are also
//! taken on a working-hours clock (nights and weekends removed) and the better reading is kept,
//! so that an implant that sleeps outside office hours is not penalised for its nights.
//!
//! Score = timing × persistence × (0.8 + 0.2 × size regularity) × confidence,
//! where timing is the better of gap regularity and periodicity and confidence grows from 0.75
//! at 6 contacts to 1 at 12: a handful of contacts says little.

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;

use super::stats::Spread;

pub const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// Fewest distinct contact seconds a series needs to be scored at all.
pub const MIN_CONTACTS: usize = 6;

/// Working days the pair's life needs before the working-hours clock is tried.
const MIN_WORKING_DAYS: usize = 3;

/// Share of contacts inside working hours above which the working-hours clock is tried.
const WORKING_HOURS_SHARE: f64 = 0.9;

/// Fewest contacts, and bins, for evenness to mean anything.
const EVENNESS_MIN: usize = 12;

/// MAD/median of the gaps at which gap regularity reaches 0: random (Poisson) traffic has ≈0.7.
const GAP_DISPERSION_ZERO: f64 = 0.7;

/// The site's working week, for beacons that keep office hours.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingHours {
    pub tz: Tz,
    /// Local start and end of the working day, in hours (end exclusive), e.g. 8 and 18.
    pub start_hour: u32,
    pub end_hour: u32,
    /// Working days, Monday = 0.
    pub weekdays: [bool; 7],
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            tz: Tz::UTC,
            start_hour: 8,
            end_hour: 18,
            weekdays: [true, true, true, true, true, false, false],
        }
    }
}

impl WorkingHours {
    /// Parses `08-18` (hours) for the working day.
    pub fn with_hours(mut self, spec: &str) -> Result<Self, String> {
        let (a, b) = spec
            .split_once('-')
            .ok_or_else(|| format!("working hours {spec:?}: expected START-END, e.g. 08-18"))?;
        let parse = |s: &str| {
            s.trim()
                .trim_end_matches(":00")
                .parse::<u32>()
                .ok()
                .filter(|h| *h <= 24)
                .ok_or_else(|| format!("working hours {spec:?}: {s:?} is not an hour 0-24"))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start >= end {
            return Err(format!("working hours {spec:?}: the day must end after it starts"));
        }
        self.start_hour = start;
        self.end_hour = end;
        Ok(self)
    }

    /// Parses working days: `mon-fri`, `sun-thu` (ranges wrap around the week), `mon,wed,fri`.
    pub fn with_workdays(mut self, spec: &str) -> Result<Self, String> {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let index = |d: &str| {
            let d = d.trim().to_ascii_lowercase();
            DAYS.iter()
                .position(|x| d.starts_with(x))
                .ok_or_else(|| format!("{d:?} is not a day (mon … sun)"))
        };
        let mut days = [false; 7];
        for part in spec.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (mut i, end) = (index(a)?, index(b)?);
                    loop {
                        days[i] = true;
                        if i == end {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => days[index(part)?] = true,
            }
        }
        self.weekdays = days;
        Ok(self)
    }

    fn is_working_day(&self, day: Weekday) -> bool {
        self.weekdays[day.num_days_from_monday() as usize]
    }

    /// Whether an instant (µs since the epoch) falls inside working hours.
    pub fn contains(&self, micros: i64) -> bool {
        let Some(local) = self.tz.timestamp_micros(micros).single() else {
            return false;
        };
        self.is_working_day(local.weekday())
            && local.hour() >= self.start_hour
            && local.hour() < self.end_hour
    }

    /// The working day of `date` as a UTC interval in µs, if `date` is a working day.
    fn day_interval(&self, date: NaiveDate) -> Option<(i64, i64)> {
        if !self.is_working_day(date.weekday()) {
            return None;
        }
        let at = |hour: u32| {
            let time = if hour == 24 {
                return date.succ_opt().and_then(|d| self.local_midnight(d));
            } else {
                NaiveTime::from_hms_opt(hour, 0, 0)?
            };
            self.tz
                .from_local_datetime(&date.and_time(time))
                .earliest()
                .map(|t| t.timestamp_micros())
        };
        Some((at(self.start_hour)?, at(self.end_hour)?))
    }

    fn local_midnight(&self, date: NaiveDate) -> Option<i64> {
        self.tz
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.timestamp_micros())
    }

    fn local_date(&self, micros: i64) -> Option<NaiveDate> {
        self.tz.timestamp_micros(micros).single().map(|t| t.date_naive())
    }

    /// Working seconds between two instants (µs, `a ≤ b`).
    pub fn working_seconds_between(&self, a: i64, b: i64) -> f64 {
        let (Some(mut date), Some(last)) = (self.local_date(a), self.local_date(b)) else {
            return 0.0;
        };
        let mut total = 0i64;
        while date <= last {
            if let Some((start, end)) = self.day_interval(date) {
                total += (end.min(b) - start.max(a)).max(0);
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total as f64 / MICROS_PER_SECOND
    }

    /// Working days in the window that have any working time inside it.
    fn working_days_in(&self, start: i64, end: i64) -> usize {
        let (Some(mut date), Some(last)) = (self.local_date(start), self.local_date(end)) else {
            return 0;
        };
        let mut days = 0;
        while date <= last {
            if let Some((s, e)) = self.day_interval(date)
                && e.min(end) > s.max(start)
            {
                days += 1;
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        days
    }
}

/// How a beacon score was reached; every part is shown to the analyst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeaconScore {
    pub score: f64,
    pub timing: f64,
    pub gap_regularity: f64,
    pub periodicity: f64,
    pub persistence: f64,
    pub size_regularity: f64,
    /// Median gap between contacts, seconds (on the clock used).
    pub period_s: f64,
    /// MAD of the gaps over their median: 0 for a clock, ≈j/2 for sleep jittered by ±j.
    pub jitter: f64,
    /// Distinct contact seconds.
    pub contacts: usize,
    /// Days (or working days) with contact, and in the pair's life from its first contact to
    /// its last.
    pub active_days: usize,
    pub life_days: usize,
    pub clock: Clock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Wall,
    WorkingHours,
}

impl Clock {
    pub fn name(self) -> &'static str {
        match self {
            Clock::Wall => "wall clock",
            Clock::WorkingHours => "working-hours clock",
        }
    }
}

/// Scores one series: contact times (µs, ascending) and bytes sent per connection. Returns
/// `None` below [`MIN_CONTACTS`] distinct seconds. The series is judged over its own span, so
/// the window it was hunted in does not move the score.
pub fn score(times: &[i64], bytes: &[u64], working: Option<&WorkingHours>) -> Option<BeaconScore> {
    let seconds = distinct_seconds(times);
    if seconds.len() < MIN_CONTACTS {
        return None;
    }
    let size_regularity = size_regularity(bytes);
    let wall_positions: Vec<f64> = seconds.iter().map(|s| *s as f64).collect();
    let (first, last) = (seconds[0] * 1_000_000, seconds[seconds.len() - 1] * 1_000_000);
    let life_days = day_count(first, last + 1);
    let active_days = distinct_days(&seconds, first).min(life_days);
    let wall =
        combine(&wall_positions, 86_400.0, active_days, life_days, size_regularity, Clock::Wall);
    let Some(working) = working else { return Some(wall) };
    let inside = times.iter().filter(|t| working.contains(**t)).count();
    if (inside as f64) < WORKING_HOURS_SHARE * times.len() as f64
        || working.working_days_in(first, last + 1) < MIN_WORKING_DAYS
    {
        return Some(wall);
    }
    // Positions on the working clock: working seconds elapsed since the first contact.
    let mut positions = Vec::with_capacity(seconds.len());
    let mut elapsed = 0.0;
    positions.push(elapsed);
    for pair in seconds.windows(2) {
        elapsed += working.working_seconds_between(pair[0] * 1_000_000, pair[1] * 1_000_000);
        positions.push(elapsed);
    }
    let mut days: Vec<NaiveDate> = seconds
        .iter()
        .filter(|s| working.contains(**s * 1_000_000))
        .filter_map(|s| working.local_date(*s * 1_000_000))
        .collect();
    days.dedup();
    // Office hours over one day are just a day: the clock needs a working week to compare.
    if days.len() < 2 {
        return Some(wall);
    }
    let working_days = working.working_days_in(first, last + 1).max(1);
    let working_day_s = f64::from(working.end_hour - working.start_hour) * 3_600.0;
    let office = combine(
        &positions,
        working_day_s,
        days.len().min(working_days),
        working_days,
        size_regularity,
        Clock::WorkingHours,
    );
    Some(if office.score > wall.score { office } else { wall })
}

/// Days a pair must live before its persistence counts in full.
const LIFE_FULL_DAYS: f64 = 3.0;

/// Scores positions on one clock, whose day is `day_s` seconds long (a working day on the
/// working-hours clock).
fn combine(
    positions: &[f64],
    day_s: f64,
    active_days: usize,
    life_days: usize,
    size_regularity: f64,
    clock: Clock,
) -> BeaconScore {
    let gaps: Vec<f64> = positions.windows(2).map(|p| p[1] - p[0]).collect();
    let spread = Spread::of(&gaps).expect("at least MIN_CONTACTS - 1 gaps");
    let jitter = if spread.median > 0.0 { spread.mad / spread.median } else { 1.0 };
    // Skew of a dozen gaps is noisy: it tempers the score rather than decides it.
    let gap_regularity =
        (1.0 - (jitter / GAP_DISPERSION_ZERO).min(1.0)) * (1.0 - 0.5 * spread.bowley_skew().abs());
    let periodicity = evenness(positions, spread.median);
    let timing = gap_regularity.max(periodicity);
    let span = positions.last().unwrap_or(&0.0) - positions.first().unwrap_or(&0.0);
    let persistence = persistence(span / day_s, active_days, life_days);
    let confidence = (0.5 + positions.len() as f64 / 24.0).min(1.0);
    let score = timing * persistence * (0.8 + 0.2 * size_regularity) * confidence;
    BeaconScore {
        score,
        timing,
        gap_regularity,
        periodicity,
        persistence,
        size_regularity,
        period_s: spread.median,
        jitter,
        contacts: positions.len(),
        active_days,
        life_days,
        clock,
    }
}

/// 0–1: how long the pair lived (`days`, on the clock used) and how continuously (days with
/// contact over the days of its life). A life under a day counts in proportion (a regular session of a few
/// hours is an application's, not an implant's lasting schedule): 0.85 at a day, rising on a
/// log scale to 1 at three days. Continuity weighs 0.6–1: two bursts weeks apart are not one
/// schedule.
pub fn persistence(days: f64, active_days: usize, life_days: usize) -> f64 {
    let days = days.max(0.0);
    let life = if days < 1.0 {
        0.85 * days
    } else {
        0.85 + 0.15 * (days.ln() / LIFE_FULL_DAYS.ln()).min(1.0)
    };
    let continuity = (active_days as f64 / life_days.max(1) as f64).clamp(0.0, 1.0);
    life * (0.6 + 0.4 * continuity)
}

/// 1 − the index of dispersion (variance over mean) of contact counts in bins one, two, four or eight
/// median gaps wide, the best of them that has at least twelve bins: a jittered sleep evens
/// out over a few periods (the index tends to the gaps' squared coefficient of variation),
/// random traffic stays at 1 and people's bursts above it.
fn evenness(positions: &[f64], period: f64) -> f64 {
    let (Some(first), Some(last)) = (positions.first(), positions.last()) else { return 0.0 };
    // With a dozen contacts or fewer, one per bin happens by chance.
    if period <= 0.0 || positions.len() < EVENNESS_MIN {
        return 0.0;
    }
    let mut best: f64 = 0.0;
    for periods_per_bin in [1.0, 2.0, 4.0, 8.0] {
        let width = period * periods_per_bin;
        let bins = ((last - first) / width).floor() as usize;
        // One contact per bin can happen by chance, several per bin on every bin cannot.
        let needed = if periods_per_bin == 1.0 { EVENNESS_MIN } else { EVENNESS_MIN / 2 };
        if bins < needed {
            break;
        }
        let mut counts = vec![0f64; bins];
        for p in positions {
            // The last contact closes the final bin rather than opening a partial one.
            let i = (((p - first) / width) as usize).min(bins - 1);
            counts[i] += 1.0;
        }
        let mean = counts.iter().sum::<f64>() / bins as f64;
        let variance = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / bins as f64;
        best = best.max((1.0 - variance / mean).clamp(0.0, 1.0));
    }
    best
}

/// 1 − the relative MAD of bytes per connection (1 when every connection sends the same).
fn size_regularity(bytes: &[u64]) -> f64 {
    let values: Vec<f64> = bytes.iter().map(|b| *b as f64).collect();
    let Some(spread) = Spread::of(&values) else { return 0.0 };
    if spread.median <= 0.0 {
        return if spread.mad == 0.0 { 1.0 } else { 0.0 };
    }
    (1.0 - spread.mad / spread.median).clamp(0.0, 1.0)
}

/// Distinct whole seconds of ascending µs timestamps: connections opened in the same second are
/// one contact.
pub fn distinct_seconds(times: &[i64]) -> Vec<i64> {
    let mut seconds: Vec<i64> = times.iter().map(|t| t.div_euclid(1_000_000)).collect();
    seconds.dedup();
    seconds
}

/// Distinct 24-hour slots (counted from `window_start`) with a contact.
fn distinct_days(seconds: &[i64], window_start: i64) -> usize {
    let mut days: Vec<i64> =
        seconds.iter().map(|s| (s * 1_000_000 - window_start).div_euclid(86_400_000_000)).collect();
    days.dedup();
    days.len()
}

/// 24-hour slots in the window, ignoring a last slot of under an hour (logs that start a few
/// seconds before midnight): 3 days and 15 seconds is 3, 3 days and 5 hours 4.
pub fn day_count(start: i64, end: i64) -> usize {
    ((end - start - 3_600_000_000).max(1) as u64).div_ceil(86_400_000_000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const DAY: i64 = 86_400_000_000;
    const MONDAY: i64 = 1_717_977_600_000_000; // 2024-06-10T00:00:00Z

    /// Sleep of `period` seconds jittered uniformly by ±`jitter` of it, as implants do.
    fn implant(rng: &mut ChaCha8Rng, period: f64, jitter: f64, start: i64, end: i64) -> Vec<i64> {
        let mut t = start + rng.gen_range(0..(period * 1e6) as i64);
        let mut out = Vec::new();
        while t < end {
            out.push(t);
            let sleep = period * (1.0 + rng.gen_range(-jitter..=jitter));
            t += (sleep * 1e6) as i64;
        }
        out
    }

    fn poisson(rng: &mut ChaCha8Rng, mean_gap: f64, start: i64, end: i64) -> Vec<i64> {
        let mut t = start;
        let mut out = Vec::new();
        loop {
            let u: f64 = rng.r#gen::<f64>().max(1e-12);
            t += (-u.ln() * mean_gap * 1e6) as i64;
            if t >= end {
                return out;
            }
            out.push(t);
        }
    }

    fn same_size(n: usize) -> Vec<u64> {
        vec![512; n]
    }

    #[test]
    fn a_clock_scores_one() {
        let times: Vec<i64> = (0..864).map(|i| MONDAY + i * 300_000_000).collect();
        let s = score(&times, &same_size(864), None).unwrap();
        assert!(s.score > 0.99, "{s:?}");
        assert_eq!((s.period_s, s.jitter, s.clock), (300.0, 0.0, Clock::Wall));
    }

    #[test]
    fn too_few_contacts_are_not_scored_and_same_second_contacts_count_once() {
        let times: Vec<i64> = (0..5).map(|i| MONDAY + i * 60_000_000).collect();
        assert!(score(&times, &same_size(5), None).is_none());
        // Ten connections in each of six seconds: six contacts.
        let burst: Vec<i64> =
            (0..60).map(|i| MONDAY + (i / 10) * 60_000_000 + (i % 10) * 1000).collect();
        let s = score(&burst, &same_size(60), None).unwrap();
        assert_eq!(s.contacts, 6);
    }

    #[test]
    fn zero_gaps_and_one_huge_gap_do_not_break_the_score() {
        // Every contact in the same second: one contact, not scored, no division by zero.
        let same = vec![MONDAY; 50];
        assert!(score(&same, &same_size(50), None).is_none());
        // A clock with one six-hour outage stays a clock.
        let mut times: Vec<i64> = (0..432).map(|i| MONDAY + i * 300_000_000).collect();
        times.extend((0..432).map(|i| MONDAY + 151_200_000_000 + i * 300_000_000));
        let s = score(&times, &same_size(864), None).unwrap();
        assert!(s.gap_regularity > 0.99, "{s:?}");
        assert!(s.score > 0.8, "{s:?}");
    }

    #[test]
    fn heavy_jitter_is_caught_by_periodicity_where_gap_dispersion_fails() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let window = (MONDAY, MONDAY + 7 * DAY);
        let times = implant(&mut rng, 1800.0, 0.8, window.0, window.1);
        let s = score(&times, &same_size(times.len()), None).unwrap();
        assert!(s.gap_regularity < 0.5, "gap dispersion alone misses it: {s:?}");
        // Reported at the default threshold (0.6).
        assert!(s.periodicity > 0.6, "{s:?}");
        assert!(s.score > 0.6, "{s:?}");
    }

    #[test]
    fn random_and_bursty_traffic_scores_low() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let window = (MONDAY, MONDAY + 7 * DAY);
        for mean_gap in [120.0, 1800.0, 7200.0] {
            let times = poisson(&mut rng, mean_gap, window.0, window.1);
            let sizes: Vec<u64> = (0..times.len()).map(|_| rng.gen_range(200..20_000)).collect();
            let s = score(&times, &sizes, None).unwrap();
            assert!(s.score < 0.4, "Poisson every {mean_gap} s: {s:?}");
        }
        // People: bursts of activity separated by long quiet spells.
        let mut times = Vec::new();
        for _ in 0..30 {
            let at = window.0 + rng.gen_range(0..7 * DAY);
            times.extend(poisson(&mut rng, 5.0, at, at + 300_000_000));
        }
        times.sort();
        let s = score(&times, &same_size(times.len()), None).unwrap();
        assert!(s.score < 0.3, "bursty: {s:?}");
    }

    #[test]
    fn low_and_slow_over_weeks_scores_high() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let window = (MONDAY, MONDAY + 30 * DAY);
        let times = implant(&mut rng, 6.0 * 3600.0, 0.3, window.0, window.1);
        let s = score(&times, &same_size(times.len()), None).unwrap();
        assert!(s.persistence > 0.95, "{s:?}");
        assert!(s.score > 0.75, "{s:?}");
    }

    #[test]
    fn a_short_lived_beacon_is_not_sunk_by_its_short_life() {
        // The case: every 200-350 s for three days, sizes within 5 %.
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let times = implant(&mut rng, 275.0, 0.27, MONDAY, MONDAY + 3 * DAY);
        let sizes: Vec<u64> = (0..times.len()).map(|_| rng.gen_range(950..=1050)).collect();
        let s = score(&times, &sizes, None).unwrap();
        assert!(s.score > 0.8, "{s:?}");
        assert!(s.persistence > 0.99, "three days of contact every day: {s:?}");
        // A day of it is still high; a regular session of a few hours is an application's, not
        // a lasting schedule: a schedule that lasts is what makes a beacon.
        let day = implant(&mut rng, 275.0, 0.27, MONDAY, MONDAY + DAY);
        let s = score(&day, &same_size(day.len()), None).unwrap();
        assert!(s.score > 0.7, "{s:?}");
        let hours = implant(&mut rng, 30.0, 0.1, MONDAY, MONDAY + 7 * 3_600_000_000);
        let s = score(&hours, &same_size(hours.len()), None).unwrap();
        assert!(s.score < 0.3, "{s:?}");
    }

    #[test]
    fn persistence_grows_with_life_and_continuity() {
        assert!((persistence(0.5, 1, 1) - 0.425).abs() < 1e-9, "half a day");
        assert!((persistence(1.0, 1, 1) - 0.85).abs() < 1e-9);
        assert!((persistence(3.0, 3, 3) - 1.0).abs() < 1e-9);
        assert!((persistence(60.0, 60, 60) - 1.0).abs() < 1e-9);
        assert!(persistence(2.0, 2, 2) > persistence(1.0, 1, 1));
        // Two bursts three weeks apart: long-lived but rarely in touch.
        assert!(persistence(21.0, 2, 21) < 0.7);
    }

    /// Scores across periods, jitters and lives, printed: `cargo nextest run -p lasthop-detect
    /// --run-ignored only score_table --no-capture`.
    #[test]
    #[ignore]
    fn score_table() {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        for period in [30.0, 300.0, 1800.0, 3600.0, 21_600.0] {
            for jitter in [0.0, 0.2, 0.5, 0.9] {
                let mut row = format!("period {period:>6} jitter {jitter:.1}:");
                for days in [1, 3, 21] {
                    let end = MONDAY + days * DAY;
                    let times = implant(&mut rng, period, jitter, MONDAY, end);
                    let s = score(&times, &same_size(times.len()), None);
                    row.push_str(&format!(
                        "  {days}d {:>4} {}",
                        times.len(),
                        s.map_or("  -  ".into(), |s| format!("{:.2}", s.score))
                    ));
                }
                eprintln!("{row}");
            }
        }
    }

    #[test]
    fn office_hours_beacon_is_scored_on_the_working_clock() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let hours = WorkingHours { tz: "Australia/Sydney".parse().unwrap(), ..Default::default() };
        let window = (MONDAY, MONDAY + 14 * DAY);
        let times: Vec<i64> = implant(&mut rng, 900.0, 0.3, window.0, window.1)
            .into_iter()
            .filter(|t| hours.contains(*t))
            .collect();
        let wall = score(&times, &same_size(times.len()), None).unwrap();
        let office = score(&times, &same_size(times.len()), Some(&hours)).unwrap();
        assert_eq!(office.clock, Clock::WorkingHours);
        assert!(office.score > wall.score + 0.1, "wall {wall:?} office {office:?}");
        // Ten working days are a lasting schedule on the working clock.
        assert!(office.persistence > 0.99, "{office:?}");
        assert!(office.score > 0.8, "{office:?}");
    }

    #[test]
    fn working_seconds_skip_nights_and_weekends() {
        let hours = WorkingHours::default();
        // Monday 00:00 to Tuesday 00:00 UTC: one 10-hour day.
        assert_eq!(hours.working_seconds_between(MONDAY, MONDAY + DAY), 36_000.0);
        // Friday 17:00 to Monday 09:00: one hour on Friday, one on Monday.
        let friday_17 = MONDAY + 4 * DAY + 17 * 3_600_000_000;
        let monday_09 = MONDAY + 7 * DAY + 9 * 3_600_000_000;
        assert_eq!(hours.working_seconds_between(friday_17, monday_09), 7_200.0);
        assert_eq!(hours.working_days_in(MONDAY, MONDAY + 7 * DAY), 5);
        assert!(WorkingHours::default().with_hours("18-08").is_err());
        assert_eq!(WorkingHours::default().with_hours("09:00-17").unwrap().end_hour, 17);
        let days = |spec| WorkingHours::default().with_workdays(spec).map(|h| h.weekdays);
        assert_eq!(days("mon-fri").unwrap(), [true, true, true, true, true, false, false]);
        assert_eq!(days("sun-thu").unwrap(), [true, true, true, true, false, false, true]);
        assert_eq!(days("mon,wed").unwrap(), [true, false, true, false, false, false, false]);
        assert!(days("funday").is_err());
    }
}
