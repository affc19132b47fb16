//! Text-to-value conversions shared by the readers: times, numbers, Zeek's `\xHH` escapes.

use std::borrow::Cow;

/// Latest time accepted: the end of year 9999. Anything later (or before 1970 by more than this)
/// is treated as a corrupt timestamp rather than stored and left to break time arithmetic.
const MAX_ABS_MICROS: i64 = 253_402_300_799_000_000;

/// Parses Zeek's epoch seconds (`1713484795.943239`), exactly, to microseconds; also accepts
/// exponent forms and ISO 8601 (`2018-03-24T17:15:20.624556Z`) as JSON writers emit.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    ten_digit_seconds(bytes).or_else(|| parse_zeek_seconds(bytes)).or_else(|| parse_any_time(text))
}

/// `DDDDDDDDDD.DDDDDD`, every Zeek time from 2001 to 2286, read eight digits at a time.
fn ten_digit_seconds(text: &[u8]) -> Option<i64> {
    let text: &[u8; 17] = text.try_into().ok()?;
    if text[10] != b'.' {
        return None;
    }
    let word = |at: usize| u64::from_le_bytes(text[at..at + 8].try_into().expect("eight bytes"));
    let leading = eight_digits(word(0))?;
    let (tens, units) = (text[8].wrapping_sub(b'0'), text[9].wrapping_sub(b'0'));
    if tens > 9 || units > 9 {
        return None;
    }
    // The last eight bytes are `D.DDDDDD`: the digit and point become two zeros.
    let micros = eight_digits((word(9) & !0xffff) | 0x3030)?;
    let seconds = leading * 100 + u64::from(tens) * 10 + u64::from(units);
    i64::try_from(seconds * 1_000_000 + micros).ok()
}

/// Eight ASCII digits, loaded little-endian, as their number; `None` if any byte is not a digit
/// (the test and the arithmetic are the standard library's own, from its float parser).
fn eight_digits(word: u64) -> Option<u64> {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 0x000f_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let low = word.wrapping_sub(0x3030_3030_3030_3030);
    if (word.wrapping_add(0x4646_4646_4646_4646) | low) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let pairs = low.wrapping_mul(10).wrapping_add(low >> 8);
    let high = (pairs & MASK).wrapping_mul(MUL1);
    let low = ((pairs >> 16) & MASK).wrapping_mul(MUL2);
    Some(u64::from((high.wrapping_add(low) >> 32) as u32))
}

/// Zeek's own `%.6f` seconds, read in one pass: every log line has one, and the general reader
/// below spent a twentieth of a TSV line's parsing on it. Declines anything else.
fn parse_zeek_seconds(text: &[u8]) -> Option<i64> {
    let (int_part, frac_part) = text.split_at_checked(text.len().checked_sub(7)?)?;
    let frac_part = frac_part.strip_prefix(b".")?;
    if int_part.is_empty() || int_part.len() > 12 {
        return None;
    }
    // At most twelve digits of seconds and six of microseconds: no overflow.
    let micros = plain_digits(int_part)? * 1_000_000 + plain_digits(frac_part)?;
    i64::try_from(micros).ok().filter(|m| *m <= MAX_ABS_MICROS)
}

fn parse_any_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() > 10 && text.as_bytes().get(4) == Some(&b'-') {
        return parse_iso8601(text);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let exact = !int_part.is_empty()
        && int_part.len() <= 12
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit());
    let micros = if exact {
        let secs: i64 = int_part.parse().ok()?;
        let mut frac: i64 = 0;
        for (i, b) in frac_part.bytes().take(6).enumerate() {
            frac += (b - b'0') as i64 * 10i64.pow(5 - i as u32);
        }
        let v = secs * 1_000_000 + frac;
        if negative { -v } else { v }
    } else {
        let secs: f64 = text.parse().ok()?;
        if !secs.is_finite() {
            return None;
        }
        let v = (secs * 1e6).round();
        if v.abs() > MAX_ABS_MICROS as f64 {
            return None;
        }
        v as i64
    };
    (micros.abs() <= MAX_ABS_MICROS).then_some(micros)
}

/// Seconds (possibly fractional) as a JSON number, to microseconds.
pub fn time_from_seconds(secs: f64) -> Option<i64> {
    if !secs.is_finite() {
        return None;
    }
    let v = (secs * 1e6).round();
    (v.abs() <= MAX_ABS_MICROS as f64).then_some(v as i64)
}

/// The value of a run of 1 to 19 ASCII digits (which cannot overflow); `None` for anything
/// else, which the standard parser then reads, so what is accepted never changes.
fn plain_digits(text: &[u8]) -> Option<u64> {
    if !(1..=19).contains(&text.len()) {
        return None;
    }
    let mut value: u64 = 0;
    for &b in text {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    Some(value)
}

/// A Zeek count. Plain digits, nearly every value, are read directly: the standard parser's
/// generality (signs, any radix, an overflow check per digit) was a twentieth of a conn.log
/// line's conversion.
pub fn parse_count(text: &str) -> Option<u64> {
    plain_digits(text.as_bytes()).or_else(|| text.parse().ok())
}

/// A port: a count that fits 16 bits.
pub fn parse_port(text: &str) -> Option<u16> {
    match plain_digits(text.as_bytes()) {
        Some(value) => u16::try_from(value).ok(),
        None => text.parse().ok(),
    }
}

/// A Zeek int: like [`parse_count`], with the standard parser for signs and the rest.
pub fn parse_int(text: &str) -> Option<i64> {
    match plain_digits(text.as_bytes()) {
        Some(value) => i64::try_from(value).ok(),
        None => text.parse().ok(),
    }
}

/// A finite double. Zeek writes intervals and doubles as `%.6f`-style decimals: with at most
/// 15 digits, those digits as an integer and the power of ten to divide it by are both exact
/// doubles, and one division of exact doubles is correctly rounded, so it is the value the
/// standard parser finds, without its general path. Anything else goes to that parser.
pub fn parse_float(text: &str) -> Option<f64> {
    const POWERS: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let bytes = text.as_bytes();
    if (1..=16).contains(&bytes.len()) {
        let (mut digits, mut point) = (0u64, None);
        let mut plain = true;
        for (i, &b) in bytes.iter().enumerate() {
            let digit = b.wrapping_sub(b'0');
            if digit <= 9 {
                digits = digits * 10 + u64::from(digit);
            } else if b == b'.' && point.is_none() {
                point = Some(i);
            } else {
                plain = false;
                break;
            }
        }
        let decimals = point.map_or(0, |p| bytes.len() - p - 1);
        let count = bytes.len() - usize::from(point.is_some());
        if plain && (1..=15).contains(&count) {
            // Below 2^53 and an exact power of ten: one correctly rounded division.
            return Some(digits as f64 / POWERS[decimals]);
        }
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`; a missing zone means UTC.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        for (i, c) in frac.bytes().take(digits.min(6)).enumerate() {
            micros += (c - b'0') as i64 * 10i64.pow(5 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = zone[1..].replace(':', "");
            if zone.len() != 4 || !zone.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let h: i64 = zone[..2].parse().ok()?;
            let m: i64 = zone[2..].parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Undoes Zeek's `\xHH` and `\\` escapes, except for control bytes. The text is kept escaped when unescaping would produce bytes
/// that are not UTF-8 (binary in a URI, say), so nothing is lost and nothing invalid is stored.
pub fn unescape(text: &str) -> Cow<'_, str> {
    unescape_with(text, false)
}

/// Undoes every escape, control bytes included: for header values such as `#separator \x09`.
pub fn unescape_header(text: &str) -> Cow<'_, str> {
    unescape_with(text, true)
}

fn unescape_with(text: &str, controls: bool) -> Cow<'_, str> {
    // Fields are short: a plain scan beats setting up a vectorised search.
    if !text.bytes().any(|b| b == b'\\') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(v) = bytes.get(i + 2..i + 4).and_then(|h| {
                std::str::from_utf8(h).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            // Control bytes stay escaped, as Zeek's JSON writer leaves them: the stored text is
            // then the same whichever format was read, and carries no terminal controls.
            && (controls || !(v < 0x20 || v == 0x7f))
        {
            out.push(v);
            i += 4;
            continue;
        }
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {

    /// The eight-digits-at-a-time reader agrees with the one-pass reader on Zeek times and on
    /// every single-byte corruption of them.
    #[test]
    fn ten_digit_seconds_agree_with_the_one_pass_reader() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut checked = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let text =
                format!("{}.{:06}", 1_000_000_000 + x % 9_000_000_000, (x >> 40) % 1_000_000);
            assert_eq!(ten_digit_seconds(text.as_bytes()), parse_zeek_seconds(text.as_bytes()));
            assert!(ten_digit_seconds(text.as_bytes()).is_some(), "{text}");
            let position = (x >> 20) as usize % text.len();
            for byte in [b'/', b':', b'0', b'9', b'.', b' ', b'-', 0x00, 0x80, 0xb0, 0xff] {
                let mut bytes = text.clone().into_bytes();
                bytes[position] = byte;
                assert_eq!(
                    ten_digit_seconds(&bytes),
                    parse_zeek_seconds(&bytes),
                    "{:?}",
                    String::from_utf8_lossy(&bytes)
                );
                checked += 1;
            }
        }
        assert!(checked > 200_000);
        assert_eq!(ten_digit_seconds(b"9999999999.999999"), Some(9_999_999_999_999_999));
        assert_eq!(ten_digit_seconds(b"0000000000.000000"), Some(0));
        assert_eq!(ten_digit_seconds(b"1713484795.94323"), None);
    }

    /// The fast paths agree with the standard parsers on every string of a small alphabet up to
    /// five characters, and on long and awkward numbers.
    #[test]
    fn number_fast_paths_accept_and_read_exactly_what_the_standard_parsers_do() {
        let alphabet = ["0", "1", "5", "9", ".", "-", "+", "e", " ", "x"];
        let mut texts: Vec<String> = vec![String::new()];
        let mut frontier = texts.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|t| alphabet.iter().map(move |a| format!("{t}{a}")))
                .collect();
            texts.extend(frontier.iter().cloned());
        }
        texts.extend(
            [
                "18446744073709551615",
                "18446744073709551616",
                "9999999999999999999",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775808",
                "65535",
                "65536",
                "00080",
                "0.000001",
                "123456789.123456",
                "1234567890.1234567",
                "0.1",
                "0.3",
                "2.675",
                "999999999999999",
                "9999999999999999",
                "1e308",
                "inf",
                "NaN",
                "0.30000000000000004",
                "4503599627370497.5",
            ]
            .map(String::from),
        );
        for text in &texts {
            assert_eq!(parse_count(text), text.parse::<u64>().ok(), "count {text:?}");
            assert_eq!(parse_port(text), text.parse::<u16>().ok(), "port {text:?}");
            assert_eq!(parse_int(text), text.parse::<i64>().ok(), "int {text:?}");
            let expected = text.parse::<f64>().ok().filter(|f| f.is_finite());
            assert_eq!(
                parse_float(text).map(f64::to_bits),
                expected.map(f64::to_bits),
                "float {text:?}"
            );
        }
        // Every decimal of up to 15 digits with 6 after the point, as Zeek writes durations,
        // sampled across its range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 15) as u32;
            let value = (x >> 8) % 10u64.pow(digits);
            let text = format!("{}.{:06}", value / 1_000_000, value % 1_000_000);
            let expected = text.parse::<f64>().unwrap();
            assert_eq!(parse_float(&text).map(f64::to_bits), Some(expected.to_bits()), "{text}");
        }
    }
    use super::*;

    #[test]
    fn epoch_seconds_are_exact_to_the_microsecond() {
        assert_eq!(parse_time("1713484795.943239"), Some(1_713_484_795_943_239));
        assert_eq!(parse_time("1713484795.9"), Some(1_713_484_795_900_000));
        assert_eq!(parse_time("1713484795"), Some(1_713_484_795_000_000));
        assert_eq!(parse_time("95.039877"), Some(95_039_877));
        assert_eq!(parse_time("1.7e9"), Some(1_700_000_000_000_000));
        assert_eq!(parse_time("abc"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("1e300"), None);
        assert_eq!(parse_time("99999999999999999999"), None);
    }

    /// The one-pass reader of Zeek's form gives what the general reader gives, and declines
    /// what is not exactly that form.
    #[test]
    fn zeek_seconds_agree_with_the_general_reader() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"0123456789..-+e /:";
        let mut accepted = 0;
        for i in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text = if i % 2 == 0 {
                // Well-formed but for the odd byte: digits, a dot, six digits.
                let mut t =
                    format!("{}.{:06}", state % 10u64.pow((i / 2 % 14) as u32), state % 1_000_000);
                if i % 10 == 0 {
                    let at = (state >> 20) as usize % t.len();
                    t.replace_range(at..=at, ["x", "-", ".", " ", "9"][(state >> 40) as usize % 5]);
                }
                t
            } else {
                let len = (state % 22) as usize;
                (0..len)
                    .map(|j| alphabet[(state >> (j * 2 % 60)) as usize % alphabet.len()] as char)
                    .collect()
            };
            let general = parse_any_time(&text);
            match parse_zeek_seconds(text.as_bytes()) {
                Some(quick) => {
                    assert_eq!(Some(quick), general, "{text:?}");
                    accepted += 1;
                }
                None => assert!(
                    general.is_none() || !is_zeek_form(&text),
                    "{text:?} is Zeek's form, declined"
                ),
            }
        }
        assert!(accepted > 50_000, "only {accepted} times among the cases");
        /// One to twelve digits, a dot, six digits.
        fn is_zeek_form(text: &str) -> bool {
            let b = text.as_bytes();
            (8..=19).contains(&b.len())
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| if i == b.len() - 7 { *c == b'.' } else { c.is_ascii_digit() })
        }
        assert_eq!(parse_zeek_seconds(b"253402300799.000000"), Some(MAX_ABS_MICROS));
        assert_eq!(parse_zeek_seconds(b"253402300799.000001"), None);
    }

    #[test]
    fn iso8601_with_zones() {
        assert_eq!(parse_time("2018-03-24T17:15:20.624556Z"), Some(1_521_911_720_624_556));
        assert_eq!(parse_time("2018-03-24T19:15:20.624556+02:00"), Some(1_521_911_720_624_556));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2018-13-24T17:15:20Z"), None);
        assert_eq!(parse_time("2018-03-24T17:15:20+5"), None);
    }

    #[test]
    fn unescape_keeps_invalid_utf8_escaped() {
        assert_eq!(unescape("a\\x2cb"), "a,b");
        assert_eq!(unescape("a\\x09b\\x1b"), "a\\x09b\\x1b");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("\\xff\\xfe"), "\\xff\\xfe");
        assert_eq!(unescape("\\xc3\\xa9"), "é");
        assert_eq!(unescape("\\x4"), "\\x4");
        assert_eq!(unescape("\\xzz"), "\\xzz");
        assert_eq!(unescape("Disqus\\\\, Inc."), "Disqus\\, Inc.");
    }
}
