//! The closed sets a report counts by: provinces (CBS codes) and role groups.

use entity::enums::ParticipantRole;

/// The twelve provinces as CBS codes them, then participants whose municipality is not known.
pub const PROVINCES: [(&str, &str); 13] = [
    ("PV20", "Groningen"),
    ("PV21", "Fryslân"),
    ("PV22", "Drenthe"),
    ("PV23", "Overijssel"),
    ("PV24", "Flevoland"),
    ("PV25", "Gelderland"),
    ("PV26", "Utrecht"),
    ("PV27", "Noord-Holland"),
    ("PV28", "Zuid-Holland"),
    ("PV29", "Zeeland"),
    ("PV30", "Noord-Brabant"),
    ("PV31", "Limburg"),
    (UNKNOWN, "Onbekend"),
];

pub const UNKNOWN: &str = "UNKNOWN";

/// A province's place in `PROVINCES`; a participant without a known municipality is "unknown".
pub fn province_index(code: Option<&str>) -> usize {
    code.and_then(|code| PROVINCES.iter().position(|(c, _)| *c == code))
        .unwrap_or(PROVINCES.len() - 1)
}

/// Mayors and aldermen, whom the trainings are for, and everyone else together.
pub const ROLE_GROUPS: [(&str, &str); 3] = [
    ("MAYOR", "Burgemeester"),
    ("ALDERMAN", "Wethouder"),
    ("OTHER", "Overig"),
];

/// A role's place in `ROLE_GROUPS`, from the role as the database stores it.
pub fn role_group_index(stored: Option<&str>) -> usize {
    let role = stored.and_then(|text| {
        use sea_orm::ActiveEnum;
        ParticipantRole::try_from_value(&text.to_owned()).ok()
    });
    match role {
        Some(ParticipantRole::Mayor) => 0,
        Some(ParticipantRole::Alderman) => 1,
        _ => 2,
    }
}
