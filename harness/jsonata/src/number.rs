//! Numbers as JavaScript writes them: jsonata-js's output is whatever `Number.prototype.toString`
//! and `toPrecision(15)` produce, so `$string(1e21)` is `"1e+21"` and `$string(0.1 + 0.2)` is `"0.3"`.

/// The shortest digits that read back as `n` (`n` finite and positive), and the decimal exponent
/// of the first one.
fn shortest_digits(n: f64) -> (String, i32) {
    // Rust's `{:e}` without a precision writes the shortest round-trip digits, as ECMAScript asks.
    let text = format!("{n:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    (mantissa.replace('.', ""), exponent.parse().unwrap_or(0))
}

/// `Number.prototype.toString()` (ECMAScript's Number::toString, radix 10).
pub fn to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n == 0.0 {
        return "0".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let (digits, exponent) = shortest_digits(n.abs());
    let k = digits.len() as i32;
    // ECMAScript's n: the position of the decimal point relative to the first digit.
    let point = exponent + 1;
    let body = if k <= point && point <= 21 {
        format!("{digits}{}", "0".repeat((point - k) as usize))
    } else if 0 < point && point <= 21 {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let rest = if k > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let e = point - 1;
        format!("{}{rest}e{}{}", &digits[..1], if e < 0 { "-" } else { "+" }, e.abs())
    };
    format!("{sign}{body}")
}

/// `Number(n.toPrecision(15))`: how jsonata-js rounds every number it writes as JSON text.
pub fn to_precision_15(n: f64) -> f64 {
    if !n.is_finite() || n == 0.0 {
        return n;
    }
    format!("{n:.14e}").parse().unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        for (n, text) in [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789.125, "123456789.125"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(to_string(n), text, "{n:e}");
        }
        assert_eq!(to_string(to_precision_15(0.1 + 0.2)), "0.3");
        assert_eq!(to_string(to_precision_15(1.234_567_890_123_456_7)), "1.23456789012346");
    }
}
