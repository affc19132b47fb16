//! MISP event JSON: a single `{"Event": …}`, a `{"response": [{"Event": …}, …]}` search result
//! or a bare array of events.
//!
//! Attributes with `to_ids` set are detection indicators; the others are context (MISP's own
//! distinction) and are counted, not matched. Attributes inside MISP objects are read the same
//! way. Deleted attributes are skipped. The event's `info` and the attribute's `comment` and
//! category become the context, the creating organisation names the feed, and an attribute's
//! `first_seen`/`last_seen` are the window the feed saw it active in.

use std::path::Path;

use lasthop_common::Reason;
use serde_json::Value;

use super::{FeedReport, line_of, parse_time, short, typed_indicator};

pub(crate) fn is_misp(json: &Value) -> bool {
    events(json).next().is_some()
}

fn events(json: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    if let Some(event) = json.get("Event") {
        return Box::new(std::iter::once(event));
    }
    let list = json.get("response").unwrap_or(json);
    match list.as_array() {
        Some(items) => Box::new(items.iter().filter_map(|i| i.get("Event"))),
        None => Box::new(std::iter::empty()),
    }
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

pub(crate) fn read(path: &Path, feed: &str, text: &str, json: &Value, report: &mut FeedReport) {
    for event in events(json) {
        let info = text_of(event, "info");
        let org = event.get("Orgc").map(|o| text_of(o, "name")).unwrap_or("");
        let feed = if org.is_empty() { feed.to_string() } else { format!("{org} ({feed})") };
        let event_ref = text_of(event, "uuid");
        let mut attributes: Vec<&Value> = Vec::new();
        if let Some(list) = event.get("Attribute").and_then(Value::as_array) {
            attributes.extend(list);
        }
        for object in event.get("Object").and_then(Value::as_array).into_iter().flatten() {
            attributes
                .extend(object.get("Attribute").and_then(Value::as_array).into_iter().flatten());
        }
        for attribute in attributes {
            let uuid = text_of(attribute, "uuid");
            let line = line_of(text, uuid);
            if flag(attribute, "deleted") {
                continue;
            }
            if !flag(attribute, "to_ids") {
                report.context_only += 1;
                continue;
            }
            let value = text_of(attribute, "value");
            if value.is_empty() {
                report.diagnostics.warn(
                    path,
                    line,
                    Reason::BadIndicator,
                    format!("attribute {uuid} without a value"),
                );
                continue;
            }
            let kind = text_of(attribute, "type");
            let Some(mut indicator) =
                typed_indicator(value, kind, &feed, path, line, &mut report.diagnostics)
            else {
                continue;
            };
            let comment = text_of(attribute, "comment");
            let category = text_of(attribute, "category");
            let context: Vec<&str> =
                [info, category, comment].into_iter().filter(|s| !s.is_empty()).collect();
            indicator.context = (!context.is_empty()).then(|| short(&context.join("; ")));
            indicator.reference = Some(if event_ref.is_empty() {
                uuid.to_string()
            } else {
                format!("MISP event {event_ref}")
            });
            indicator.first_reported = parse_time(text_of(attribute, "first_seen"));
            indicator.last_reported = parse_time(text_of(attribute, "last_seen"));
            report.indicators.add(indicator);
        }
    }
}
