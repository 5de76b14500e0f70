//! The JSON writer: the versioned `rigor.report/v1` document.

use super::model::RunReport;

/// Renders the report as pretty JSON (newline-terminated).
pub fn render(report: &RunReport) -> String {
    let mut text =
        serde_json::to_string_pretty(report).expect("the report model always serialises");
    text.push('\n');
    text
}
