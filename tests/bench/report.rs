//! What a benchmark run measured, printed and written into its section of
//! `docs/benchmarks.md`. Each section sits between `<!-- bench:KEY -->` and
//! `<!-- /bench:KEY -->` and names the machine, the date and the command that produced
//! it, so one flow can be re-run without touching the others' figures.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One measured figure: a latency distribution or a single value, with its goal.
pub enum Figure {
    /// Samples of one latency, reported as count, p50, p95, p99 and max.
    Latency {
        what: String,
        samples: Vec<Duration>,
        /// The p99 the issue asks for, if any.
        goal: Option<Duration>,
    },
    /// A single value (a rate, a size, a count) in words, e.g. `"48.9 requests/s"`.
    Value {
        what: String,
        value: String,
        /// The goal in words, and whether the value meets it.
        goal: Option<(String, bool)>,
    },
}

impl Figure {
    /// A latency figure with a p99 goal.
    pub fn latency(what: impl Into<String>, samples: Vec<Duration>, goal: Option<Duration>) -> Self {
        Self::Latency {
            what: what.into(),
            samples,
            goal,
        }
    }

    /// A value figure; `goal` is its goal in words and whether it is met.
    pub fn value(what: impl Into<String>, value: impl Into<String>, goal: Option<(String, bool)>) -> Self {
        Self::Value {
            what: what.into(),
            value: value.into(),
            goal,
        }
    }
}

/// The figures of one flow, with the notes that explain them.
pub struct Section {
    /// The marker key (`orders`, `stock`, `upload`, `webhooks`, `functions`, `screens`).
    pub key: &'static str,
    /// The heading.
    pub title: String,
    pub figures: Vec<Figure>,
    /// Sentences written under the table (set-up, what was counted).
    pub notes: Vec<String>,
}

impl Section {
    /// An empty section.
    pub fn new(key: &'static str, title: impl Into<String>) -> Self {
        Self {
            key,
            title: title.into(),
            figures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a figure and prints it at once (long runs show progress).
    pub fn push(&mut self, figure: Figure) {
        println!("{}", one_line(&figure));
        self.figures.push(figure);
    }

    /// Adds a note and prints it.
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("  {note}");
        self.notes.push(note);
    }
}

/// The `p`-quantile (0..=1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A duration in the unit that reads best: µs under 1 ms, ms under 10 s, else s.
pub fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 10e6 {
        format!("{:.1} ms", micros / 1000.0)
    } else {
        format!("{:.1} s", micros / 1e6)
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn one_line(figure: &Figure) -> String {
    match figure {
        Figure::Latency { what, samples, goal } => {
            let mut sorted = samples.clone();
            sorted.sort();
            if sorted.is_empty() {
                return format!("{what}: no samples");
            }
            let goal = goal.map_or_else(String::new, |g| {
                format!(" (goal p99 <= {}: {})", human(g), met(quantile(&sorted, 0.99) <= g))
            });
            format!(
                "{what}: n={} p50 {} p95 {} p99 {} max {}{goal}",
                sorted.len(),
                human(quantile(&sorted, 0.5)),
                human(quantile(&sorted, 0.95)),
                human(quantile(&sorted, 0.99)),
                human(sorted[sorted.len() - 1]),
            )
        }
        Figure::Value { what, value, goal } => {
            let goal = goal
                .as_ref()
                .map_or_else(String::new, |(g, ok)| format!(" (goal {g}: {})", met(*ok)));
            format!("{what}: {value}{goal}")
        }
    }
}

/// The section as Markdown: a latency table, a value table, then the notes.
fn markdown(section: &Section, machine: &str, command: &str) -> String {
    let mut out = String::new();
    let today = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z");
    let _ = writeln!(out, "<!-- bench:{} -->", section.key);
    let _ = writeln!(out, "## {}\n", section.title);
    let _ = writeln!(out, "Measured {today} on {machine} with `{command}`.\n");
    let latencies: Vec<_> = section
        .figures
        .iter()
        .filter(|f| matches!(f, Figure::Latency { .. }))
        .collect();
    if !latencies.is_empty() {
        let _ = writeln!(out, "| Figure | Samples | p50 | p95 | p99 | max | Goal (p99) |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
        for figure in latencies {
            if let Figure::Latency { what, samples, goal } = figure {
                let mut sorted = samples.clone();
                sorted.sort();
                if sorted.is_empty() {
                    let _ = writeln!(out, "| {what} | 0 | | | | | |");
                    continue;
                }
                let p99 = quantile(&sorted, 0.99);
                let goal = goal.map_or_else(String::new, |g| format!("≤ {}: {}", human(g), met(p99 <= g)));
                let _ = writeln!(
                    out,
                    "| {what} | {} | {} | {} | {} | {} | {goal} |",
                    sorted.len(),
                    human(quantile(&sorted, 0.5)),
                    human(quantile(&sorted, 0.95)),
                    human(p99),
                    human(sorted[sorted.len() - 1]),
                );
            }
        }
        out.push('\n');
    }
    let values: Vec<_> = section
        .figures
        .iter()
        .filter(|f| matches!(f, Figure::Value { .. }))
        .collect();
    if !values.is_empty() {
        let _ = writeln!(out, "| Figure | Value | Goal |");
        let _ = writeln!(out, "|---|---:|---|");
        for figure in values {
            if let Figure::Value { what, value, goal } = figure {
                let goal = goal
                    .as_ref()
                    .map_or_else(String::new, |(g, ok)| format!("{g}: {}", met(*ok)));
                let _ = writeln!(out, "| {what} | {value} | {goal} |");
            }
        }
        out.push('\n');
    }
    for note in &section.notes {
        let _ = writeln!(out, "- {note}");
    }
    if !section.notes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "<!-- /bench:{} -->", section.key);
    out
}

/// The machine in one phrase: CPU model, cores, memory (from `/proc`).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores of {cpu}, {memory_gb:.0} GB, {}", std::env::consts::ARCH)
}

/// Replaces (or appends) `section` in the Markdown file at `path`.
pub fn write(path: &Path, section: &Section, command: &str) -> anyhow::Result<()> {
    let body = markdown(section, &machine(), command);
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let (open, close) = (
        format!("<!-- bench:{} -->", section.key),
        format!("<!-- /bench:{} -->\n", section.key),
    );
    let updated = match (current.find(&open), current.find(&close)) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{body}{}", &current[..start], &current[end + close.len()..])
        }
        _ => format!("{current}{}{body}", if current.is_empty() { "" } else { "\n" }),
    };
    std::fs::write(path, updated)?;
    println!("wrote the {} figures to {}", section.key, path.display());
    Ok(())
}
