//! The words of each message, in text and simple HTML: the site's name, what to do, and why
//! the student got it.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// A message's subject and bodies.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
}

/// The site's name in every message.
pub const SITE_NAME: &str = "studyhall";

fn html_page(paragraphs: &[String], link: (&str, &str), why: &str) -> String {
    let mut html = String::from("<!doctype html><html><body>");
    for p in paragraphs {
        html.push_str(&format!("<p>{}</p>", text(p)));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p><p><small>{}</small></p></body></html>",
        attr(link.0),
        text(link.1),
        text(why)
    ));
    html
}

/// Confirming an address `username` gave on their account.
pub fn confirm(username: &str, link: &str) -> Composed {
    let intro = format!(
        "Someone, hopefully you, gave this address to the {SITE_NAME} account \"{username}\". \
         Open this link to confirm it; nothing else is sent to it until you do:"
    );
    let why = format!(
        "You got this message because this address was typed on {SITE_NAME}'s account page. \
         If it was not you, ignore it: the address stays unconfirmed."
    );
    Composed {
        subject: format!("{SITE_NAME}: confirm your e-mail address"),
        text: format!("{intro}\n\n{link}\n\nThe link works once, for a day.\n\n-- \n{why}\n"),
        html: html_page(
            &[intro, "The link works once, for a day.".to_owned()],
            (link, "Confirm my address"),
            &why,
        ),
    }
}

/// A password reset asked for on the login page.
pub fn reset(username: &str, link: &str) -> Composed {
    let intro = format!(
        "Someone, hopefully you, asked to reset the password of the {SITE_NAME} account \
         \"{username}\". Open this link to choose a new one:"
    );
    let note = "The link works once and for one hour; asking again voids it. Choosing a new \
                password logs the account out everywhere.";
    let why = format!(
        "You got this message because a password reset was asked for on {SITE_NAME}'s login \
         page for the account with this confirmed address. If it was not you, ignore it: \
         your password stays as it is."
    );
    Composed {
        subject: format!("{SITE_NAME}: reset your password"),
        text: format!("{intro}\n\n{link}\n\n{note}\n\n-- \n{why}\n"),
        html: html_page(
            &[intro, note.to_owned()],
            (link, "Choose a new password"),
            &why,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_the_link_is_in_both_bodies() {
        let m = reset(
            "<b>ana</b>",
            "https://s.example.org/password/reset?token=ab&x=1",
        );
        assert!(
            m.text
                .contains("https://s.example.org/password/reset?token=ab&x=1")
        );
        assert!(m.html.contains("&lt;b&gt;ana&lt;/b&gt;"));
        assert!(
            m.html
                .contains("href=\"https://s.example.org/password/reset?token=ab&amp;x=1\"")
        );
        assert!(!m.subject.contains('\n'));
    }
}

/// What a reminder says.
#[derive(Debug, Clone)]
pub struct Reminder<'a> {
    /// The student's login name.
    pub username: &'a str,
    /// Cards due, by deck name, most first.
    pub decks: &'a [(String, i64)],
    /// The next exam, as a sentence, if one is coming.
    pub exam: Option<String>,
    /// News the pages also show (a reply to a report, a new exam, a rescheduling), a
    /// sentence each.
    pub notices: &'a [String],
    /// The link to /review.
    pub review_link: &'a str,
    /// The link to stop these messages.
    pub unsubscribe_link: &'a str,
    /// Whether it is the weekly digest.
    pub weekly: bool,
    /// The local time ("04:00") the study day the cards are due on starts, when the reminder
    /// is sent before it: /review shows them from then on, not yet.
    pub from: Option<String>,
}

/// A study reminder (daily, or the weekly digest).
pub fn reminder(r: &Reminder<'_>) -> Composed {
    let total: i64 = r.decks.iter().map(|(_, n)| n).sum();
    let cards = if total == 1 { "card" } else { "cards" };
    let when = match &r.from {
        Some(hour) => format!("today from {hour}, when your study day starts"),
        None => "today".to_owned(),
    };
    let mut paragraphs = vec![format!(
        "{}, {total} {cards} are due for review {when}:",
        r.username
    )];
    let lines: Vec<String> = r
        .decks
        .iter()
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    paragraphs.extend(lines.iter().cloned());
    if let Some(exam) = &r.exam {
        paragraphs.push(exam.clone());
    }
    paragraphs.extend(r.notices.iter().cloned());
    let what = if r.weekly { "weekly" } else { "daily" };
    let why = format!(
        "You got this {what} reminder because you asked for it on {SITE_NAME}'s account page. \
         Stop it there or with this link (no login needed): {}",
        r.unsubscribe_link
    );
    let study = match &r.from {
        Some(hour) => format!("Study from {hour}"),
        None => "Study now".to_owned(),
    };
    let mut text = paragraphs.join("\n");
    text.push_str(&format!("\n\n{study}: {}\n\n-- \n{why}\n", r.review_link));
    let subject = match &r.from {
        Some(hour) => format!("{SITE_NAME}: {total} {cards} due today from {hour}"),
        None => format!("{SITE_NAME}: {total} {cards} due today"),
    };
    Composed {
        subject,
        text,
        html: html_page(&paragraphs, (r.review_link, &study), &why),
    }
}
