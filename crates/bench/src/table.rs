//! The one table every run prints: what was measured, gerbang's figure, the baseline's, their
//! ratio, the goal and whether it is met; and, over several runs, the spread of each figure.

use std::fmt::Write as _;

/// A goal on a row's headline figure (its ratio when it has one, else its own figure).
#[derive(Clone, Copy)]
pub(crate) enum Goal {
    /// At most this much.
    AtMost(f64),
    /// At least this much.
    AtLeast(f64),
}

impl Goal {
    fn met(self, figure: f64) -> bool {
        match self {
            Self::AtMost(limit) => figure <= limit,
            Self::AtLeast(limit) => figure >= limit,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Self::AtMost(limit) => format!("<= {}{unit}", number(limit)),
            Self::AtLeast(limit) => format!(">= {}{unit}", number(limit)),
        }
    }
}

/// One measurement.
pub(crate) struct Row {
    what: String,
    ours: String,
    baseline: String,
    /// The ratio, and what it divides (`bare/ours`, …).
    ratio: Option<(f64, &'static str)>,
    /// The figure a goal judges when there is no ratio (per second), and its unit.
    figure: Option<(f64, &'static str)>,
    goal: Option<Goal>,
}

impl Row {
    /// A row comparing gerbang with a baseline.
    pub(crate) fn compare(
        what: impl Into<String>,
        ours: String,
        baseline: String,
        ratio: f64,
        of: &'static str,
    ) -> Self {
        Self { what: what.into(), ours, baseline, ratio: Some((ratio, of)), figure: None, goal: None }
    }

    /// A row of gerbang alone, judged on `figure` (in `unit`).
    pub(crate) fn alone(what: impl Into<String>, ours: String, figure: f64, unit: &'static str) -> Self {
        Self { what: what.into(), ours, baseline: String::new(), ratio: None, figure: Some((figure, unit)), goal: None }
    }

    pub(crate) fn goal(mut self, goal: Goal) -> Self {
        self.goal = Some(goal);
        self
    }

    /// The figure the goal judges and the spread reports.
    fn headline(&self) -> Option<f64> {
        self.ratio.map(|(ratio, _)| ratio).or(self.figure.map(|(figure, _)| figure))
    }

    fn unit(&self) -> &'static str {
        self.figure.map_or("", |(_, unit)| unit)
    }
}

/// The rows of one run, printed as a Markdown table.
pub(crate) fn render(rows: &[Row]) -> String {
    let header = ["what", "gerbang", "baseline", "ratio", "goal", "verdict"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            let ratio = row.ratio.map_or_else(String::new, |(ratio, of)| format!("{ratio:.3} ({of})"));
            let (goal, verdict) = match (row.goal, row.headline()) {
                (Some(goal), Some(figure)) => {
                    (goal.text(row.unit()), if goal.met(figure) { "meets goal" } else { "MISSES goal" }.to_owned())
                }
                _ => (String::new(), String::new()),
            };
            [row.what.clone(), row.ours.clone(), row.baseline.clone(), ratio, goal, verdict]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        out.push('|');
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(out, " {cell:<width$} |");
        }
        out.push('\n');
    };
    line(&mut out, &header.map(str::to_owned));
    line(&mut out, &widths.map(|width| "-".repeat(width)));
    for row in &cells {
        line(&mut out, row);
    }
    out
}

/// Over several runs: each row's headline figure, lowest, median and highest, and how many runs
/// met its goal. `runs` holds the rows of each run, the same rows in the same order.
pub(crate) fn spread(runs: &[Vec<Row>]) -> String {
    let Some(first) = runs.first() else { return String::new() };
    let mut out = String::from("| what | lowest | median | highest | runs meeting goal |\n|---|---|---|---|---|\n");
    for (index, row) in first.iter().enumerate() {
        let mut figures: Vec<f64> = runs.iter().filter_map(|rows| rows.get(index)?.headline()).collect();
        if figures.is_empty() {
            continue;
        }
        figures.sort_by(f64::total_cmp);
        let met = row.goal.map_or_else(String::new, |goal| {
            format!("{} of {}", figures.iter().filter(|&&figure| goal.met(figure)).count(), figures.len())
        });
        let show = |figure: f64| if row.ratio.is_some() { format!("{figure:.3}") } else { number(figure) };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {met} |",
            row.what,
            show(figures[0]),
            show(figures[figures.len() / 2]),
            show(figures[figures.len() - 1])
        );
    }
    out
}

/// A number as the table shows it: whole numbers with thousands separated, small ones with
/// their decimals.
pub(crate) fn number(value: f64) -> String {
    if value.abs() < 100.0 {
        return format!("{value:.2}").trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    let digits = format!("{value:.0}");
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && digit.is_ascii_digit() {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(number(1_234_567.4), "1 234 567");
        assert_eq!(number(40_000.0), "40 000");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(1.03), "1.03");
        assert_eq!(number(0.9), "0.9");
    }

    #[test]
    fn a_row_meets_or_misses_its_goal_on_its_ratio_or_figure() {
        let rows = [
            Row::compare("verify", "15 µs".into(), "14 µs".into(), 0.93, "bare/ours").goal(Goal::AtLeast(0.9)),
            Row::alone("webhooks", "39 000/s".into(), 39_000.0, "/s").goal(Goal::AtLeast(40_000.0)),
            Row::compare("parse", "1 µs".into(), "0.6 µs".into(), 1.6, "ours/hand"),
        ];
        let table = render(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[0].starts_with("| what") && lines[1].starts_with("| ---"));
        assert!(
            lines[2].contains("0.930 (bare/ours)") && lines[2].contains(">= 0.9") && lines[2].contains("meets goal")
        );
        assert!(lines[3].contains(">= 40 000/s") && lines[3].contains("MISSES goal"));
        assert!(!lines[4].contains("goal"));
        let widths: Vec<usize> = lines.iter().map(|line| line.chars().count()).collect();
        assert!(widths.iter().all(|&width| width == widths[0]), "aligned columns: {widths:?}");
    }

    #[test]
    fn spread_reports_lowest_median_highest_and_runs_meeting_the_goal() {
        let run = |ratio: f64| {
            vec![Row::compare("sign", String::new(), String::new(), ratio, "bare/ours").goal(Goal::AtLeast(1.0))]
        };
        let table = spread(&[run(1.2), run(0.8), run(1.1)]);
        assert!(table.contains("| sign | 0.800 | 1.100 | 1.200 | 2 of 3 |"), "{table}");
    }
}
