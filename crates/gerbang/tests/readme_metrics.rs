//! The README's table of metrics is the list in `gerbang_core::metrics::ALL`, row for row: a
//! metric added, renamed or given another label fails here until the README says so.
#![allow(clippy::print_stderr)] // Says why it checked nothing.

#[test]
fn the_readme_metrics_table_is_the_list_the_crates_record() {
    let readme = include_str!("../../../README.md");
    let rows: Vec<&str> = readme.lines().filter(|line| line.starts_with("| `gerbang_")).collect();
    if rows.is_empty() {
        eprintln!("the README has no table of metrics yet: paste gerbang::metrics::markdown_table() into it");
        return;
    }
    let table = gerbang::metrics::markdown_table();
    let listed: Vec<&str> = table.lines().filter(|line| line.starts_with("| `gerbang_")).collect();
    assert_eq!(
        rows, listed,
        "the README's metrics table differs from gerbang_core::metrics::ALL; its text is:\n{table}"
    );
}
