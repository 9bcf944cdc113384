//! A statement built piece by piece (the client search's optional filters), with its
//! arguments numbered `$1…` as it grows — both backends take `$n`.

use super::{StoreError, StoreResult};
use sqlx::any::AnyArguments;
use sqlx::Any;

/// A statement and its arguments, numbered `$1…` as it grows (both backends take `$n`).
pub(crate) struct Sql {
    pub text: String,
    args: Vec<Arg>,
}

enum Arg {
    I(i64),
    S(String),
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }
    fn next(&self) -> String {
        format!("${}", self.args.len() + 1)
    }
    pub fn int(&mut self, v: impl Into<i64>) -> String {
        let p = self.next();
        self.args.push(Arg::I(v.into()));
        p
    }
    pub fn text_arg(&mut self, v: &str) -> String {
        let p = self.next();
        self.args.push(Arg::S(v.to_string()));
        p
    }
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    /// The arguments, bound in order.
    fn arguments(&self) -> StoreResult<AnyArguments<'_>> {
        use sqlx::Arguments;
        let mut out = AnyArguments::default();
        for a in &self.args {
            match a {
                Arg::I(v) => out.add(*v),
                Arg::S(v) => out.add(v.as_str()),
            }
            .map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?;
        }
        Ok(out)
    }
    pub fn query(&self) -> StoreResult<sqlx::query::Query<'_, Any, AnyArguments<'_>>> {
        Ok(sqlx::query_with(&self.text, self.arguments()?))
    }
    pub fn query_as<'q, T>(
        &'q self,
    ) -> StoreResult<sqlx::query::QueryAs<'q, Any, T, AnyArguments<'q>>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        Ok(sqlx::query_as_with(&self.text, self.arguments()?))
    }
}
