//! A JUnit XML report of a `harness run`, for CI systems that read one.

use std::time::Duration;

use sfn::escape_markup;

/// One scenario's line in the report.
pub struct Case {
    pub name: String,
    pub elapsed: Duration,
    /// Empty when it passed.
    pub problems: Vec<String>,
}

pub fn render(cases: &[Case]) -> String {
    let failed = cases.iter().filter(|c| !c.problems.is_empty()).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\">\n",
        cases.len()
    );
    for case in cases {
        xml.push_str(&format!(
            "  <testcase classname=\"scenarios\" name=\"{}\" time=\"{:.3}\">",
            escape_markup(&case.name),
            case.elapsed.as_secs_f64()
        ));
        if !case.problems.is_empty() {
            xml.push_str(&format!(
                "<failure message=\"scenario failed\">{}</failure>",
                escape_markup(&case.problems.join("\n"))
            ));
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("</testsuite>\n");
    xml
}
