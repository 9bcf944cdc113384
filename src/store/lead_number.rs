//! Lead numbers from the agency's template (L5), e.g. `L-{year}-{seq:05}` → `L-2026-00042`.
//!
//! A manager writes the template, and it runs inside the ingest writer for every lead of the
//! agency, so it is checked in full when saved ([`validate_lead_number_template`]) and the
//! formatter is total and bounded even for a template stored before those checks existed.

/// The widest `{seq:N}` accepted: 12 digits numbers a trillion leads.
pub const MAX_SEQ_WIDTH: usize = 12;
/// Longest template a manager may save, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 60;
/// Longest lead number the formatter ever returns, in characters.
pub const MAX_NUMBER_CHARS: usize = 80;

/// Why a template was refused, in words for the manager.
#[derive(Debug, PartialEq, Eq)]
pub struct TemplateError(pub String);

/// Accepts a template only if every `{…}` is `{year}`, `{seq}` or `{seq:N}` with
/// 1 ≤ N ≤ [`MAX_SEQ_WIDTH`], `{seq…}` appears, and the text is at most
/// [`MAX_TEMPLATE_CHARS`] characters.
pub fn validate_lead_number_template(template: &str) -> Result<(), TemplateError> {
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(TemplateError(format!(
            "the template is longer than {MAX_TEMPLATE_CHARS} characters"
        )));
    }
    let mut has_seq = false;
    let mut rest = template;
    while let Some(start) = rest.find(['{', '}']) {
        if rest[start..].starts_with('}') {
            return Err(TemplateError("a \"}\" without its \"{\"".into()));
        }
        let Some(end) = rest[start..].find('}') else {
            return Err(TemplateError("a \"{\" without its \"}\"".into()));
        };
        let token = &rest[start + 1..start + end];
        match token.split_once(':') {
            None if token == "year" => {}
            None if token == "seq" => has_seq = true,
            Some(("seq", width)) => {
                let ok = !width.is_empty()
                    && width.len() <= 3
                    && width.bytes().all(|b| b.is_ascii_digit())
                    && matches!(width.parse::<usize>(), Ok(1..=MAX_SEQ_WIDTH));
                if !ok {
                    return Err(TemplateError(format!(
                        "{{seq:N}} takes a width N from 1 to {MAX_SEQ_WIDTH}"
                    )));
                }
                has_seq = true;
            }
            _ => {
                return Err(TemplateError(format!(
                    "unknown field {{{token}}}: use {{year}}, {{seq}} or {{seq:N}}"
                )))
            }
        }
        rest = &rest[start + end + 1..];
    }
    if !has_seq {
        return Err(TemplateError(
            "the template must contain {seq} or {seq:NN}".into(),
        ));
    }
    Ok(())
}

/// Formats `L-{year}-{seq:05}`-style templates (L5). Never panics and never returns more than
/// [`MAX_NUMBER_CHARS`] characters: a width beyond [`MAX_SEQ_WIDTH`] counts as that width.
pub fn format_lead_number(template: &str, year: i32, seq: i64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return bounded(out);
        };
        let token = &rest[start + 1..start + end];
        match token.split_once(':') {
            None if token == "year" => out.push_str(&year.to_string()),
            None if token == "seq" => out.push_str(&seq.to_string()),
            Some(("seq", width)) => {
                let w = width
                    .trim_start_matches('0')
                    .parse::<usize>()
                    .unwrap_or(MAX_SEQ_WIDTH)
                    .min(MAX_SEQ_WIDTH);
                out.push_str(&format!("{seq:0w$}"));
            }
            _ => out.push_str(&rest[start..=start + end]),
        }
        if out.len() > MAX_NUMBER_CHARS * 4 {
            break;
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    bounded(out)
}

fn bounded(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_NUMBER_CHARS) {
        s.truncate(i);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_huge_width_stored_before_validation_is_bounded_not_a_panic() {
        assert_eq!(format_lead_number("{seq:70000}", 2026, 7), "000000000007");
        assert_eq!(format_lead_number("{seq:60000}", 2026, 7).len(), 12);
        assert_eq!(
            format_lead_number("{seq:99999999999999999999999}", 2026, 7).len(),
            12
        );
        let long = "{seq:12}".repeat(100);
        assert_eq!(
            format_lead_number(&long, 2026, 7).chars().count(),
            MAX_NUMBER_CHARS
        );
    }

    #[test]
    fn templates_are_checked_in_full() {
        for ok in [
            "L-{year}-{seq:05}",
            "{seq}",
            "{seq:12}",
            "AP {seq:1}/{year}",
        ] {
            assert_eq!(validate_lead_number_template(ok), Ok(()), "{ok}");
        }
        for bad in [
            "{seq:70000}",
            "{seq:60000}",
            "{seq:13}",
            "{seq:0}",
            "{seq:}",
            "{seq:-1}",
            "{seq:+5}",
            "{year}",
            "L-{seq",
            "L-}{seq}",
            "{seq}{x}",
            "{seq:5:5}",
        ] {
            assert!(validate_lead_number_template(bad).is_err(), "{bad}");
        }
        assert!(validate_lead_number_template(&format!("{}{{seq}}", "x".repeat(60))).is_err());
    }
}
