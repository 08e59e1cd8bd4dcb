//! `/dashboard`: reports in a browser, for reporting keys and administrators. Everything it
//! loads is embedded in the binary (see assets/dashboard/README.md) and it runs under a strict
//! content-security policy: no inline script or style, nothing from elsewhere.

use actix_web::{
    HttpResponse,
    http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ContentType, REFERRER_POLICY},
    web,
};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; \
                      base-uri 'none'; form-action 'none'";

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

fn file(name: &str) -> Option<(&'static [u8], &'static str)> {
    const JS: &str = "text/javascript; charset=utf-8";
    Some(match name {
        "chart.umd.min.js" => (
            include_bytes!("../../assets/dashboard/chart.umd.min.js"),
            JS,
        ),
        "dashboard.js" => (include_bytes!("../../assets/dashboard/dashboard.js"), JS),
        "dashboard.css" => (
            include_bytes!("../../assets/dashboard/dashboard.css"),
            "text/css; charset=utf-8",
        ),
        _ => return None,
    })
}

pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match file(&name) {
        Some((body, content_type)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((CONTENT_SECURITY_POLICY, POLICY))
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(body),
        None => HttpResponse::NotFound().finish(),
    }
}
