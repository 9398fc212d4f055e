//! Placeholder until the port of jsonata-js's datetime.js lands (same API).
use crate::Error;

fn missing() -> Error {
    Error::runtime("D3110", "date/time pictures are not implemented yet")
}
pub fn format_integer(_value: f64, _picture: &str) -> Result<String, Error> {
    Err(missing())
}
pub fn parse_integer(_value: &str, _picture: &str) -> Result<Option<f64>, Error> {
    Err(missing())
}
pub fn from_millis(_millis: f64, _picture: Option<&str>, _timezone: Option<&str>) -> Result<String, Error> {
    Err(missing())
}
pub fn to_millis(_timestamp: &str, _picture: Option<&str>) -> Result<Option<f64>, Error> {
    Err(missing())
}
