//! The brochure's course, rebuilt from nothing through the API alone, in the order its leaflet
//! shows it, comes out exactly as the demo data has it.

use api::auth::Role;
use serde_json::{Map, Value, json};

use crate::helpers::*;

const ORGANISATION_FIELDS: &str = "slug name serviceDeskName email phone website streetAddress
    postalCode city registrationMethod registrationInstructions";

fn course_query() -> String {
    format!(
        "query($slug: String!) {{ course(slug: $slug) {{
            slug title subtitle introduction method audience theme goals audienceRoles status
            maxParticipants durationDays dailyStartTime dailyEndTime alumniCount
            alumniCountBeforePlatform cancellationDeadlineHours allowRepeatEnrolment
            provider {{ {o} parent {{ {o} parent {{ {o} }} }} }}
            sponsor {{ {o} }}
            modules {{ number title description topics
                children {{ number title description topics
                    children {{ number title description topics }} }} }}
            testimonials {{ quote attribution authorRole }} }} }}",
        o = ORGANISATION_FIELDS
    )
}

/// The input fields of an organisation, from how the API shows it.
fn organisation_details(shown: &Value, parent: Option<&Value>) -> Value {
    let mut details: Map<String, Value> = shown
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.as_str() != "parent")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    details.insert("parentId".into(), parent.cloned().unwrap_or(Value::Null));
    Value::Object(details)
}

async fn save_organisation(
    app: &TestApp,
    token: &str,
    shown: &Value,
    parent: Option<&Value>,
) -> Value {
    let saved = app
        .data_as(
            token,
            "mutation($input: SaveOrganisationInput!) { saveOrganisation(input: $input) {
                userErrors { code field } organisation { id } } }",
            json!({ "input": { "details": organisation_details(shown, parent) } }),
        )
        .await;
    assert_eq!(saved["saveOrganisation"]["userErrors"], json!([]));
    saved["saveOrganisation"]["organisation"]["id"].clone()
}

async fn add_modules(
    app: &TestApp,
    token: &str,
    course: &Value,
    parent: Option<&Value>,
    modules: &Value,
) {
    for module in modules.as_array().unwrap() {
        let added = app
            .data_as(
                token,
                "mutation($input: AddModuleInput!) { addModule(input: $input) {
                    userErrors { code field } module { id } } }",
                json!({ "input": { "courseId": course, "parentId": parent, "content": {
                    "title": module["title"], "description": module["description"], "topics": module["topics"] } } }),
            )
            .await;
        assert_eq!(added["addModule"]["userErrors"], json!([]));
        let id = added["addModule"]["module"]["id"].clone();
        if let Some(children) = module.get("children") {
            Box::pin(add_modules(app, token, course, Some(&id), children)).await;
        }
    }
}

#[tokio::test]
async fn the_brochure_course_rebuilt_through_the_api_equals_the_demo_data() {
    let demo = spawn_app().await;
    let slug = BROCHURE_SLUG;
    let expected = demo.data(&course_query(), json!({ "slug": slug })).await["course"].clone();
    assert_eq!(
        expected["title"],
        "Omgaan met intimidatie en bedreiging voor burgemeesters en wethouders"
    );
    // Not a comparison of empty shells: the programme, the quote and the organisations are there.
    assert_eq!(expected["modules"].as_array().unwrap().len(), 3);
    assert_eq!(expected["testimonials"].as_array().unwrap().len(), 1);
    assert_eq!(expected["alumniCount"], 120);
    assert!(expected["provider"]["parent"]["parent"]["name"].is_string());

    let app = spawn_app_with(|settings| settings.demo_data = false).await;
    assert_eq!(
        app.data(&course_query(), json!({ "slug": slug })).await["course"],
        Value::Null
    );
    let admin = app.token(Role::Administrator);

    // The organisations: the provider under its parents, top first, and the sponsor.
    let provider = &expected["provider"];
    let ministry = save_organisation(&app, &admin, &provider["parent"]["parent"], None).await;
    let agency = save_organisation(&app, &admin, &provider["parent"], Some(&ministry)).await;
    let provider_id = save_organisation(&app, &admin, provider, Some(&agency)).await;
    let sponsor_id = save_organisation(&app, &admin, &expected["sponsor"], None).await;

    // The leaflet: title, introduction, goals, method, audience, practical details.
    let details = json!({
        "slug": expected["slug"], "title": expected["title"], "subtitle": expected["subtitle"],
        "introduction": expected["introduction"], "goals": expected["goals"],
        "method": expected["method"], "audience": expected["audience"],
        "audienceRoles": expected["audienceRoles"], "theme": expected["theme"],
        "maxParticipants": expected["maxParticipants"], "durationDays": expected["durationDays"],
        "dailyStartTime": expected["dailyStartTime"], "dailyEndTime": expected["dailyEndTime"],
        "alumniCountBeforePlatform": expected["alumniCountBeforePlatform"],
        "cancellationDeadlineHours": expected["cancellationDeadlineHours"],
        "allowRepeatEnrolment": expected["allowRepeatEnrolment"],
        "providerId": provider_id, "sponsorId": sponsor_id,
    });
    let created = app
        .data_as(
            &admin,
            "mutation($input: CreateCourseInput!) { createCourse(input: $input) {
                userErrors { code field } course { id } } }",
            json!({ "input": { "details": details } }),
        )
        .await;
    assert_eq!(created["createCourse"]["userErrors"], json!([]));
    let course = created["createCourse"]["course"]["id"].clone();

    // The programme in three parts, with their sub-parts and topics, in order.
    add_modules(&app, &admin, &course, None, &expected["modules"]).await;

    // The participant's words.
    for testimonial in expected["testimonials"].as_array().unwrap() {
        let recorded = app
            .data_as(
                &admin,
                "mutation($input: RecordTestimonialInput!) { recordTestimonial(input: $input) { userErrors { code } } }",
                json!({ "input": { "courseId": course, "quote": testimonial["quote"],
                                   "authorRole": testimonial["authorRole"] } }),
            )
            .await;
        assert_eq!(recorded["recordTestimonial"]["userErrors"], json!([]));
    }

    let published = app
        .data_as(
            &admin,
            "mutation($input: CourseStatusInput!) { publishCourse(input: $input) { userErrors { code } } }",
            json!({ "input": { "courseId": course } }),
        )
        .await;
    assert_eq!(published["publishCourse"]["userErrors"], json!([]));

    let rebuilt = app.data(&course_query(), json!({ "slug": slug })).await["course"].clone();
    assert_eq!(rebuilt, expected);
}
