//! Departments renamed, made the default, and removed. A removed department is kept (leads,
//! offers and the audit name it) but has no members, takes no new lead and is not listed;
//! its waiting leads move to the default department in the same transaction (docs/ROUTING.md).

use super::audit::{insert_audit, AuditEntry};
use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, DepartmentId, LeadId};

pub const DEPARTMENT_TAKEN: &str = "Já existe um departamento com esse nome.";
pub const DEFAULT_STAYS: &str =
    "O departamento padrão não pode ser removido: torne outro departamento o padrão antes.";

/// What removing a department did.
#[derive(Debug, Clone, Default)]
pub struct RemovedDepartment {
    /// Its waiting (or offered) leads, now in the default department.
    pub moved_leads: Vec<LeadId>,
    /// The brokers who were its members.
    pub members: Vec<BrokerId>,
}

impl Store {
    /// Renames a department (`Conflict(DEPARTMENT_TAKEN)` when another of the agency, removed
    /// ones included, has the name) and/or makes it the agency's default.
    pub async fn update_department(
        &self,
        agency: AgencyId,
        id: DepartmentId,
        name: Option<&str>,
        make_default: bool,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE departments SET name = COALESCE($3, name) \
             WHERE agency_id = $1 AND id = $2 AND removed_at_ms IS NULL",
        )
        .bind(agency)
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Duplicate(_) => StoreError::Conflict(DEPARTMENT_TAKEN.into()),
            other => other,
        })?;
        one_row(r)?;
        if make_default {
            sqlx::query("UPDATE departments SET is_default = CASE WHEN id = $2 THEN 1 ELSE 0 END WHERE agency_id = $1")
                .bind(agency)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a department: its members leave it, its waiting and offered leads move to the
    /// default department (each with an audit line saying so; a pending offer runs on, and
    /// its lead's next round is in the default department). `Conflict(DEFAULT_STAYS)` for the
    /// default department, `NotFound` for an unknown or already removed one.
    pub async fn remove_department(
        &self,
        agency: AgencyId,
        id: DepartmentId,
        now_ms: i64,
    ) -> StoreResult<RemovedDepartment> {
        let mut tx = self.begin_write().await?;
        let found: Option<(String, i64)> = sqlx::query_as(
            "SELECT name, is_default FROM departments WHERE agency_id = $1 AND id = $2 AND removed_at_ms IS NULL",
        )
        .bind(agency)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((name, is_default)) = found else {
            return Err(StoreError::NotFound);
        };
        if is_default != 0 {
            return Err(StoreError::Conflict(DEFAULT_STAYS.into()));
        }
        let target: Option<(DepartmentId, String)> = sqlx::query_as(
            "SELECT id, name FROM departments WHERE agency_id = $1 AND id <> $2 AND removed_at_ms IS NULL \
             ORDER BY is_default DESC, id LIMIT 1",
        )
        .bind(agency)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((target, target_name)) = target else {
            return Err(StoreError::Conflict(DEFAULT_STAYS.into()));
        };
        sqlx::query("UPDATE departments SET removed_at_ms = $3, is_default = 0 WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let members: Vec<BrokerId> = sqlx::query_scalar(
            "DELETE FROM broker_departments WHERE agency_id = $1 AND department_id = $2 RETURNING broker_id",
        )
        .bind(agency)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let moved_leads: Vec<LeadId> = sqlx::query_scalar(
            "UPDATE leads SET department_id = $3 WHERE agency_id = $1 AND department_id = $2 \
             AND state IN ('waiting', 'offered') RETURNING id",
        )
        .bind(agency)
        .bind(id)
        .bind(target)
        .fetch_all(&mut *tx)
        .await?;
        let reason = format!("department {name:?} removed; moved to {target_name:?}");
        for lead in &moved_leads {
            let entry = AuditEntry {
                agency,
                lead: Some(*lead),
                decision: "department_removed",
                reason: &reason,
                ..Default::default()
            };
            insert_audit(&mut tx, &entry, now_ms).await?;
        }
        tx.commit().await?;
        Ok(RemovedDepartment {
            moved_leads,
            members,
        })
    }
}
