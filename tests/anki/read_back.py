"""Opens the package studyhall exported with Anki itself (importing it into a fresh
collection, as Anki does) and checks that every card arrived with its text intact."""
import html
import json
import os
import re
import sys
import tempfile

from anki.collection import Collection
from anki.import_export_pb2 import ImportAnkiPackageRequest

out = sys.argv[1]
with open(os.path.join(out, "expected_export.json"), encoding="utf-8") as f:
    expected = json.load(f)

col = Collection(os.path.join(tempfile.mkdtemp(), "collection.anki2"))
col.import_anki_package(ImportAnkiPackageRequest(package_path=os.path.join(out, "exported.apkg")))


def text(field):
    return html.unescape(re.sub(r"<br\s*/?>", "\n", field)).strip()


found = [[text(f) for f in col.get_note(nid).fields] for nid in sorted(col.find_notes(""))]
decks = [d.name for d in col.decks.all_names_and_ids()]
col.close()

failures = []
if found != expected["cards"]:
    failures.append(f"cards differ: {len(found)} read back, {len(expected['cards'])} exported")
    for got, want in zip(found, expected["cards"]):
        if got != want:
            failures.append(f"  {got!r} != {want!r}")
if expected["deck"] not in decks:
    failures.append(f"deck {expected['deck']!r} missing from {decks}")

# The course-like deck studyhall exported with its media: Anki finds every image and sound.
col = Collection(os.path.join(tempfile.mkdtemp(), "collection.anki2"))
col.import_anki_package(ImportAnkiPackageRequest(package_path=os.path.join(out, "exported_rich.apkg")))
fields = " ".join(f for nid in col.find_notes("") for f in col.get_note(nid).fields)
# The cloze note goes back as a Cloze note, its two deletion numbers as two cards.
clozes = [col.get_note(nid) for nid in col.find_notes("") if col.get_note(nid).note_type()["type"] == 1]
if [n.fields[0] for n in clozes] != ["{{c1::ReLU}} keeps {{c2::positive::sign}} inputs"]:
    failures.append(f"the exported deck's Cloze notes are {[n.fields for n in clozes]}")
elif sorted(c.ord for c in clozes[0].cards()) != [0, 1]:
    failures.append(f"the Cloze note has cards {[c.ord for c in clozes[0].cards()]}, not c1 and c2")
# Cards that mirror each other go back as one Basic and reversed note with two cards; the
# optional reverse that was not made stays a Basic note of one card.
notes = {tuple(col.get_note(nid).fields): col.get_note(nid) for nid in col.find_notes("")}
for want_fields, cards in ((("Hund", "dog"), 2), (("Katze", "cat"), 2), (("Maus", "mouse"), 1)):
    note = notes.get(want_fields)
    if note is None:
        failures.append(f"no note {want_fields} in the exported deck: {list(notes)}")
    elif len(note.cards()) != cards:
        failures.append(f"note {want_fields} has {len(note.cards())} cards, not {cards}")
# The Vocab note's clip is referenced again, and the files no card showed are back under
# their names.
if "[sound:clip.webm]" not in fields:
    failures.append("the Vocab note's clip is not referenced in the exported deck")
media_dir = col.media.dir()
stored = {open(os.path.join(media_dir, n), "rb").read() for n in os.listdir(media_dir)}
names = set(os.listdir(media_dir))
col.close()
for name in ("_vocab.ttf", "clip.webm"):
    if name not in names:
        failures.append(f"{name} is not among the exported deck's media in Anki under its name: {sorted(names)}")
for name in ("diagram.png", "hello.mp3", "_vocab.ttf", "clip.webm"):
    with open(os.path.join(out, name), "rb") as f:
        if f.read() not in stored:
            failures.append(f"{name} is not among the exported deck's media in Anki")
for part in ("<img src=", "[sound:", "<b>residual block</b>"):
    if part not in fields:
        failures.append(f"{part!r} not in the exported deck's notes")

for line in failures:
    print(line)
passed = 2 if not failures else 0
print(f"{passed} passed, {0 if passed else 1} failed")
sys.exit(1 if failures else 0)
