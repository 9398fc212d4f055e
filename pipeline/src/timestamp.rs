//! Timestamps in the seed's format: UTC, microseconds, `+00:00` (`2026-01-23T14:58:59.051433+00:00`).

use time::OffsetDateTime;
use time::macros::format_description;

/// Now, in the job table's timestamp format.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn format(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("a UTC timestamp always formats")
}

/// Parses a timestamp in the table's format (any RFC 3339 offset is accepted).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_seed() {
        let at = parse("2026-01-23T14:58:59.051433+00:00").unwrap();
        assert_eq!(format(at), "2026-01-23T14:58:59.051433+00:00");
        let shape = now();
        assert_eq!(shape.len(), "2026-01-23T14:58:59.051433+00:00".len(), "{shape}");
        assert!(shape.ends_with("+00:00"));
    }
}
