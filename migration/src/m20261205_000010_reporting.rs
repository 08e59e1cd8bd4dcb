//! Reporting: every Dutch municipality with its province, from CBS's list of 1 January 2025
//! (`data/cbs_municipalities.csv`: there is no internet to fetch it from), so reports can count
//! by province. A municipality that is already here keeps its id and name and gains its province.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MUNICIPALITIES: &str = include_str!("../data/cbs_municipalities.csv");

/// `(code, name, province)` of each line after the header; a quoted name may hold a comma.
fn rows() -> Vec<(&'static str, String, &'static str)> {
    MUNICIPALITIES
        .lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let (code, rest) = line.split_once(',')?;
            let (name, province) = rest.rsplit_once(',')?;
            let name = name.trim_matches('"').replace("\"\"", "\"");
            Some((code, name, province))
        })
        .collect()
}

/// A municipality's id, the same on every database: derived from its code.
fn id_of(code: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("cbs-municipality:{code}").as_bytes(),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("municipalities")
                    .add_column(string_len_null("province_code", 4))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let now = chrono::Utc::now();
        for chunk in rows().chunks(100) {
            let mut insert = Query::insert();
            insert
                .into_table("municipalities")
                .columns([
                    "id",
                    "cbs_code",
                    "name",
                    "province_code",
                    "created_at",
                    "updated_at",
                ])
                .on_conflict(
                    OnConflict::column("cbs_code")
                        .update_column("province_code")
                        .to_owned(),
                );
            for (code, name, province) in chunk {
                insert
                    .values([
                        id_of(code).into(),
                        (*code).into(),
                        name.clone().into(),
                        (*province).into(),
                        now.into(),
                        now.into(),
                    ])
                    .map_err(|error| DbErr::Custom(error.to_string()))?;
            }
            db.execute(&insert).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_municipality_has_a_code_a_name_and_a_province() {
        let rows = rows();
        assert_eq!(rows.len(), 342);
        assert!(rows.iter().all(|(code, name, province)| code.len() == 6
            && code.starts_with("GM")
            && !name.is_empty()
            && province.starts_with("PV")));
        assert!(
            rows.iter()
                .any(|(_, name, _)| name == "Nuenen, Gerwen en Nederwetten")
        );
    }

    #[test]
    fn ids_are_uuids_and_differ_per_code() {
        assert_ne!(id_of("GM0518"), id_of("GM0519"));
    }
}
