//! A student's controls on a card (suspend, unsuspend, bury, skip: `study::controls`), posted
//! from the review page, the card's page and the lists on Decks, and the notice the review
//! page shows after one.

use super::see_other;
use crate::study::controls::{self, Control};
use crate::study::decks::visible_card;
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for control in Control::ALL {
        cfg.service(
            web::resource(format!("/cards/{{card_id}}/{}", control.name())).route(web::post().to(
                move |state: web::Data<AppState>,
                      user: CurrentUser,
                      card_id: web::Path<i64>,
                      form: CsrfForm<ControlForm>| async move {
                    control_card(&state, &user, *card_id, control, form.0).await
                },
            )),
        );
    }
}

#[derive(Deserialize)]
struct ControlForm {
    #[serde(default)]
    deck: String,
    /// Where to go after: "card" (the card's page), "decks" (the lists on Decks), else the
    /// review page.
    #[serde(default)]
    back: String,
}

/// Applies a control to a card and goes back where the form said.
async fn control_card(
    state: &AppState,
    user: &CurrentUser,
    card_id: i64,
    control: Control,
    form: ControlForm,
) -> Result<HttpResponse, AppError> {
    super::spend_write(state, user)?;
    let card = controls::apply(
        state.db.writer(),
        &user.learner,
        card_id,
        control,
        state.clock.now(),
    )
    .await?;
    let review = super::review::review_url(super::review::deck_of(&form.deck));
    Ok(see_other(&match form.back.as_str() {
        "card" => format!("/cards/{}#controls", card.id),
        "decks" => "/decks#my-cards".to_owned(),
        _ if control == Control::Unsuspend => review,
        _ => {
            let sep = if review.contains('?') { '&' } else { '?' };
            format!("{review}{sep}card={}&did={}", card.id, control.name())
        }
    }))
}

/// "Buried ‘Inception Net’ until your next study day." after a control (the redirect names
/// the card and the control; a card the user cannot see names nothing). A suspended card
/// comes with its id, for the notice's Unsuspend button.
pub(super) async fn controlled_message(
    db: &crate::db::Pool,
    user: &CurrentUser,
    card: Option<i64>,
    did: Option<&str>,
) -> Result<Option<(String, Option<i64>)>, AppError> {
    let (Some(card_id), Some(did)) = (card, did.and_then(Control::named)) else {
        return Ok(None);
    };
    let Some(card) = visible_card(db, &user.learner, card_id).await? else {
        return Ok(None);
    };
    let whole = crate::markup::summary(&card.front, &card.format);
    let mut front: String = whole.chars().take(60).collect();
    if whole.chars().count() > 60 {
        front.push('…');
    }
    Ok(match did {
        Control::Suspend => Some((
            format!(
                "Suspended ‘{front}’: it is out of your queues until you unsuspend it (your suspended cards are listed on Decks)."
            ),
            Some(card.id),
        )),
        Control::Bury => Some((
            format!(
                "Buried ‘{front}’: it comes back on your next study day, its schedule unchanged."
            ),
            None,
        )),
        Control::Skip => Some((
            format!("Skipped ‘{front}’: it comes back at the end of today's session."),
            None,
        )),
        Control::Unsuspend => None,
    })
}
