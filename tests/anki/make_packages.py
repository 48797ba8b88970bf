"""Builds the Anki packages the interop test imports: one with genanki (collection.anki2)
and one with Anki itself in its "support older versions" layout (collection.anki21), and
writes the cards studyhall must read from them to expected_import.json."""
import json
import os
import sys
import tempfile

import genanki
from anki.collection import Collection, ExportAnkiPackageOptions

out = sys.argv[1]
notes = [
    ("Capital of <b>France</b>", "Paris &amp; more<br>lines"),
    ("Conv params", "(K&middot;K&middot;C_in + 1)&middot;C_out"),
    ("Focal loss", "&minus;(1 &minus; p_t)^&gamma; ln p_t"),
]
model = genanki.Model(
    1607392319,
    "Basic for studyhall tests",
    fields=[{"name": "Front"}, {"name": "Back"}],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}],
)
deck = genanki.Deck(2059400110, "genanki deck")
for front, back in notes:
    deck.add_note(genanki.Note(model=model, fields=[front, back]))
genanki.Package(deck).write_to_file(os.path.join(out, "genanki.apkg"))

col = Collection(os.path.join(tempfile.mkdtemp(), "collection.anki2"))
note = col.new_note(col.models.by_name("Basic"))
note["Front"] = "Made by Anki"
note["Back"] = "in the <i>anki21</i> layout"
col.add_note(note, col.decks.id("Anki deck"))
col.export_anki_package(
    out_path=os.path.join(out, "anki21.apkg"),
    options=ExportAnkiPackageOptions(with_scheduling=False, with_deck_configs=False, with_media=False, legacy=True),
    limit=None,
)
col.close()

expected = {
    "genanki.apkg": [["Capital of France", "Paris & more\nlines"], ["Conv params", "(K·K·C_in + 1)·C_out"],
                     ["Focal loss", "−(1 − p_t)^γ ln p_t"]],
    "anki21.apkg": [["Made by Anki", "in the anki21 layout"]],
}
with open(os.path.join(out, "expected_import.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False)
