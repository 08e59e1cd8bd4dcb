//! Administrators plan courses through the API: create, edit, publish, archive.

use api::{
    auth::Role,
    domain::ids::{CourseId, OrganisationId},
};
use entity::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($input: CreateCourseInput!) { createCourse(input: $input) {
    userErrors { code field } course { id slug status title goals audienceRoles maxParticipants } } }";
const UPDATE: &str = "mutation($input: UpdateCourseInput!) { updateCourse(input: $input) {
    userErrors { code field } course { slug title goals audienceRoles } } }";
const PUBLISH: &str = "mutation($input: CourseStatusInput!) { publishCourse(input: $input) {
    userErrors { code } course { status } } }";
const ARCHIVE: &str = "mutation($input: CourseStatusInput!) { archiveCourse(input: $input) {
    userErrors { code } course { status } } }";

fn details(provider: &str, slug: &str) -> Value {
    json!({
        "slug": slug,
        "title": "Omgaan met agressie aan de balie",
        "introduction": "Een cursus om mee te testen.",
        "method": "Oefenen met een acteur.",
        "audience": "Gemeentesecretarissen",
        "goals": ["eerste doel", "tweede doel"],
        "audienceRoles": ["MUNICIPAL_SECRETARY"],
        "maxParticipants": 12,
        "durationDays": 1,
        "dailyStartTime": "10:00:00",
        "dailyEndTime": "15:00:00",
        "providerId": provider,
    })
}

fn user_errors(payload: &Value) -> Value {
    payload["userErrors"].clone()
}

#[tokio::test]
async fn an_administrator_creates_edits_publishes_and_archives_a_course() {
    let app = spawn_app().await;
    let provider = OrganisationId(app.brochure_course().await.provider_id).to_global();
    let admin = app.token(Role::Administrator);

    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "details": details(&provider, "balie-agressie") } }),
        )
        .await["createCourse"]
        .clone();
    assert_eq!(user_errors(&created), json!([]));
    let course = &created["course"];
    assert_eq!(course["status"], "DRAFT");
    assert_eq!(course["goals"], json!(["eerste doel", "tweede doel"]));
    assert_eq!(course["audienceRoles"], json!(["MUNICIPAL_SECRETARY"]));
    let id = course["id"].clone();
    let by_slug = "{ course(slug: \"balie-agressie\") { status } }";
    assert_eq!(
        app.data(by_slug, json!({})).await["course"],
        Value::Null,
        "a draft is not public"
    );

    let mut changed = details(&provider, "balie-agressie");
    changed["goals"] = json!(["één doel"]);
    changed["audienceRoles"] = json!([]);
    let updated = app
        .data_as(
            &admin,
            UPDATE,
            json!({ "input": { "courseId": id, "details": changed } }),
        )
        .await["updateCourse"]
        .clone();
    assert_eq!(user_errors(&updated), json!([]));
    assert_eq!(updated["course"]["goals"], json!(["één doel"]));
    assert_eq!(updated["course"]["audienceRoles"], json!([]));

    let published = app
        .data_as(&admin, PUBLISH, json!({ "input": { "courseId": id } }))
        .await;
    assert_eq!(published["publishCourse"]["course"]["status"], "PUBLISHED");
    assert_eq!(
        app.data(by_slug, json!({})).await["course"]["status"],
        "PUBLISHED"
    );

    let archived = app
        .data_as(&admin, ARCHIVE, json!({ "input": { "courseId": id } }))
        .await;
    assert_eq!(archived["archiveCourse"]["course"]["status"], "ARCHIVED");
    assert_eq!(app.data(by_slug, json!({})).await["course"], Value::Null);

    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::RecordType.eq("Course"))
        .all(&app.db)
        .await
        .unwrap();
    let actions: Vec<_> = audited.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "createCourse",
        "updateCourse",
        "publishCourse",
        "archiveCourse",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn course_details_are_checked_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let brochure = app.brochure_course().await;
    let provider = OrganisationId(brochure.provider_id).to_global();
    let admin = app.token(Role::Administrator);
    let refused = |mut input: Value, change: fn(&mut Value)| {
        change(&mut input);
        input
    };
    let cases: Vec<(Value, Value)> = vec![
        (
            refused(details(&provider, "x"), |_| {}),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.details.slug" }]),
        ),
        (
            details(&provider, &brochure.slug),
            json!([{ "code": "SLUG_TAKEN", "field": "input.details.slug" }]),
        ),
        (
            refused(details(&provider, "nieuw"), |d| {
                d["dailyEndTime"] = json!("09:00:00")
            }),
            json!([{ "code": "END_BEFORE_START", "field": "input.details.dailyEndTime" }]),
        ),
        (
            refused(details(&provider, "nieuw"), |d| {
                d["maxParticipants"] = json!(0)
            }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.details.maxParticipants" }]),
        ),
        (
            refused(details(&provider, "nieuw"), |d| {
                d["goals"] = json!(vec!["doel"; 31])
            }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.details.goals" }]),
        ),
        (
            refused(details(&provider, "nieuw"), |d| {
                d["title"] = json!("x".repeat(201))
            }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.details.title" }]),
        ),
        (
            refused(details(&provider, "nieuw"), |d| d["title"] = json!("  ")),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.details.title" }]),
        ),
        (
            refused(
                details(&OrganisationId(uuid::Uuid::new_v4()).to_global(), "nieuw"),
                |_| {},
            ),
            json!([{ "code": "NOT_FOUND", "field": "input.details.providerId" }]),
        ),
        (
            refused(details("kapot", "nieuw"), |_| {}),
            json!([{ "code": "INVALID_ID", "field": "input.details.providerId" }]),
        ),
    ];
    for (input, expected) in cases {
        let answer = app
            .data_as(&admin, CREATE, json!({ "input": { "details": input } }))
            .await;
        assert_eq!(user_errors(&answer["createCourse"]), expected);
        assert_eq!(answer["createCourse"]["course"], Value::Null);
    }
    let count = entity::course::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(count, 1, "only the brochure's course");

    // Only administrators plan courses.
    let input = json!({ "input": { "details": details(&provider, "nieuw") } });
    let coordinator = app
        .graphql_as(&app.token(Role::Coordinator), CREATE, input.clone())
        .await;
    assert_eq!(error_code(&coordinator), "FORBIDDEN");
    assert_eq!(
        error_code(&app.graphql(CREATE, input).await),
        "UNAUTHENTICATED"
    );
    let unknown = CourseId(uuid::Uuid::new_v4()).to_global();
    let missing = app
        .data_as(&admin, PUBLISH, json!({ "input": { "courseId": unknown } }))
        .await;
    assert_eq!(
        user_errors(&missing["publishCourse"])[0]["code"],
        "NOT_FOUND"
    );
}

const SAVE_ORGANISATION: &str = "mutation($input: SaveOrganisationInput!) { saveOrganisation(input: $input) {
    userErrors { code field } organisation { id slug name serviceDeskName email registrationMethod parent { slug } } } }";
const SAVE_LOCATION: &str = "mutation($input: SaveLocationInput!) { saveLocation(input: $input) {
    userErrors { code field } location { id name city directions } } }";

#[tokio::test]
async fn organisations_and_locations_are_kept_with_their_contact_details() {
    let app = spawn_app().await;
    let admin = app.token(Role::Administrator);
    let ministry = app
        .data_as(
            &admin,
            SAVE_ORGANISATION,
            json!({ "input": { "details": { "slug": "test-ministerie", "name": "Testministerie",
                                             "registrationMethod": "PLATFORM" } } }),
        )
        .await["saveOrganisation"]
        .clone();
    assert_eq!(user_errors(&ministry), json!([]));
    let ministry_id = ministry["organisation"]["id"].clone();
    let institute = json!({ "slug": "test-instituut", "name": "Testinstituut", "parentId": ministry_id,
        "serviceDeskName": "Servicepunt", "email": "servicepunt@example.invalid",
        "registrationMethod": "EMAIL", "registrationInstructions": "Mail het Servicepunt." });
    let saved = app
        .data_as(
            &admin,
            SAVE_ORGANISATION,
            json!({ "input": { "details": institute } }),
        )
        .await["saveOrganisation"]
        .clone();
    assert_eq!(saved["organisation"]["parent"]["slug"], "test-ministerie");
    assert_eq!(saved["organisation"]["registrationMethod"], "EMAIL");

    // Its address becomes every invite's ORGANIZER: an address and nothing more.
    let mut listed = institute.clone();
    listed["email"] = json!("servicepunt@example.invalid, iemand@example.invalid");
    let refused = app
        .data_as(
            &admin,
            SAVE_ORGANISATION,
            json!({ "input": { "details": listed } }),
        )
        .await;
    assert_eq!(
        refused["saveOrganisation"]["userErrors"][0]["field"], "input.details.email",
        "{refused}"
    );

    // A parent chain never leads back to where it started.
    let mut cycle = json!({ "slug": "test-ministerie", "name": "Testministerie", "registrationMethod": "PLATFORM" });
    cycle["parentId"] = saved["organisation"]["id"].clone();
    let refused = app
        .data_as(
            &admin,
            SAVE_ORGANISATION,
            json!({ "input": { "organisationId": ministry_id, "details": cycle } }),
        )
        .await;
    assert_eq!(
        user_errors(&refused["saveOrganisation"]),
        json!([{ "code": "BAD_USER_INPUT", "field": "input.details.parentId" }])
    );
    let taken = app
        .data_as(
            &admin,
            SAVE_ORGANISATION,
            json!({ "input": { "details": institute } }),
        )
        .await;
    assert_eq!(
        user_errors(&taken["saveOrganisation"])[0]["code"],
        "SLUG_TAKEN"
    );

    let coordinator = app.token(Role::Coordinator);
    let forbidden = app
        .graphql_as(
            &coordinator,
            SAVE_ORGANISATION,
            json!({ "input": { "details": institute } }),
        )
        .await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");

    // Coordinators keep the locations.
    let location = app
        .data_as(
            &coordinator,
            SAVE_LOCATION,
            json!({ "input": { "details": { "name": "Vergadercentrum", "city": "Utrecht",
                                             "directions": "Melden bij de receptie." } } }),
        )
        .await["saveLocation"]
        .clone();
    assert_eq!(location["location"]["city"], "Utrecht");
    let moved = app
        .data_as(
            &coordinator,
            SAVE_LOCATION,
            json!({ "input": { "locationId": location["location"]["id"],
                               "details": { "name": "Vergadercentrum", "city": "Amersfoort" } } }),
        )
        .await;
    assert_eq!(moved["saveLocation"]["location"]["city"], "Amersfoort");
    assert_eq!(moved["saveLocation"]["location"]["directions"], Value::Null);
    let nameless = app
        .data_as(
            &coordinator,
            SAVE_LOCATION,
            json!({ "input": { "details": { "name": " ", "city": "Utrecht" } } }),
        )
        .await;
    assert_eq!(
        user_errors(&nameless["saveLocation"]),
        json!([{ "code": "BAD_USER_INPUT", "field": "input.details.name" }])
    );
}

const ADD_MODULE: &str = "mutation($input: AddModuleInput!) { addModule(input: $input) {
    userErrors { code field } module { id title topics } } }";
const REORDER: &str = "mutation($input: ReorderModulesInput!) { reorderModules(input: $input) {
    userErrors { code field } course { modules { title children { title } } } } }";
const MOVE_MODULE: &str = "mutation($input: MoveModuleInput!) { moveModule(input: $input) {
    userErrors { code field } } }";
const REMOVE_MODULE: &str = "mutation($input: RemoveModuleInput!) { removeModule(input: $input) {
    userErrors { code } course { modules { number title children { number title topics } } } } }";

/// Positions among siblings are 0, 1, 2, … with no gaps and no duplicates.
async fn positions_are_dense(app: &TestApp) {
    let modules = entity::module::Entity::find().all(&app.db).await.unwrap();
    let mut groups: std::collections::HashMap<_, Vec<i32>> = Default::default();
    for m in modules {
        groups
            .entry((m.course_id, m.parent_id))
            .or_default()
            .push(m.position);
    }
    for (_, mut positions) in groups {
        positions.sort();
        assert_eq!(positions, (0..positions.len() as i32).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_programme_is_built_nested_reordered_and_trimmed_atomically() {
    let app = spawn_app().await;
    let provider = OrganisationId(app.brochure_course().await.provider_id).to_global();
    let admin = app.token(Role::Administrator);
    let course = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "details": details(&provider, "programma-test") } }),
        )
        .await["createCourse"]["course"]["id"]
        .clone();
    let add = |title: &str, parent: Option<&Value>, position: Option<i32>| {
        json!({ "input": { "courseId": course, "parentId": parent, "position": position,
                           "content": { "title": title, "topics": [format!("{title}: onderwerp")] } } })
    };
    let mut ids = Vec::new();
    for title in ["Theorie", "Oefenen", "Afsluiting"] {
        let added = app
            .data_as(&admin, ADD_MODULE, add(title, None, None))
            .await;
        assert_eq!(user_errors(&added["addModule"]), json!([]));
        ids.push(added["addModule"]["module"]["id"].clone());
    }
    // Inserted at the front, the others move along.
    let intro = app
        .data_as(&admin, ADD_MODULE, add("Welkom", None, Some(0)))
        .await["addModule"]["module"]["id"]
        .clone();
    let child = app
        .data_as(&admin, ADD_MODULE, add("Casus", Some(&ids[1]), None))
        .await["addModule"]["module"]["id"]
        .clone();
    positions_are_dense(&app).await;

    let reordered = app
        .data_as(
            &admin,
            REORDER,
            json!({ "input": { "courseId": course, "moduleIds": [ids[0], intro, ids[1], ids[2]] } }),
        )
        .await;
    let titles: Vec<_> = reordered["reorderModules"]["course"]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["Theorie", "Welkom", "Oefenen", "Afsluiting"]);
    assert_eq!(
        reordered["reorderModules"]["course"]["modules"][2]["children"],
        json!([{ "title": "Casus" }])
    );

    // Refused reorders change nothing: a module left out, one of another course.
    let partial = app
        .data_as(
            &admin,
            REORDER,
            json!({ "input": { "courseId": course, "moduleIds": [ids[0], intro] } }),
        )
        .await;
    assert_eq!(
        user_errors(&partial["reorderModules"])[0]["field"],
        "input.moduleIds"
    );
    let brochure_id = app.brochure_course().await.id;
    let brochure_module = entity::module::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.course_id == brochure_id)
        .unwrap();
    let foreign = api::domain::ids::ModuleId(brochure_module.id).to_global();
    let other_course = app
        .data_as(
            &admin,
            REORDER,
            json!({ "input": { "courseId": course, "moduleIds": [ids[0], intro, ids[1], foreign] } }),
        )
        .await;
    assert_eq!(
        user_errors(&other_course["reorderModules"]),
        json!([{ "code": "MODULE_OF_ANOTHER_COURSE", "field": "input.moduleIds.3" }])
    );

    // Nesting: "Welkom" goes under "Theorie"; a module never goes under itself.
    let nested = app
        .data_as(
            &admin,
            MOVE_MODULE,
            json!({ "input": { "moduleId": intro, "parentId": ids[0] } }),
        )
        .await;
    assert_eq!(user_errors(&nested["moveModule"]), json!([]));
    let into_itself = app
        .data_as(
            &admin,
            MOVE_MODULE,
            json!({ "input": { "moduleId": ids[1], "parentId": child } }),
        )
        .await;
    assert_eq!(
        user_errors(&into_itself["moveModule"])[0]["field"],
        "input.parentId"
    );
    positions_are_dense(&app).await;

    let trimmed = app
        .data_as(
            &admin,
            REMOVE_MODULE,
            json!({ "input": { "moduleId": ids[1] } }),
        )
        .await;
    assert_eq!(
        trimmed["removeModule"]["course"]["modules"],
        json!([
            { "number": 1, "title": "Theorie", "children": [{ "number": 1, "title": "Welkom", "topics": ["Welkom: onderwerp"] }] },
            { "number": 2, "title": "Afsluiting", "children": [] },
        ])
    );
    positions_are_dense(&app).await;
}
