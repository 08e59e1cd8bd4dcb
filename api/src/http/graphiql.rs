//! GraphiQL from the service itself, for networks that reach no CDN (see assets/graphiql/README.md).

use actix_web::{
    HttpResponse,
    http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ContentType},
    web,
};

const INDEX: &str = include_str!("../../assets/graphiql/index.html");

/// Everything the page may load comes from here; inline styles are GraphiQL's own.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                      frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

fn file(name: &str) -> Option<(&'static [u8], &'static str)> {
    const JS: &str = "text/javascript; charset=utf-8";
    Some(match name {
        "graphiql.min.js" => (include_bytes!("../../assets/graphiql/graphiql.min.js"), JS),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "react.min.js" => (include_bytes!("../../assets/graphiql/react.min.js"), JS),
        "react-dom.min.js" => (include_bytes!("../../assets/graphiql/react-dom.min.js"), JS),
        "init.js" => (include_bytes!("../../assets/graphiql/init.js"), JS),
        _ => return None,
    })
}

pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match file(&name) {
        Some((body, content_type)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((CACHE_CONTROL, "public, max-age=3600"))
            .body(body),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Browsers ask for one; there is none, and a 404 would only be noise in the logs.
pub async fn no_favicon() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
