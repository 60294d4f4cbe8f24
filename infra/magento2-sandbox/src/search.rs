//! Magento's `searchCriteria` query (`store-platforms-api.md` §4.2): filter groups
//! (filters in a group OR, groups AND), sort orders, `pageSize` (at most 300) and
//! `currentPage` (from 1; a page past the last answers the last page again, as real
//! Magento does), and the `{"items","search_criteria","total_count"}` answer.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::ApiError;

/// The largest `searchCriteria[pageSize]` accepted.
pub const MAX_PAGE_SIZE: usize = 300;

/// A record's value of one searchable field.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A number (ids, prices, status codes).
    Num(f64),
    /// Text, compared case-insensitively (MySQL's default collation).
    Text(String),
    /// A time, Unix seconds (written `Y-m-d H:i:s` UTC).
    Date(i64),
    /// No value (SQL `NULL`): matches only `null`, sorts first.
    Null,
}

/// A record a search runs over.
pub trait Searchable {
    /// The fields a filter or sort order may name.
    const FIELDS: &'static [&'static str];
    /// The record's entity id (the tie-breaker of every sort).
    fn entity_id(&self) -> u64;
    /// The value of `field`, one of [`Searchable::FIELDS`].
    fn field(&self, field: &str) -> Field;
}

/// One filter: `field`, `value`, `condition_type` (default `eq`).
#[derive(Debug, Clone)]
pub struct Filter {
    /// Field name.
    pub field: String,
    /// Value as sent.
    pub value: String,
    /// `eq`, `neq`, `gt`, `gteq`, `lt`, `lteq`, `in`, `nin`, `like`, `null`, `notnull`.
    pub condition_type: String,
}

/// A parsed `searchCriteria`.
#[derive(Debug, Clone, Default)]
pub struct SearchCriteria {
    /// Filter groups (AND) of filters (OR).
    pub groups: Vec<Vec<Filter>>,
    /// Sort orders: (field, `ASC` | `DESC`).
    pub sort_orders: Vec<(String, String)>,
    /// Page size, `None` for every item.
    pub page_size: Option<usize>,
    /// Page number from 1.
    pub current_page: Option<usize>,
}

/// Formats Unix seconds as Magento writes times: `Y-m-d H:i:s`, UTC.
pub fn magento_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Parses `Y-m-d H:i:s` (UTC) or an ISO-8601 date or date-time to Unix seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", text.trim())
        .ok()
        .and_then(|civil| civil.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|zoned| zoned.timestamp().as_second())
        .or_else(|| sandbox_kit::clock::parse_iso(text.trim()))
}

impl SearchCriteria {
    /// Parses the `searchCriteria[...]` parameters of a raw query string (decoded, `+`
    /// as space). 400 when `pageSize` is above [`MAX_PAGE_SIZE`].
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut groups: BTreeMap<usize, BTreeMap<usize, (Option<String>, Option<String>, Option<String>)>> =
            BTreeMap::new();
        let mut sorts: BTreeMap<usize, (Option<String>, Option<String>)> = BTreeMap::new();
        let mut criteria = SearchCriteria::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let Some(rest) = key.strip_prefix("searchCriteria") else {
                continue;
            };
            let parts: Vec<&str> = rest
                .split('[')
                .filter(|p| !p.is_empty())
                .map(|p| p.trim_end_matches(']'))
                .collect();
            let value = value.into_owned();
            match parts.as_slice() {
                ["filter_groups" | "filterGroups", g, "filters", f, name] => {
                    let (Ok(g), Ok(f)) = (g.parse(), f.parse()) else {
                        continue;
                    };
                    let slot = groups.entry(g).or_default().entry(f).or_default();
                    match *name {
                        "field" => slot.0 = Some(value),
                        "value" => slot.1 = Some(value),
                        "condition_type" | "conditionType" => slot.2 = Some(value),
                        _ => {}
                    }
                }
                ["sortOrders" | "sort_orders", n, name] => {
                    let Ok(n) = n.parse() else { continue };
                    let slot = sorts.entry(n).or_default();
                    match *name {
                        "field" => slot.0 = Some(value),
                        "direction" => slot.1 = Some(value),
                        _ => {}
                    }
                }
                ["pageSize" | "page_size"] => criteria.page_size = value.trim().parse().ok(),
                ["currentPage" | "current_page"] => criteria.current_page = value.trim().parse().ok(),
                _ => {}
            }
        }
        if let Some(size) = criteria.page_size
            && size > MAX_PAGE_SIZE
        {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "Maximum SearchCriteria pageSize is %max",
                json!({"max": MAX_PAGE_SIZE}),
            ));
        }
        criteria.groups = groups
            .into_values()
            .map(|filters| {
                filters
                    .into_values()
                    .filter_map(|(field, value, condition)| {
                        Some(Filter {
                            field: field?,
                            value: value.unwrap_or_default(),
                            condition_type: condition.unwrap_or_else(|| "eq".into()),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|filters| !filters.is_empty())
            .collect();
        criteria.sort_orders = sorts
            .into_values()
            .filter_map(|(field, direction)| Some((field?, direction.unwrap_or_else(|| "ASC".into()))))
            .collect();
        Ok(criteria)
    }

    /// The `search_criteria` echoed in an answer (only what was given).
    pub fn echo(&self) -> Value {
        let mut echo = Map::new();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|filters| {
                let filters: Vec<Value> = filters
                    .iter()
                    .map(|f| json!({"field": f.field, "value": f.value, "condition_type": f.condition_type}))
                    .collect();
                json!({"filters": filters})
            })
            .collect();
        echo.insert("filter_groups".into(), Value::Array(groups));
        if !self.sort_orders.is_empty() {
            let sorts: Vec<Value> = self
                .sort_orders
                .iter()
                .map(|(field, direction)| json!({"field": field, "direction": direction.to_ascii_uppercase()}))
                .collect();
            echo.insert("sort_orders".into(), Value::Array(sorts));
        }
        if let Some(size) = self.page_size {
            echo.insert("page_size".into(), json!(size));
        }
        if let Some(page) = self.current_page {
            echo.insert("current_page".into(), json!(page));
        }
        Value::Object(echo)
    }

    /// The answer for `items` (in entity id order): filtered, sorted (stable, so ties
    /// stay in entity id order), paged, rendered. 400 for an unknown field or
    /// condition type.
    pub fn answer<T: Searchable>(&self, mut items: Vec<&T>, render: impl Fn(&T) -> Value) -> Result<Value, ApiError> {
        for filter in self.groups.iter().flatten() {
            known::<T>(&filter.field)?;
            if !CONDITIONS.contains(&filter.condition_type.as_str()) {
                return Err(ApiError::with(
                    StatusCode::BAD_REQUEST,
                    "Invalid value of \"%value\" provided for the %fieldName field.",
                    json!({"value": filter.condition_type, "fieldName": "condition_type"}),
                ));
            }
        }
        for (field, _) in &self.sort_orders {
            known::<T>(field)?;
        }
        items.sort_by_key(|item| item.entity_id());
        items.retain(|item| {
            self.groups
                .iter()
                .all(|filters| filters.iter().any(|filter| matches(&item.field(&filter.field), filter)))
        });
        items.sort_by(|a, b| {
            self.sort_orders
                .iter()
                .map(|(field, direction)| {
                    let order = compare(&a.field(field), &b.field(field));
                    if direction.eq_ignore_ascii_case("DESC") {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let total = items.len();
        let page: Vec<Value> = match self.page_size.filter(|size| *size > 0) {
            None => items.iter().map(|item| render(item)).collect(),
            Some(size) => {
                let last = total.div_ceil(size).max(1);
                let current = self.current_page.unwrap_or(1).clamp(1, last);
                items
                    .iter()
                    .skip((current - 1) * size)
                    .take(size)
                    .map(|item| render(item))
                    .collect()
            }
        };
        Ok(json!({"items": page, "search_criteria": self.echo(), "total_count": total}))
    }
}

const CONDITIONS: &[&str] = &[
    "eq", "neq", "gt", "gteq", "lt", "lteq", "in", "nin", "like", "null", "notnull",
];

fn known<T: Searchable>(field: &str) -> Result<(), ApiError> {
    if T::FIELDS.contains(&field) {
        Ok(())
    } else {
        Err(ApiError::with(
            StatusCode::BAD_REQUEST,
            "\"%fieldName\" is not a valid field.",
            json!({"fieldName": field}),
        ))
    }
}

/// Orders two values of one field: `NULL` first, numbers and times as such, text
/// case-insensitively.
fn compare(a: &Field, b: &Field) -> Ordering {
    match (a, b) {
        (Field::Null, Field::Null) => Ordering::Equal,
        (Field::Null, _) => Ordering::Less,
        (_, Field::Null) => Ordering::Greater,
        (Field::Num(a), Field::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (Field::Date(a), Field::Date(b)) => a.cmp(b),
        (a, b) => text(a).to_lowercase().cmp(&text(b).to_lowercase()),
    }
}

fn text(field: &Field) -> String {
    match field {
        Field::Num(n) => n.to_string(),
        Field::Text(t) => t.clone(),
        Field::Date(d) => magento_time(*d),
        Field::Null => String::new(),
    }
}

/// `value` (as sent) as a value of the field's kind.
fn operand(field: &Field, value: &str) -> Option<Field> {
    match field {
        Field::Num(_) => value.trim().parse().ok().map(Field::Num),
        Field::Date(_) => parse_time(value).map(Field::Date),
        _ => Some(Field::Text(value.to_string())),
    }
}

fn matches(field: &Field, filter: &Filter) -> bool {
    let condition = filter.condition_type.as_str();
    match condition {
        "null" => return *field == Field::Null,
        "notnull" => return *field != Field::Null,
        _ if *field == Field::Null => return false,
        _ => {}
    }
    let cmp = |value: &str| operand(field, value).map(|op| compare(field, &op));
    match condition {
        "eq" => cmp(&filter.value) == Some(Ordering::Equal),
        "neq" => cmp(&filter.value).is_some_and(|o| o.is_ne()),
        "gt" => cmp(&filter.value) == Some(Ordering::Greater),
        "gteq" => cmp(&filter.value).is_some_and(|o| o.is_ge()),
        "lt" => cmp(&filter.value) == Some(Ordering::Less),
        "lteq" => cmp(&filter.value).is_some_and(|o| o.is_le()),
        "in" | "nin" => {
            let found = filter.value.split(',').any(|v| cmp(v.trim()) == Some(Ordering::Equal));
            found == (condition == "in")
        }
        "like" => like(&text(field).to_lowercase(), &filter.value.to_lowercase()),
        _ => false,
    }
}

/// SQL `LIKE`: `%` any run, `_` any one character.
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // reachable[j]: the pattern's first j characters can match the text read so far.
    let mut reachable = vec![false; pattern.len() + 1];
    reachable[0] = true;
    for j in 0..pattern.len() {
        if pattern[j] == '%' {
            reachable[j + 1] = reachable[j];
        }
    }
    for c in text {
        let mut next = vec![false; pattern.len() + 1];
        for j in 0..pattern.len() {
            match pattern[j] {
                '%' => next[j + 1] = next[j] || reachable[j + 1] || reachable[j],
                '_' => next[j + 1] = reachable[j],
                p => next[j + 1] = reachable[j] && p == c,
            }
        }
        reachable = next;
    }
    reachable[pattern.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards() {
        assert!(like("sku-12", "sku%"));
        assert!(like("sku-12", "%12"));
        assert!(like("sku-12", "%u-1%"));
        assert!(like("sku-12", "sku-1_"));
        assert!(!like("sku-12", "sku-1"));
        assert!(like("", "%"));
    }

    #[test]
    fn times() {
        assert_eq!(magento_time(1_767_225_600), "2026-01-01 00:00:00");
        assert_eq!(parse_time("2026-01-01 00:00:01"), Some(1_767_225_601));
    }
}
