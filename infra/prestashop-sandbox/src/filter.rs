//! The list options of `WebserviceRequest::manageFilters` and `SQLUtils::getSQLRetrieveFilter`:
//! `filter[field]=[v]`, `[a|b]`, `[lo,hi]` (SQL `BETWEEN`: both bounds inclusive),
//! `[x]%` / `%[x]` / `%[x]%`, `![v]`, `>[v]`, `<[v]`; `date=1` to use `date_add` /
//! `date_upd`; `display`; `sort=[field_ASC,…]`; `limit=N` or `limit=offset,N`;
//! `language`; each refusal with PrestaShop's code and wording.

use std::cmp::Ordering;

use axum::http::StatusCode;

use crate::WsError;
use crate::schema::Def;
use crate::state::{LANGUAGES, Row};

/// The query parameters, in order, as PHP reads them (the last of a name wins).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(query: &str) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `filter[field]` (and `filter[field][sub]`) parameters: `(field, sub, value)`.
    fn filters(&self) -> Vec<(String, Option<String>, String)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("filter[")?;
                let (field, tail) = rest.split_once(']')?;
                let sub = tail
                    .strip_prefix('[')
                    .and_then(|t| t.strip_suffix(']'))
                    .map(str::to_string);
                Some((field.to_string(), sub, v.clone()))
            })
            .collect()
    }
}

/// Which fields a GET shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Display {
    /// Ids only (a list without `display`).
    Minimum,
    /// Every field and association.
    Full,
    /// The named fields.
    Fields(Vec<String>),
}

fn bad(code: u32, message: &str) -> WsError {
    WsError::new(StatusCode::BAD_REQUEST, code, message)
}

/// PHP's `levenshtein`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push((previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// `setErrorDidYouMean`: `{label}. Did you mean: "{closest}"? The full list is: "a", "b"`.
pub fn did_you_mean(label: &str, wrong: &str, available: &[String]) -> String {
    let mut closest = "";
    let mut shortest: Option<usize> = None;
    for word in available {
        let distance = levenshtein(wrong, word);
        if distance == 0 {
            closest = word;
            break;
        }
        if shortest.is_none_or(|s| distance <= s) {
            closest = word;
            shortest = Some(distance);
        }
    }
    let mut message = format!("{label}. Did you mean: \"{closest}\"?");
    if available.len() > 1 {
        message.push_str(&format!(" The full list is: \"{}\"", available.join("\", \"")));
    }
    message
}

/// `filterLanguage`: `language=N`, `[1|2]`, `[1,2]`; unknown languages dropped; 400
/// 79/80/81 when unusable.
pub fn languages(params: &Params) -> Result<Vec<u32>, WsError> {
    let Some(value) = params.get("language") else {
        return Ok(LANGUAGES.to_vec());
    };
    let asked: Vec<String> = if value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() {
        vec![value.to_string()]
    } else if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        if inner.contains('|') {
            inner.split('|').map(str::to_string).collect()
        } else if let Some((lo, hi)) = inner.split_once(',') {
            let (lo, hi): (u32, u32) = (lo.parse().unwrap_or(1), hi.parse().unwrap_or(0));
            (lo..=hi).map(|l| l.to_string()).collect()
        } else {
            vec![inner.to_string()]
        }
    } else {
        return Err(bad(79, "language value is wrong"));
    };
    if asked.iter().any(|l| l.parse::<u32>().is_err()) {
        return Err(bad(80, "Language ID must be numeric"));
    }
    let known: Vec<u32> = asked
        .iter()
        .filter_map(|l| l.parse().ok())
        .filter(|l| LANGUAGES.contains(l))
        .collect();
    if known.is_empty() {
        return Err(bad(81, "language is not available"));
    }
    Ok(known)
}

/// `setFieldsToDisplay`: `full`, `minimum`, `[f1,f2]`; 400 35 for an unknown field and
/// 36 for a bad syntax. `default` when there is no `display`.
pub fn display(params: &Params, def: &Def, default: Display) -> Result<Display, WsError> {
    let Some(value) = params.get("display") else {
        return Ok(default);
    };
    let fields: Vec<String> = std::iter::once("id".to_string())
        .chain(def.fields.iter().map(|f| f.name.to_string()))
        .collect();
    match value {
        "full" => Ok(Display::Full),
        "minimum" => Ok(Display::Minimum),
        _ => {
            let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) else {
                return Err(bad(
                    36,
                    &format!(
                        "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'. These are available: {}",
                        fields.join(", ")
                    ),
                ));
            };
            let wanted: Vec<String> = inner.split(',').map(|f| f.trim().to_string()).collect();
            if let Some(unknown) = wanted.iter().find(|w| !fields.contains(w)) {
                return Err(bad(
                    35,
                    &format!(
                        "Unable to display this field \"{unknown}\". However, these are available: {}",
                        fields.join(", ")
                    ),
                ));
            }
            Ok(Display::Fields(wanted))
        }
    }
}

/// A field's value in a row (`id` included) for filtering and sorting: one value per
/// language shown for a multilingual field.
fn values_of(row: &Row, id: u32, field: &str, lang: bool, languages: &[u32]) -> Vec<String> {
    if field == "id" {
        vec![id.to_string()]
    } else if lang {
        languages.iter().map(|l| row.lang(field, *l).to_string()).collect()
    } else {
        vec![row.text(field).to_string()]
    }
}

/// MySQL's comparison of a column with a literal: numbers as numbers, the rest without
/// case; a date literal `YYYY-MM-DD` is that day's midnight.
fn compare(column: &str, literal: &str) -> Ordering {
    if let (Ok(a), Ok(b)) = (column.trim().parse::<f64>(), literal.trim().parse::<f64>()) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    let normalize = |s: &str| {
        let s = s.trim().to_lowercase();
        if s.len() == 10 && crate::schema::is_date(&s) {
            format!("{s} 00:00:00")
        } else {
            s
        }
    };
    normalize(column).cmp(&normalize(literal))
}

/// SQL `LIKE` with `%` and `_`, case-insensitive.
fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => v.first().is_some_and(|x| x == c) && go(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

/// `getSQLRetrieveFilter` on one column value.
pub fn matches(value: &str, filter: &str) -> bool {
    let parsed = filter.rfind('[').and_then(|open| {
        let close = filter.rfind(']')?;
        (close > open).then(|| (&filter[..open], &filter[open + 1..close], &filter[close + 1..]))
    });
    let Some((before, inner, after)) = parsed else {
        return compare(value, filter) == Ordering::Equal;
    };
    if before == "%" || after == "%" {
        return like(value, &format!("{before}{inner}{after}"));
    }
    match before {
        "" if after.is_empty() => {
            if inner.find('|').is_some_and(|at| at > 0) {
                return inner.split('|').any(|v| compare(value, v) == Ordering::Equal);
            }
            let interval = inner.split_once(',').filter(|(lo, hi)| {
                let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || ".:- ".contains(c));
                ok(lo) && ok(hi)
            });
            match interval {
                Some((lo, hi)) => {
                    // PHP sorts the two bounds as strings, then SQL BETWEEN.
                    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                    compare(value, lo) != Ordering::Less && compare(value, hi) != Ordering::Greater
                }
                None => compare(value, inner) == Ordering::Equal,
            }
        }
        ">" => compare(value, inner) == Ordering::Greater,
        "<" => compare(value, inner) == Ordering::Less,
        "!" => inner.split('|').all(|v| compare(value, v) != Ordering::Equal),
        _ => false,
    }
}

/// The ids of a list after `filter`, `sort` and `limit` (in that order of checks, as
/// `manageFilters`); `display` is checked by the caller between filters and sort.
pub fn select<'a>(
    params: &Params,
    def: &Def,
    rows: impl Iterator<Item = (u32, &'a Row)>,
    languages: &[u32],
) -> Result<Vec<u32>, WsError> {
    let dates = params.get("date").is_some_and(|d| !d.is_empty() && d != "0");
    let mut available: Vec<String> = vec!["id".into()];
    available.extend(
        def.fields
            .iter()
            .filter(|f| !f.lang && (dates || (f.name != "date_add" && f.name != "date_upd")))
            .map(|f| f.name.to_string()),
    );
    if dates {
        for name in ["date_add", "date_upd"] {
            if !available.iter().any(|a| a == name) {
                available.push(name.into());
            }
        }
    }
    let lang_fields: Vec<String> = def
        .fields
        .iter()
        .filter(|f| f.lang)
        .map(|f| f.name.to_string())
        .collect();
    // A column the table lacks (date=1 on a resource without dates): MySQL refuses the
    // query, PrestaShop swallows the error and lists nothing.
    let mut broken = false;
    let mut conditions: Vec<(String, bool, String)> = Vec::new();
    for (field, sub, value) in params.filters() {
        if sub.is_some() {
            return Err(bad(31, "There is no existing linked table for this resource"));
        }
        let lang = lang_fields.contains(&field);
        if !available.contains(&field) && !lang {
            return Err(bad(32, &did_you_mean("This filter does not exist", &field, &available)));
        }
        if value.is_empty() {
            return Err(bad(33, &format!("The filter \"{field}\" is malformed.")));
        }
        if def.field(&field).is_some_and(|f| f.dynamic) {
            return Err(bad(
                34,
                &format!("The field \"{field}\" is dynamic. It is not possible to filter GET query with this field."),
            ));
        }
        broken |= field != "id" && def.field(&field).is_none();
        conditions.push((field, lang, value));
    }
    display(params, def, Display::Minimum)?;
    let mut sorts: Vec<(String, bool, bool)> = Vec::new();
    if let Some(sort) = params.get("sort") {
        let inner = sort.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(sort);
        for part in inner.split(',') {
            let Some((field, direction)) = part.rsplit_once('_') else {
                return Err(bad(37, SORT_SYNTAX));
            };
            let direction = direction.to_ascii_uppercase();
            if direction != "ASC" && direction != "DESC" {
                return Err(bad(37, SORT_SYNTAX));
            }
            let lang = lang_fields.iter().any(|f| f == field);
            if !available.iter().any(|a| a == field) && !lang {
                return Err(bad(
                    38,
                    &format!(
                        "Unable to filter by this field. However, these are available: {}, for i18n fields:{}",
                        available.join(", "),
                        lang_fields.join(", ")
                    ),
                ));
            }
            broken |= field != "id" && def.field(field).is_none();
            sorts.push((field.to_string(), lang, direction == "DESC"));
        }
    }
    let limit = match params.get("limit") {
        None => None,
        Some(limit) => {
            let parts: Vec<&str> = limit.split(',').collect();
            if parts.len() > 2 {
                return Err(bad(
                    39,
                    "The \"limit\" value has to be formed as this example: \"5,25\" or \"10\"",
                ));
            }
            let number = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
            Some(match parts.as_slice() {
                [count] => (0, number(count)),
                [offset, count] => (number(offset), number(count)),
                _ => (0, 0),
            })
        }
    };
    if broken {
        return Ok(Vec::new());
    }
    let mut selected: Vec<(u32, &Row)> = rows
        .filter(|(id, row)| {
            conditions.iter().all(|(field, lang, value)| {
                values_of(row, *id, field, *lang, languages)
                    .iter()
                    .any(|v| matches(v, value))
            })
        })
        .collect();
    if !sorts.is_empty() {
        selected.sort_by(|(a_id, a), (b_id, b)| {
            for (field, lang, descending) in &sorts {
                let first_lang = &languages[..1.min(languages.len())];
                let x = values_of(a, *a_id, field, *lang, first_lang).concat();
                let y = values_of(b, *b_id, field, *lang, first_lang).concat();
                let order = compare(&x, &y);
                let order = if *descending { order.reverse() } else { order };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        });
    }
    let ids = selected.into_iter().map(|(id, _)| id);
    Ok(match limit {
        Some((offset, count)) => ids.skip(offset).take(count).collect(),
        None => ids.collect(),
    })
}

const SORT_SYNTAX: &str = "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_sql_utils() {
        assert!(matches("5", "[5]"));
        assert!(matches("5", "[3|5]"));
        assert!(matches("5", "[1,5]"));
        assert!(!matches("6", "[1,5]"));
        assert!(matches(
            "2025-01-02 00:00:00",
            "[2025-01-01 00:00:00,2025-01-02 00:00:00]"
        ));
        assert!(matches("Sandbox Tee 12", "[sandbox]%"));
        assert!(matches("Sandbox Tee 12", "%[tee 1]%"));
        assert!(!matches("Sandbox Tee 12", "[tee]%"));
        assert!(matches("4", "![5|6]"));
        assert!(matches("7", ">[5]"));
        assert!(matches("10", ">[9]"), "numbers compare as numbers");
        assert!(matches("3", "<[5]"));
    }

    #[test]
    fn did_you_mean_names_the_closest() {
        let available = vec!["id".to_string(), "reference".to_string()];
        assert_eq!(
            did_you_mean("This filter does not exist", "referense", &available),
            "This filter does not exist. Did you mean: \"reference\"? The full list is: \"id\", \"reference\""
        );
    }
}
