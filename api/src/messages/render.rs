//! Dutch e-mail from the templates in `api/templates/email` (built into the binary): a plain-text
//! and an HTML part per kind of message, the subject from the text template's `subject` block.
//! A value a template asks for that the facts lack is an error, never an empty spot.

use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/email/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "_layout.txt",
    "_layout.html",
    "_session.txt",
    "_session.html",
    "_cancel.txt",
    "_cancel.html",
    "confirmed.txt",
    "confirmed.html",
    "waitlisted.txt",
    "waitlisted.html",
    "promoted.txt",
    "promoted.html",
    "cancelled.txt",
    "cancelled.html",
    "moved.txt",
    "moved.html",
    "session_changed.txt",
    "session_changed.html",
    "session_cancelled.txt",
    "session_cancelled.html",
    "reminder.txt",
    "reminder.html",
    "feedback_request.txt",
    "feedback_request.html",
);

/// A message's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // HTML templates escape what they show; text templates show it as it is.
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders the message `name` (such as `confirmed`) with `facts`.
    pub fn render(&self, name: &str, facts: &impl Serialize) -> Result<Rendered, minijinja::Error> {
        let text_template = self.env.get_template(&format!("{name}.txt"))?;
        let mut captured = text_template.render_captured(facts)?;
        let subject = captured
            .with_state_mut(|state| state.render_block("subject"))?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let text = tidy(captured.output());
        let html = self
            .env
            .get_template(&format!("{name}.html"))?
            .render(context! { subject => &subject, ..Value::from_serialize(facts) })?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// At most one empty line in a row, and lines without trailing spaces: what the optional parts
/// of a template leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut empty_lines = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            empty_lines += 1;
            if empty_lines > 1 || out.is_empty() {
                continue;
            }
        } else {
            empty_lines = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MESSAGES: [&str; 9] = [
        "confirmed",
        "waitlisted",
        "promoted",
        "cancelled",
        "moved",
        "session_changed",
        "session_cancelled",
        "reminder",
        "feedback_request",
    ];

    fn facts() -> serde_json::Value {
        json!({
            "participant": {"name": "Deelnemer"},
            "course": {"title": "Omgaan met intimidatie & bedreiging"},
            "session": {"date": "dinsdag 8 december 2026", "starts": "09:00", "ends": "16:00"},
            "location": {"name": "Zaal 1", "address": "Straat 1, 1234 AB Utrecht", "directions": null},
            "desk": {"name": "Servicedesk", "email": "servicedesk@example.nl", "phone": null, "website": null},
            "cancel_until": "zondag 6 december 2026 09:00",
            "waiting_list_place": 2,
            "previous": {"date": "dinsdag 1 december 2026", "starts": "09:00", "ends": "16:00", "location": null},
            "reason": null,
            "by_participant": true,
            "calendar_attached": true,
            "feedback_until": "vrijdag 8 januari 2027",
        })
    }

    #[test]
    fn every_message_renders_in_dutch_with_the_course_and_the_desk() {
        let renderer = Renderer::new();
        assert!(renderer.is_ok(), "{:?}", renderer.err());
        let Ok(renderer) = renderer else { return };
        for name in MESSAGES {
            let rendered = renderer.render(name, &facts());
            assert!(rendered.is_ok(), "{name}: {:?}", rendered.err());
            let Ok(rendered) = rendered else { continue };
            assert!(
                rendered
                    .subject
                    .contains("Omgaan met intimidatie & bedreiging"),
                "{name}"
            );
            assert!(!rendered.subject.contains('\n'), "{name}");
            assert!(
                rendered.text.starts_with("Beste Deelnemer,"),
                "{name}: {}",
                rendered.text
            );
            assert!(rendered.text.contains("servicedesk@example.nl"), "{name}");
            assert!(!rendered.text.contains("\n\n\n"), "{name}");
            // HTML escapes what it shows; text shows it as it is.
            assert!(
                rendered.html.contains("intimidatie &amp; bedreiging"),
                "{name}"
            );
            assert!(rendered.html.contains("<title>"), "{name}");
        }
    }

    #[test]
    fn every_message_renders_with_what_is_optional_left_out() {
        let Ok(renderer) = Renderer::new() else {
            panic!("the test's own setup failed");
        };
        let mut facts = facts();
        if let Some(facts) = facts.as_object_mut() {
            for (key, value) in [
                ("location", json!(null)),
                (
                    "desk",
                    json!({"name": "Servicedesk", "email": null, "phone": null, "website": null}),
                ),
                ("cancel_until", json!(null)),
                (
                    "previous",
                    json!({"date": "dinsdag 1 december 2026", "starts": "09:00", "ends": "16:00", "location": null}),
                ),
                ("by_participant", json!(false)),
                ("calendar_attached", json!(false)),
            ] {
                facts.insert(key.into(), value);
            }
        }
        for name in MESSAGES {
            let rendered = renderer.render(name, &facts);
            assert!(rendered.is_ok(), "{name}: {:?}", rendered.err());
            let Ok(rendered) = rendered else { continue };
            assert!(!rendered.text.contains("none"), "{name}: {}", rendered.text);
            assert!(
                !rendered.text.contains("bij dit bericht"),
                "{name}: no attachment promised"
            );
            if name != "feedback_request" {
                assert!(
                    rendered.text.contains("Locatie:  volgt nog"),
                    "{name}: {}",
                    rendered.text
                );
            }
        }
    }

    #[test]
    fn a_missing_value_is_an_error() {
        let Ok(renderer) = Renderer::new() else {
            panic!("the test's own setup failed");
        };
        let mut facts = facts();
        if let Some(facts) = facts.as_object_mut() {
            facts.remove("desk");
        }
        assert!(renderer.render("confirmed", &facts).is_err());
    }
}
