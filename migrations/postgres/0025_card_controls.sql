-- What a student has done to a card outside grading it (issue 25): suspended it (out of all
-- their queues until they unsuspend it), buried it for the study day it was buried on (back
-- on their next study day), or skipped it today (to the back of that day's queue, in the
-- order of skip_seq). None of it touches review_states or the review history: the schedule
-- stays as it was. One row per student and card, made on the first such action.
CREATE TABLE card_controls (
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_id      BIGINT  NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    suspended_at BIGINT,
    buried_day   BIGINT,
    skipped_day  BIGINT,
    skip_seq     BIGINT,
    PRIMARY KEY (user_id, card_id)
);
