//! Lead numbers from the agency's template (L5), e.g. `L-{year}-{seq:05}` → `L-2026-00042`.

/// Formats `L-{year}-{seq:05}`-style templates (L5).
pub fn format_lead_number(template: &str, year: i32, seq: i64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let token = &rest[start + 1..start + end];
        match token.split_once(':') {
            None if token == "year" => out.push_str(&year.to_string()),
            None if token == "seq" => out.push_str(&seq.to_string()),
            Some(("seq", width)) => {
                let w: usize = width.trim_start_matches('0').parse().unwrap_or(0);
                out.push_str(&format!("{seq:0w$}"));
            }
            _ => out.push_str(&rest[start..=start + end]),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::format_lead_number;

    #[test]
    fn lead_numbers_follow_the_template() {
        assert_eq!(
            format_lead_number("L-{year}-{seq:05}", 2026, 42),
            "L-2026-00042"
        );
        assert_eq!(format_lead_number("{seq}", 2026, 7), "7");
        assert_eq!(
            format_lead_number("X{unknown}-{seq:3}", 2026, 7),
            "X{unknown}-007"
        );
        assert_eq!(format_lead_number("broken {seq", 2026, 7), "broken {seq");
    }
}
