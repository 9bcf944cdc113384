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
    // Digits and the separators people type; letters would be read as a keypad (vanity numbers).
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err("not a phone number");
    }
    let br = Some(phonenumber::country::Id::BR);
    let e164 = to_e164(br, trimmed)?;
    // Stored numbers are looked up by their E.164 form: it must read back as itself — both as
    // this function reads it (Brazil by default) and with no default country — or the same
    // client typed two ways would be two clients. Then normalising the result gives the result.
    let reads_back = |country| to_e164(country, &e164).is_ok_and(|again| again == e164);
    if reads_back(br) && reads_back(None) {
        Ok(e164)
    } else {
        Err("not a valid phone number")
    }
}

fn to_e164(country: Option<phonenumber::country::Id>, s: &str) -> Result<String, &'static str> {
    let parsed = phonenumber::parse(country, s).map_err(|_| "not a phone number")?;
    if !phonenumber::is_valid(&parsed) {
        return Err("not a valid phone number");
    }
    let out = parsed.format().mode(phonenumber::Mode::E164).to_string();
    let digits = out.strip_prefix('+').unwrap_or("");
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a valid phone number");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn the_same_number_typed_three_ways_is_one_number() -> Result<(), &'static str> {
        let a = normalize("(11) 98765-4321")?;
        let b = normalize("+55 11 98765 4321")?;
        let c = normalize("5511987654321").ok();
        assert_eq!(a, "+5511987654321");
        assert_eq!(a, b);
        assert!(c.is_none() || c.as_deref() == Some("+5511987654321"));
        Ok(())
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(normalize("").is_err());
        assert!(normalize("abc").is_err());
        assert!(normalize("123").is_err());
    }

    #[test]
    fn what_is_stored_reads_back_as_itself() -> Result<(), &'static str> {
        // Found by the phone fuzz target: a carrier-code number that did not read back, and
        // letters read as a keypad into 16 digits.
        assert!(normalize("(090) 0484-2160").is_err());
        assert!(normalize("+8 20u0255 01kmess0i").is_err());
        // Found by the 10-minute runs: accepted, but the result was refused when typed again.
        for typed in ["+1009)-05555055 0", "+4 109(0125 2005"] {
            if let Ok(e164) = normalize(typed) {
                assert_eq!(normalize(&e164).as_deref(), Ok(e164.as_str()), "{typed}");
            }
        }
        for typed in ["(11) 98765-4321", "+55 21 99876-5432", "(11) 3333-4444"] {
            let e164 = normalize(typed)?;
            assert_eq!(normalize(&e164).as_deref(), Ok(e164.as_str()));
        }
        Ok(())
    }
}
