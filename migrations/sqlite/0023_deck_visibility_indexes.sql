-- A learner's decks are read from the user outward (db::classes::visible_decks): the public
-- decks and their own, each through an index, so that the cost follows what is theirs and
-- not the number of decks on the site.
CREATE INDEX decks_public ON decks (id) WHERE public = 1;
CREATE INDEX decks_owner ON decks (owner_id);
