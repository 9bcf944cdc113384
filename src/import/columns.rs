//! The header line: which column is which, by its name in pt-BR or English, any case, accents
//! and punctuation ignored ("E-mail", "email", "Corretor (e-mail)" → corretoremail).

use super::Kind;

/// A column the import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    Phone,
    Email,
    OwnerEmail,
    Department,
    Notes,
    PropertyCodes,
    Code,
    PropertyKind,
    Purpose,
    Price,
    Neighbourhood,
    Bedrooms,
    Parking,
    Address,
    CaptadorEmail,
}

const CLIENT_NAMES: &[(Column, &[&str])] = &[
    (Column::Name, &["nome", "name", "cliente", "nomecompleto"]),
    (
        Column::Phone,
        &["telefone", "phone", "celular", "fone", "whatsapp"],
    ),
    (Column::Email, &["email", "mail"]),
    (
        Column::OwnerEmail,
        &[
            "corretor",
            "corretoremail",
            "emailcorretor",
            "emaildocorretor",
            "owneremail",
            "owner",
            "brokeremail",
            "broker",
        ],
    ),
    (Column::Department, &["departamento", "department"]),
    (
        Column::Notes,
        &["observacoes", "observacao", "obs", "notes", "notas"],
    ),
    (
        Column::PropertyCodes,
        &[
            "imoveis",
            "imovel",
            "codigosimoveis",
            "propertycodes",
            "properties",
            "property",
        ],
    ),
];

const PROPERTY_NAMES: &[(Column, &[&str])] = &[
    (Column::Code, &["codigo", "code", "referencia", "ref"]),
    (Column::PropertyKind, &["tipo", "type", "kind"]),
    (
        Column::Purpose,
        &[
            "transacao",
            "transaction",
            "finalidade",
            "purpose",
            "negocio",
        ],
    ),
    (Column::Price, &["preco", "price", "valor", "value"]),
    (
        Column::Neighbourhood,
        &["bairro", "neighbourhood", "neighborhood"],
    ),
    (
        Column::Bedrooms,
        &["quartos", "dormitorios", "bedrooms", "dorms"],
    ),
    (
        Column::Parking,
        &["vagas", "garagem", "parking", "parkingspaces"],
    ),
    (Column::Address, &["endereco", "address"]),
    (
        Column::CaptadorEmail,
        &[
            "captador",
            "captadoremail",
            "emailcaptador",
            "emaildocaptador",
            "captor",
            "captoremail",
        ],
    ),
];

/// The columns a kind cannot do without, with the name the error gives.
fn required(kind: Kind) -> &'static [(Column, &'static str)] {
    match kind {
        Kind::Clients => &[(Column::Name, "nome"), (Column::Phone, "telefone")],
        Kind::Properties => &[
            (Column::Code, "codigo"),
            (Column::PropertyKind, "tipo"),
            (Column::Purpose, "transacao"),
        ],
    }
}

/// Lower case, accents folded, letters and digits only.
pub fn fold(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(crate::store::fold_char)
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Where each known column is in a row, and the headers nothing reads.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    at: Vec<(Column, usize)>,
    pub ignored: Vec<String>,
}

impl Columns {
    /// Maps a header line. `Err` names the first required column missing; a column named twice
    /// is read from its first place.
    pub fn map(kind: Kind, header: &[String]) -> Result<Columns, String> {
        let names = match kind {
            Kind::Clients => CLIENT_NAMES,
            Kind::Properties => PROPERTY_NAMES,
        };
        let mut out = Columns::default();
        for (i, h) in header.iter().enumerate() {
            let f = fold(h);
            match names
                .iter()
                .find(|(_, aliases)| aliases.contains(&f.as_str()))
            {
                Some((c, _)) if out.index(*c).is_none() => out.at.push((*c, i)),
                _ if h.trim().is_empty() => {}
                _ => out.ignored.push(h.trim().to_string()),
            }
        }
        for (c, name) in required(kind) {
            if out.index(*c).is_none() {
                return Err((*name).to_string());
            }
        }
        Ok(out)
    }

    fn index(&self, c: Column) -> Option<usize> {
        self.at.iter().find(|(k, _)| *k == c).map(|(_, i)| *i)
    }

    /// The cell of column `c` in `row`, trimmed; `None` when absent or empty.
    pub fn get<'a>(&self, row: &'a [String], c: Column) -> Option<&'a str> {
        let v = row.get(self.index(c)?)?.trim();
        (!v.is_empty()).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Vec<String> {
        s.split(';').map(str::to_string).collect()
    }

    #[test]
    fn pt_br_and_english_headers_map_to_the_same_columns() {
        let pt = Columns::map(
            Kind::Clients,
            &header("Nome;Telefone;E-mail;Corretor (e-mail);Observações;Imóveis;Cadastrado em"),
        )
        .unwrap_or_default();
        let row = header("Ana;11 98765-4321;a@b.com;c@d.com;oi;AP-1;01/01/2026");
        assert_eq!(pt.get(&row, Column::OwnerEmail), Some("c@d.com"));
        assert_eq!(pt.get(&row, Column::PropertyCodes), Some("AP-1"));
        assert_eq!(pt.ignored, vec!["Cadastrado em".to_string()]);
        let en = Columns::map(Kind::Clients, &header("name;phone;owner_email;notes"))
            .unwrap_or_default();
        assert_eq!(
            en.get(&header("Ana;1;x@y.z;n"), Column::OwnerEmail),
            Some("x@y.z")
        );
    }

    #[test]
    fn a_missing_required_column_is_named() {
        assert_eq!(
            Columns::map(Kind::Clients, &header("nome;email")).err(),
            Some("telefone".to_string())
        );
        assert_eq!(
            Columns::map(Kind::Properties, &header("codigo;tipo")).err(),
            Some("transacao".to_string())
        );
    }
}
