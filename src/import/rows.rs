//! One row's own checks, before the agency is consulted: required cells, lengths, the phone to
//! E.164, e-mails, prices and counts. A problem is a code (`reason`) with its column (`field`)
//! and what was typed (`detail`): the page words it in pt-BR (static/js/importar-motivos.js).

use super::{Column, Columns, Kind};
use serde::{Deserialize, Serialize};

/// Why a row cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// The column at fault, by its pt-BR name (`telefone`, `corretor`…).
    pub field: String,
    /// `required`, `too_long`, `phone_invalid`, `email_invalid`, `broker_unknown`,
    /// `department_unknown`, `property_unknown`, `kind_invalid`, `purpose_invalid`,
    /// `price_invalid`, `number_invalid`, `too_many_properties`.
    pub reason: String,
    /// What was typed, or the limit.
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(field: &str, reason: &str, detail: Option<String>) -> Problem {
        Problem {
            field: field.into(),
            reason: reason.into(),
            detail,
        }
    }
}

/// A client row as it will be written (references still by name until staged).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientLine {
    pub name: String,
    /// E.164 once checked; as typed in an invalid row.
    pub phone: String,
    pub email: Option<String>,
    pub owner_email: Option<String>,
    pub department: Option<String>,
    #[serde(default)]
    pub department_id: Option<i64>,
    pub notes: Option<String>,
    pub property_codes: Vec<String>,
    #[serde(default)]
    pub property_ids: Vec<i64>,
    #[serde(default)]
    pub broker_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PropertyLine {
    pub code: String,
    pub kind: String,
    pub purpose: String,
    pub price_cents: Option<i64>,
    pub neighbourhood: Option<String>,
    pub bedrooms: Option<i64>,
    pub parking_spaces: Option<i64>,
    pub address: Option<String>,
    pub captador_email: Option<String>,
    #[serde(default)]
    pub captador_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum Parsed {
    Client(ClientLine),
    Property(PropertyLine),
}

impl Parsed {
    /// The phone (clients) or code (properties) that finds duplicates.
    pub fn key(&self) -> &str {
        match self {
            Parsed::Client(c) => &c.phone,
            Parsed::Property(p) => &p.code,
        }
    }
}

/// A data row: its line in the file, what it holds, and its problem if it has one.
#[derive(Debug, Clone)]
pub struct Line {
    pub line: i64,
    pub parsed: Parsed,
    pub problem: Option<Problem>,
}

struct Check<'a> {
    columns: &'a Columns,
    cells: &'a [String],
    problem: Option<Problem>,
}

impl Check<'_> {
    fn fail(&mut self, field: &str, reason: &str, detail: Option<String>) {
        if self.problem.is_none() {
            self.problem = Some(Problem::new(field, reason, detail));
        }
    }

    fn text(&mut self, c: Column, field: &str, max: usize) -> Option<String> {
        let v = self.columns.get(self.cells, c)?;
        if v.chars().count() > max {
            self.fail(field, "too_long", Some(max.to_string()));
        }
        Some(v.chars().take(max).collect())
    }

    fn required(&mut self, c: Column, field: &str, max: usize) -> String {
        let v = self.text(c, field, max);
        if v.is_none() {
            self.fail(field, "required", None);
        }
        v.unwrap_or_default()
    }

    fn email(&mut self, c: Column, field: &str) -> Option<String> {
        let v = self.text(c, field, 200)?.to_lowercase();
        if !looks_like_email(&v) {
            self.fail(field, "email_invalid", Some(v.clone()));
        }
        Some(v)
    }

    fn count(&mut self, c: Column, field: &str) -> Option<i64> {
        let v = self.text(c, field, 10)?;
        match v.parse::<i64>() {
            Ok(n) if (0..=999).contains(&n) => Some(n),
            _ => {
                self.fail(field, "number_invalid", Some(v));
                None
            }
        }
    }
}

fn looks_like_email(v: &str) -> bool {
    let mut parts = v.splitn(2, '@');
    let (Some(user), Some(host)) = (parts.next(), parts.next()) else {
        return false;
    };
    !user.is_empty()
        && host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !v.contains(char::is_whitespace)
        && !host.contains('@')
}

/// Checks one data row of `kind`.
pub fn check_row(kind: Kind, columns: &Columns, line: i64, cells: &[String]) -> Line {
    let mut ck = Check {
        columns,
        cells,
        problem: None,
    };
    let parsed = match kind {
        Kind::Clients => Parsed::Client(client(&mut ck)),
        Kind::Properties => Parsed::Property(property(&mut ck)),
    };
    Line {
        line,
        parsed,
        problem: ck.problem,
    }
}

/// The most property codes one client row may name.
const MAX_CODES: usize = 20;

fn client(ck: &mut Check) -> ClientLine {
    let name = ck.required(Column::Name, "nome", 200);
    let typed = ck.required(Column::Phone, "telefone", 40);
    let phone = if typed.is_empty() {
        typed
    } else {
        match crate::phone::normalize(&typed) {
            Ok(p) => p,
            Err(_) => {
                ck.fail("telefone", "phone_invalid", Some(typed.clone()));
                typed
            }
        }
    };
    let email = ck.email(Column::Email, "email");
    let owner_email = ck.email(Column::OwnerEmail, "corretor");
    let department = ck.text(Column::Department, "departamento", 100);
    let notes = ck.text(Column::Notes, "observacoes", 4000);
    let mut property_codes: Vec<String> = ck
        .text(Column::PropertyCodes, "imoveis", 2000)
        .unwrap_or_default()
        .split(|c: char| c == '|' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    property_codes.dedup();
    if property_codes.len() > MAX_CODES {
        ck.fail(
            "imoveis",
            "too_many_properties",
            Some(MAX_CODES.to_string()),
        );
        property_codes.truncate(MAX_CODES);
    }
    ClientLine {
        name,
        phone,
        email,
        owner_email,
        department,
        notes,
        property_codes,
        ..ClientLine::default()
    }
}

fn property(ck: &mut Check) -> PropertyLine {
    let code = ck.required(Column::Code, "codigo", 64);
    let typed_kind = ck.required(Column::PropertyKind, "tipo", 40);
    let kind = match super::columns::fold(&typed_kind).as_str() {
        "" => String::new(),
        "apartamento" | "apartment" | "apto" | "ap" | "flat" | "cobertura" | "kitnet" => {
            "apartment".into()
        }
        "casa" | "house" | "sobrado" | "casadecondominio" => "house".into(),
        "terreno" | "land" | "lote" => "land".into(),
        "comercial" | "commercial" | "sala" | "salacomercial" | "loja" | "galpao" => {
            "commercial".into()
        }
        _ => {
            ck.fail("tipo", "kind_invalid", Some(typed_kind.clone()));
            typed_kind
        }
    };
    let typed_purpose = ck.required(Column::Purpose, "transacao", 40);
    let purpose = match super::columns::fold(&typed_purpose).as_str() {
        "" => String::new(),
        "venda" | "sale" | "sell" | "comprar" | "compra" => "sale".into(),
        "locacao" | "aluguel" | "rent" | "rental" | "alugar" => "rent".into(),
        _ => {
            ck.fail("transacao", "purpose_invalid", Some(typed_purpose.clone()));
            typed_purpose
        }
    };
    let price_cents = ck.text(Column::Price, "preco", 40).and_then(|v| {
        let p = price_cents(&v);
        if p.is_none() {
            ck.fail("preco", "price_invalid", Some(v));
        }
        p
    });
    PropertyLine {
        code,
        kind,
        purpose,
        price_cents,
        neighbourhood: ck.text(Column::Neighbourhood, "bairro", 100),
        bedrooms: ck.count(Column::Bedrooms, "quartos"),
        parking_spaces: ck.count(Column::Parking, "vagas"),
        address: ck.text(Column::Address, "endereco", 300),
        captador_email: ck.email(Column::CaptadorEmail, "captador"),
        captador_id: None,
    }
}

/// A price as people type it in Brazil: `R$ 850.000,00`, `850000`, `850.000`, `1234,5`, or
/// with a decimal point (`850000.50`). In cents.
pub fn price_cents(typed: &str) -> Option<i64> {
    let s: String = typed
        .trim()
        .trim_start_matches("R$")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    let (int, frac) = if let Some((i, f)) = s.rsplit_once(',') {
        (i.replace('.', ""), f.to_string())
    } else if s.matches('.').count() == 1 && s.rsplit_once('.').is_some_and(|(_, f)| f.len() != 3) {
        let (i, f) = s.rsplit_once('.')?;
        (i.to_string(), f.to_string())
    } else {
        (s.replace('.', ""), String::new())
    };
    if int.is_empty() || int.contains(',') || frac.len() > 2 || frac.contains(['.', ',']) {
        return None;
    }
    let units: i64 = int.parse().ok()?;
    let cents: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    units.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::price_cents;

    #[test]
    fn prices_read_as_brazilians_type_them() {
        assert_eq!(price_cents("R$ 850.000,00"), Some(85_000_000));
        assert_eq!(price_cents("850000"), Some(85_000_000));
        assert_eq!(price_cents("850.000"), Some(85_000_000));
        assert_eq!(price_cents("1.250.000"), Some(125_000_000));
        assert_eq!(price_cents("6500,5"), Some(650_050));
        assert_eq!(price_cents("6500.50"), Some(650_050));
        assert_eq!(price_cents("abc"), None);
        assert_eq!(price_cents("1,2,3"), None);
    }
}
