//! The programme: organisations, locations, courses with their goals and module tree, sessions,
//! participants, actors, enrolments and feedback.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{fk, index, one_of, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PARTICIPANT_ROLES: [&str; 6] = [
    "MAYOR",
    "ALDERMAN",
    "MUNICIPAL_SECRETARY",
    "COUNCIL_MEMBER",
    "CIVIL_SERVANT",
    "OTHER",
];

fn rating(column: &'static str) -> ColumnDef {
    integer_null(column)
        .check(Expr::col(column).between(1, 5))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        manager
            .create_table(
                table("organisations")
                    .col(string_len_uniq("slug", 100))
                    .col(string("name"))
                    .col(uuid_null("parent_id"))
                    .col(string_null("service_desk_name"))
                    .col(string_null("email"))
                    .col(string_null("phone"))
                    .col(string_null("website"))
                    .col(string_null("street_address"))
                    .col(string_null("postal_code"))
                    .col(string_null("city"))
                    .col(string_len("registration_method", 20).check(one_of(
                        "registration_method",
                        &["PLATFORM", "EMAIL", "PHONE"],
                    )))
                    .col(text_null("registration_instructions"))
                    .foreign_key(&mut fk(
                        "organisations",
                        "parent_id",
                        "organisations",
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("organisations", &["parent_id"]))
            .await?;

        manager
            .create_table(
                table("locations")
                    .col(string("name"))
                    .col(string_null("street_address"))
                    .col(string_null("postal_code"))
                    .col(string("city"))
                    .col(text_null("directions"))
                    .col(boolean("is_demo").default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table("municipalities")
                    // The CBS code: "GM" and four digits, the key ministry systems use.
                    .col(string_len_uniq("cbs_code", 6))
                    .col(string("name"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table("courses")
                    .col(string_len_uniq("slug", 100))
                    .col(string("title"))
                    .col(string_null("subtitle"))
                    .col(text("introduction"))
                    .col(text("method"))
                    .col(string("audience"))
                    .col(string_null("theme"))
                    .col(
                        string_len("status", 20)
                            .check(one_of("status", &["DRAFT", "PUBLISHED", "ARCHIVED"])),
                    )
                    .col(integer("max_participants").check(Expr::col("max_participants").gt(0)))
                    .col(integer("duration_days").check(Expr::col("duration_days").gt(0)))
                    .col(time("daily_start_time"))
                    .col(time("daily_end_time"))
                    .col(
                        integer("alumni_count_before_platform")
                            .default(0)
                            .check(Expr::col("alumni_count_before_platform").gte(0)),
                    )
                    .col(uuid("provider_id"))
                    .col(uuid_null("sponsor_id"))
                    .foreign_key(&mut fk("courses", "provider_id", "organisations", Restrict))
                    .foreign_key(&mut fk("courses", "sponsor_id", "organisations", SetNull))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("courses", &["status", "slug"]))
            .await?;
        manager.create_index(index("courses", &["theme"])).await?;
        manager
            .create_index(index("courses", &["provider_id"]))
            .await?;
        manager
            .create_index(index("courses", &["sponsor_id"]))
            .await?;

        manager
            .create_table(
                table("course_goals")
                    .col(uuid("course_id"))
                    .col(integer("position").check(Expr::col("position").gte(0)))
                    .col(text("text"))
                    .foreign_key(&mut fk("course_goals", "course_id", "courses", Cascade))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("course_goals", &["course_id", "position"]))
            .await?;

        manager
            .create_table(
                table("course_audience_roles")
                    .col(uuid("course_id"))
                    .col(string_len("role", 30).check(one_of("role", &PARTICIPANT_ROLES)))
                    .foreign_key(&mut fk(
                        "course_audience_roles",
                        "course_id",
                        "courses",
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("course_audience_roles", &["course_id", "role"]))
            .await?;
        manager
            .create_index(index("course_audience_roles", &["role"]))
            .await?;

        manager
            .create_table(
                table("modules")
                    .col(uuid("course_id"))
                    .col(uuid_null("parent_id"))
                    .col(integer("position").check(Expr::col("position").gte(0)))
                    .col(string("title"))
                    .col(text_null("description"))
                    .foreign_key(&mut fk("modules", "course_id", "courses", Cascade))
                    .foreign_key(&mut fk("modules", "parent_id", "modules", Cascade))
                    .to_owned(),
            )
            .await?;
        // Positions are unique among siblings: top-level parts per course, sub-parts per parent.
        manager
            .create_index(
                unique("modules", &["course_id", "position"])
                    .name("ux_modules_top_level_position")
                    .and_where(Expr::col("parent_id").is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("modules", &["parent_id", "position"]))
            .await?;

        manager
            .create_table(
                table("module_topics")
                    .col(uuid("module_id"))
                    .col(integer("position").check(Expr::col("position").gte(0)))
                    .col(text("text"))
                    .foreign_key(&mut fk("module_topics", "module_id", "modules", Cascade))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("module_topics", &["module_id", "position"]))
            .await?;

        manager
            .create_table(
                table("sessions")
                    .col(uuid("course_id"))
                    .col(uuid_null("location_id"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .col(integer("capacity").check(Expr::col("capacity").gte(0)))
                    .col(
                        string_len("status", 20)
                            .check(one_of("status", &["SCHEDULED", "CANCELLED", "COMPLETED"])),
                    )
                    .col(timestamp_with_time_zone_null("booking_opens_at"))
                    .col(timestamp_with_time_zone_null("booking_closes_at"))
                    .col(boolean("is_demo").default(false))
                    .check((
                        "ck_sessions_ends_after_start",
                        Expr::col("ends_at").gt(Expr::col("starts_at")),
                    ))
                    .foreign_key(&mut fk("sessions", "course_id", "courses", Restrict))
                    .foreign_key(&mut fk("sessions", "location_id", "locations", Restrict))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("sessions", &["starts_at", "id"]))
            .await?;
        manager
            .create_index(index("sessions", &["course_id", "starts_at"]))
            .await?;
        manager
            .create_index(index("sessions", &["location_id"]))
            .await?;

        manager
            .create_table(
                table("participants")
                    // The id a ministry system knows this person by, for sync.
                    .col(string_len_null("external_id", 100).unique_key())
                    .col(string("full_name"))
                    .col(string_len_uniq("email", 254))
                    .col(string_null("phone"))
                    .col(string_len("role", 30).check(one_of("role", &PARTICIPANT_ROLES)))
                    .col(uuid_null("municipality_id"))
                    .foreign_key(&mut fk(
                        "participants",
                        "municipality_id",
                        "municipalities",
                        Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("participants", &["municipality_id"]))
            .await?;

        manager
            .create_table(
                table("actors")
                    .col(string("full_name"))
                    .col(string_null("email"))
                    .col(string_null("phone"))
                    .col(text_null("profile"))
                    .col(boolean("is_active").default(true))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table("session_actors")
                    .col(uuid("session_id"))
                    .col(uuid("actor_id"))
                    .col(string_null("exercise_role"))
                    .foreign_key(&mut fk("session_actors", "session_id", "sessions", Cascade))
                    .foreign_key(&mut fk("session_actors", "actor_id", "actors", Restrict))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("session_actors", &["session_id", "actor_id"]))
            .await?;
        manager
            .create_index(index("session_actors", &["actor_id"]))
            .await?;

        manager
            .create_table(
                table("enrolments")
                    .col(uuid("session_id"))
                    .col(uuid("participant_id"))
                    .col(string_len("status", 20).check(one_of(
                        "status",
                        &[
                            "CONFIRMED",
                            "WAITLISTED",
                            "CANCELLED",
                            "ATTENDED",
                            "NO_SHOW",
                        ],
                    )))
                    // When the enrolment joined the waiting list: the queue is in this order.
                    .col(timestamp_with_time_zone_null("waitlisted_at"))
                    .col(string_len_null("external_id", 100).unique_key())
                    .foreign_key(&mut fk("enrolments", "session_id", "sessions", Restrict))
                    .foreign_key(&mut fk(
                        "enrolments",
                        "participant_id",
                        "participants",
                        Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        // The last line of defence against double booking: one active enrolment per person and session.
        manager
            .create_index(
                unique("enrolments", &["session_id", "participant_id"])
                    .name("ux_enrolments_active_session_participant")
                    .and_where(one_of("status", &["CONFIRMED", "WAITLISTED"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("enrolments", &["session_id", "status"]))
            .await?;
        manager
            .create_index(index("enrolments", &["participant_id"]))
            .await?;

        manager
            .create_table(
                table("feedback")
                    .col(uuid("course_id"))
                    // Both empty for feedback from before the platform kept records.
                    .col(uuid_null("session_id"))
                    .col(uuid_null("participant_id"))
                    .col(rating("overall_rating"))
                    .col(rating("relevance_rating"))
                    .col(rating("actor_rating"))
                    .col(rating("trainer_rating"))
                    .col(text_null("comment"))
                    .col(boolean("consent_to_publish").default(false))
                    .col(string_len("moderation_status", 20).check(one_of(
                        "moderation_status",
                        &["PENDING", "APPROVED", "REJECTED"],
                    )))
                    // The only attribution a published testimonial may carry.
                    .col(string_len_null("author_role", 30))
                    .col(timestamp_with_time_zone("submitted_at"))
                    .foreign_key(&mut fk("feedback", "course_id", "courses", Restrict))
                    .foreign_key(&mut fk("feedback", "session_id", "sessions", Restrict))
                    .foreign_key(&mut fk(
                        "feedback",
                        "participant_id",
                        "participants",
                        Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("feedback", &["session_id", "participant_id"]))
            .await?;
        manager
            .create_index(index("feedback", &["course_id", "moderation_status"]))
            .await?;
        manager
            .create_index(index("feedback", &["participant_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "feedback",
            "enrolments",
            "session_actors",
            "actors",
            "participants",
            "sessions",
            "module_topics",
            "modules",
            "course_audience_roles",
            "course_goals",
            "courses",
            "municipalities",
            "locations",
            "organisations",
        ] {
            manager
                .drop_table(Table::drop().table(name).to_owned())
                .await?;
        }
        Ok(())
    }
}
