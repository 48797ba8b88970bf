//! Class analytics for instructors. Every figure is over the class's students (members whose
//! role is student: an assistant promoted to instructor stops counting) and over what the
//! class studies: the decks assigned to it and the public decks everyone studies (the shipped
//! course deck among them). A student's reviews of another class's private decks, or of
//! their own, are none of this class's instructor's business. The per-user daily rollup
//! (`review_days`) has no deck, so these read the history itself.

use crate::db::Executor;
use crate::srs::rollup::MATURE_INTERVAL_DAYS;
use sqlx::FromRow;

/// The CTEs every figure starts from (a macro, so that `concat!` can build each query as one
/// static string): `class_cards`, the cards class `$1` studies; `students`, its members who
/// are students; `standing`, their reviews of those cards that stand (graded or repeated, not
/// undone).
macro_rules! standing {
    () => {
        "
    WITH class_cards AS MATERIALIZED (
        SELECT c.id FROM cards c JOIN decks d ON d.id = c.deck_id
        WHERE d.public = 1
           OR EXISTS (SELECT 1 FROM class_decks cd WHERE cd.class_id = $1 AND cd.deck_id = d.id)),
    students AS MATERIALIZED (
        SELECT m.user_id FROM class_members m JOIN users u ON u.id = m.user_id
        WHERE m.class_id = $1 AND u.role = 'student'),
    standing AS (
        SELECT r.* FROM standing_reviews r
        WHERE r.user_id IN (SELECT user_id FROM students) AND r.card_id IN (SELECT id FROM class_cards))"
    };
}

/// Members with at least one review of the class's cards on or after `since_day`.
pub async fn active_students(
    db: impl Executor<'_>,
    class_id: i64,
    since_day: i32,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        standing!(),
        " SELECT COUNT(DISTINCT user_id) FROM standing WHERE study_day >= $2"
    ))
    .bind(class_id)
    .bind(since_day)
    .fetch_one(db)
    .await
}

/// The members' reviews of the class's cards per study day from `since_day` on:
/// `(day, reviews)`.
pub async fn reviews_per_day(
    db: impl Executor<'_>,
    class_id: i64,
    since_day: i32,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        " SELECT study_day, COUNT(*) FROM standing WHERE study_day >= $2
         GROUP BY study_day ORDER BY study_day"
    ))
    .bind(class_id)
    .bind(since_day)
    .fetch_all(db)
    .await
}

/// A card the class finds hard.
#[derive(Debug, Clone, FromRow)]
pub struct HardCard {
    /// The card.
    pub card_id: i64,
    /// Its front.
    pub front: String,
    /// How its sides are stored (`markup::Format`): lists show an HTML front as text.
    #[sqlx(default)]
    pub format: String,
    /// Mean grade of the members' graded reviews.
    pub mean_grade: f64,
    /// Share of reviews of an already learned card that failed (grade below 3).
    pub lapse_rate: f64,
    /// Members who reviewed it.
    pub students: i64,
    /// Graded reviews.
    pub reviews: i64,
}

/// The hardest cards the class studies, reviewed by at least `min_students` students:
/// lowest mean grade first, then highest lapse rate.
pub async fn hardest_cards(
    db: impl Executor<'_>,
    class_id: i64,
    min_students: i64,
    limit: i64,
) -> Result<Vec<HardCard>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        " SELECT c.id AS card_id, c.front, c.format, CAST(AVG(r.quality) AS DOUBLE PRECISION) AS mean_grade,
                COALESCE(CAST(SUM(CASE WHEN r.quality < 3 AND r.repetitions_before > 0 THEN 1 ELSE 0 END)
                                AS DOUBLE PRECISION)
                  / NULLIF(SUM(CASE WHEN r.repetitions_before > 0 THEN 1 ELSE 0 END), 0),
                  CAST(0 AS DOUBLE PRECISION)) AS lapse_rate,
                COUNT(DISTINCT r.user_id) AS students, COUNT(*) AS reviews
         FROM standing r JOIN cards c ON c.id = r.card_id
         WHERE r.kind = 'grade'
         GROUP BY c.id HAVING COUNT(DISTINCT r.user_id) >= $2
         ORDER BY mean_grade ASC, lapse_rate DESC, c.id LIMIT $3"
    ))
    .bind(class_id)
    .bind(min_students)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// How often the members hit one misconception of a practice family.
#[derive(Debug, Clone, FromRow)]
pub struct MisconceptionCount {
    /// Practice family.
    pub family: String,
    /// The misconception.
    pub misconception: String,
    /// Times hit.
    pub hits: i64,
}

/// The misconceptions the students hit most often on generated cards the class studies, most
/// first.
pub async fn misconceptions(
    db: impl Executor<'_>,
    class_id: i64,
    limit: i64,
) -> Result<Vec<MisconceptionCount>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        " SELECT a.family, a.misconception, COUNT(*) AS hits FROM practice_attempts a
         WHERE a.user_id IN (SELECT user_id FROM students) AND a.card_id IN (SELECT id FROM class_cards) AND a.misconception IS NOT NULL
         GROUP BY a.family, a.misconception ORDER BY hits DESC, a.family, a.misconception LIMIT $2"
    ))
    .bind(class_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// One student's line of the class table.
#[derive(Debug, Clone, FromRow)]
pub struct StudentLine {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Reviews that stand.
    pub reviews: i64,
    /// Reviews of mature cards.
    pub mature_reviews: i64,
    /// Of those, passed.
    pub mature_passed: i64,
    /// Cards due before `today`.
    pub overdue: i64,
    /// Last study day with reviews.
    pub last_active_day: Option<i64>,
}

/// Every member's figures over the class's cards, by name.
pub async fn students(
    db: impl Executor<'_>,
    class_id: i64,
    today: i32,
) -> Result<Vec<StudentLine>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        ",
         per_user AS (
            SELECT user_id, COUNT(*) AS reviews,
                   CAST(SUM(CASE WHEN kind = 'grade' AND interval_before >= $3 THEN 1 ELSE 0 END) AS BIGINT) AS mature_reviews,
                   CAST(SUM(CASE WHEN kind = 'grade' AND interval_before >= $3 AND quality >= 3 THEN 1 ELSE 0 END) AS BIGINT) AS mature_passed,
                   MAX(study_day) AS last_day
            FROM standing GROUP BY user_id),
         overdue AS (
            SELECT s.user_id, COUNT(*) AS n FROM review_states s
            WHERE s.user_id IN (SELECT user_id FROM students) AND s.due_day < $2 AND s.card_id IN (SELECT id FROM class_cards)
              AND NOT EXISTS (SELECT 1 FROM card_controls c WHERE c.user_id = s.user_id
                              AND c.card_id = s.card_id AND c.suspended_at IS NOT NULL)
            GROUP BY s.user_id)
         SELECT u.id, u.username, COALESCE(p.reviews, 0) AS reviews,
                COALESCE(p.mature_reviews, 0) AS mature_reviews,
                COALESCE(p.mature_passed, 0) AS mature_passed,
                COALESCE(o.n, 0) AS overdue, p.last_day AS last_active_day
         FROM students st JOIN users u ON u.id = st.user_id
         LEFT JOIN per_user p ON p.user_id = u.id
         LEFT JOIN overdue o ON o.user_id = u.id
         ORDER BY u.username COLLATE NOCASE"
    ))
    .bind(class_id)
    .bind(today)
    .bind(MATURE_INTERVAL_DAYS)
    .fetch_all(db)
    .await
}

/// The students' standing grades and repeats of the class's cards, one card of one student
/// after another, oldest first: (user, card, study day, quality). What the scheduler
/// comparison replays.
pub async fn histories(
    db: impl Executor<'_>,
    class_id: i64,
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        " SELECT user_id, card_id, study_day, quality FROM standing
          WHERE quality IS NOT NULL ORDER BY user_id, card_id, id"
    ))
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// A class's fitted FSRS parameters.
#[derive(Debug, Clone, FromRow)]
pub struct FitRow {
    /// The parameters, a JSON array of numbers.
    pub parameters: String,
    /// Reviews they were fitted on.
    pub reviews: i64,
    /// The first study day they did not see.
    pub split_day: i64,
    /// Unix seconds.
    pub fitted_at: i64,
}

/// The class's fit, if any.
pub async fn fit_of(db: impl Executor<'_>, class_id: i64) -> Result<Option<FitRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT parameters, reviews, split_day, fitted_at FROM class_fits WHERE class_id = $1",
    )
    .bind(class_id)
    .fetch_optional(db)
    .await
}

/// Saves a class's fit, replacing the previous one.
pub async fn save_fit(
    db: impl Executor<'_>,
    class_id: i64,
    fit: &FitRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_fits (class_id, parameters, reviews, split_day, fitted_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (class_id) DO UPDATE SET parameters = excluded.parameters,
             reviews = excluded.reviews, split_day = excluded.split_day,
             fitted_at = excluded.fitted_at",
    )
    .bind(class_id)
    .bind(&fit.parameters)
    .bind(fit.reviews)
    .bind(fit.split_day)
    .bind(fit.fitted_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A student's own fit and how it scored against what they had.
#[derive(Debug, Clone, FromRow)]
pub struct StudentFitRow {
    /// The parameters, a JSON array of numbers.
    pub parameters: String,
    /// Reviews they were fitted on.
    pub reviews: i64,
    /// The first study day they did not see.
    pub split_day: i64,
    /// Unix seconds.
    pub fitted_at: i64,
    /// Later reviews both were scored on.
    pub scored: i64,
    /// Log loss of the student's own parameters on those.
    pub own_log_loss: f64,
    /// Log loss of their class's parameters (or FSRS's defaults) on the same.
    pub baseline_log_loss: f64,
    /// Whether the own parameters predicted better, and so schedule the student.
    #[sqlx(try_from = "crate::db::Flag")]
    pub kept: bool,
}

/// The student's own fit, if any.
pub async fn student_fit_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<StudentFitRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT parameters, reviews, split_day, fitted_at, scored, own_log_loss,
                baseline_log_loss, kept
         FROM student_fits WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Saves a student's own fit, replacing the previous one.
pub async fn save_student_fit(
    db: impl Executor<'_>,
    user_id: i64,
    fit: &StudentFitRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO student_fits (user_id, parameters, reviews, split_day, fitted_at, scored,
             own_log_loss, baseline_log_loss, kept)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id) DO UPDATE SET parameters = excluded.parameters,
             reviews = excluded.reviews, split_day = excluded.split_day,
             fitted_at = excluded.fitted_at, scored = excluded.scored,
             own_log_loss = excluded.own_log_loss,
             baseline_log_loss = excluded.baseline_log_loss, kept = excluded.kept",
    )
    .bind(user_id)
    .bind(&fit.parameters)
    .bind(fit.reviews)
    .bind(fit.split_day)
    .bind(fit.fitted_at)
    .bind(fit.scored)
    .bind(fit.own_log_loss)
    .bind(fit.baseline_log_loss)
    .bind(i64::from(fit.kept))
    .execute(db)
    .await?;
    Ok(())
}

/// The student's standing grades and repeats, all decks: how many reviews their own fit
/// would learn from.
pub async fn review_count(db: impl Executor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM standing_reviews WHERE user_id = $1 AND quality IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// A class's fit waiting for its instructor, with what applying it would change.
#[derive(Debug, Clone, FromRow)]
pub struct ProposalRow {
    /// The parameters, a JSON array of numbers.
    pub parameters: String,
    /// Reviews they were fitted on.
    pub reviews: i64,
    /// The first study day they did not see.
    pub split_day: i64,
    /// Unix seconds.
    pub fitted_at: i64,
    /// Members on FSRS whose schedules were compared.
    pub students: i64,
    /// Of those, students with at least one card whose due day would move.
    pub affected: i64,
    /// Cards that would fall due earlier.
    pub sooner: i64,
    /// Cards that would fall due later.
    pub later: i64,
    /// Cards whose due day would stay.
    pub unchanged: i64,
    /// Cards due on the student's day of the fit or before, now.
    pub due_before: i64,
    /// The same after applying.
    pub due_after: i64,
    /// The largest move of one card's due day, in days either way.
    pub largest_shift: i64,
}

/// The class's fit waiting to be applied, if any.
pub async fn proposal_of(
    db: impl Executor<'_>,
    class_id: i64,
) -> Result<Option<ProposalRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT parameters, reviews, split_day, fitted_at, students, affected, sooner, later,
                unchanged, due_before, due_after, largest_shift
         FROM class_fit_proposals WHERE class_id = $1",
    )
    .bind(class_id)
    .fetch_optional(db)
    .await
}

/// Saves a class's proposed fit, replacing the previous proposal.
pub async fn save_proposal(
    db: impl Executor<'_>,
    class_id: i64,
    p: &ProposalRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_fit_proposals (class_id, parameters, reviews, split_day, fitted_at,
             students, affected, sooner, later, unchanged, due_before, due_after, largest_shift)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (class_id) DO UPDATE SET parameters = excluded.parameters,
             reviews = excluded.reviews, split_day = excluded.split_day,
             fitted_at = excluded.fitted_at, students = excluded.students,
             affected = excluded.affected, sooner = excluded.sooner, later = excluded.later,
             unchanged = excluded.unchanged, due_before = excluded.due_before,
             due_after = excluded.due_after, largest_shift = excluded.largest_shift",
    )
    .bind(class_id)
    .bind(&p.parameters)
    .bind(p.reviews)
    .bind(p.split_day)
    .bind(p.fitted_at)
    .bind(p.students)
    .bind(p.affected)
    .bind(p.sooner)
    .bind(p.later)
    .bind(p.unchanged)
    .bind(p.due_before)
    .bind(p.due_after)
    .bind(p.largest_shift)
    .execute(db)
    .await?;
    Ok(())
}

/// Drops the class's proposed fit. Returns whether there was one.
pub async fn delete_proposal(db: impl Executor<'_>, class_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM class_fit_proposals WHERE class_id = $1")
            .bind(class_id)
            .execute(db)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Every scheduled card of the user with its due day, by card: what a proposed fit's
/// schedules are compared with.
pub async fn due_days(db: impl Executor<'_>, user_id: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT card_id, due_day FROM review_states WHERE user_id = $1 ORDER BY card_id")
        .bind(user_id)
        .fetch_all(db)
        .await
}

/// The FSRS parameters (JSON) `user_id` would be scheduled with were class `class_id`'s fit
/// `proposed`: as `fsrs_parameters_of_user!` picks them (their own kept fit first, then the
/// first of their classes that has a fit), with the proposal standing as that class's fit.
pub async fn parameters_if_fitted(
    db: impl Executor<'_>,
    user_id: i64,
    class_id: i64,
    proposed: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(
             (SELECT sf.parameters FROM student_fits sf WHERE sf.user_id = u.id AND sf.kept = 1),
             (SELECT CASE WHEN m.class_id = $2 THEN $3 ELSE f.parameters END
                FROM class_members m LEFT JOIN class_fits f ON f.class_id = m.class_id
               WHERE m.user_id = u.id AND (f.class_id IS NOT NULL OR m.class_id = $2)
               ORDER BY m.class_id LIMIT 1))
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .bind(class_id)
    .bind(proposed)
    .fetch_optional(db)
    .await?
    .flatten())
}

/// What a student is told after an applied fit moved their cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct NoticeRow {
    /// Unix seconds of the change.
    pub changed_at: i64,
    /// Cards whose due day moved.
    pub cards: i64,
}

/// Tells `user_id` that `cards` of their cards were rescheduled at `changed_at`, replacing
/// what they were told before.
pub async fn save_notice(
    db: impl Executor<'_>,
    user_id: i64,
    notice: NoticeRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO schedule_notices (user_id, changed_at, cards) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET changed_at = excluded.changed_at,
             cards = excluded.cards, mailed_at = NULL",
    )
    .bind(user_id)
    .bind(notice.changed_at)
    .bind(notice.cards)
    .execute(db)
    .await?;
    Ok(())
}

/// Drops the user's notice.
pub async fn delete_notice(db: impl Executor<'_>, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM schedule_notices WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A card that is a leech for some of a class's students.
#[derive(Debug, Clone, FromRow)]
pub struct ClassLeech {
    /// The card.
    pub card_id: i64,
    /// Its front.
    pub front: String,
    /// How its sides are stored (`markup::Format`): lists show an HTML front as text.
    #[sqlx(default)]
    pub format: String,
    /// Students for whom it is a leech.
    pub students: i64,
    /// The most times one of them failed it.
    pub most_failures: i64,
}

/// The cards the class studies that at least one student has failed `threshold` times or
/// more (standing grades below 3, same-day repeats not counted), the most students first.
pub async fn leeches(
    db: impl Executor<'_>,
    class_id: i64,
    threshold: i64,
    limit: i64,
) -> Result<Vec<ClassLeech>, sqlx::Error> {
    sqlx::query_as(concat!(
        standing!(),
        " SELECT c.id AS card_id, c.front, c.format, COUNT(*) AS students,
                 MAX(l.failures) AS most_failures
          FROM (SELECT r.user_id, r.card_id, COUNT(*) AS failures FROM standing r
                WHERE r.kind = 'grade' AND r.quality < 3
                GROUP BY r.user_id, r.card_id HAVING COUNT(*) >= $2) l
          JOIN cards c ON c.id = l.card_id
          GROUP BY c.id, c.front, c.format
          ORDER BY students DESC, most_failures DESC, c.id LIMIT $3"
    ))
    .bind(class_id)
    .bind(threshold)
    .bind(limit)
    .fetch_all(db)
    .await
}
