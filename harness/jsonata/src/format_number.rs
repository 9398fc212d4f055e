//! Placeholder until the port of jsonata-js's formatNumber lands (same API).
use crate::Error;

pub fn format_number(_value: f64, _picture: &str, _options: &[(String, String)]) -> Result<String, Error> {
    Err(Error::runtime("D3080", "formatNumber is not implemented yet"))
}
pub fn format_base(_value: f64, _radix: Option<f64>) -> Result<String, Error> {
    Err(Error::runtime("D3100", "formatBase is not implemented yet"))
}
