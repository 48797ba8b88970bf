"""Builds the Anki packages the interop test imports: one with genanki (collection.anki2)
and one with Anki itself in its "support older versions" layout (collection.anki21), and
writes the cards studyhall must read from them to expected_import.json. Then a course-like
deck (bold, a list, an image-only back, a sound, a cloze note, Basic and reversed notes, the
optional reverse, a note type of its own with a font and a clip no card shows) exported by Anki in its modern default
layout (collection.anki21b, zstd, protobuf media index) and in the legacy one, with what
studyhall must make of them in expected_rich.json."""
import hashlib
import json
import os
import struct
import sys
import tempfile
import zlib

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

# Formatted notes are kept as sanitised HTML; plain ones become text, entities decoded.
expected = {
    "genanki.apkg": [["Capital of <b>France</b>", "Paris &amp; more<br>lines"], ["Conv params", "(K·K·C_in + 1)·C_out"],
                     ["Focal loss", "−(1 − p_t)^γ ln p_t"]],
    "anki21.apkg": [["Made by Anki", "in the <i>anki21</i> layout"]],
}


def png(width, height):
    """A real PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\x20\x60\xa0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


diagram = png(48, 32)
sound = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4
font = b"\x00\x01\x00\x00" + b"a font for the Vocab type" * 8
clip = b"\x1a\x45\xdf\xa3" + b"a webm clip" * 8
for name, data in (("diagram.png", diagram), ("hello.mp3", sound), ("_vocab.ttf", font), ("clip.webm", clip)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
rich = {}
for file, legacy in (("modern.apkg", False), ("legacy_media.apkg", True)):
    col = Collection(os.path.join(tempfile.mkdtemp(), "collection.anki2"))
    image_name = col.media.write_data("diagram.png", diagram)
    sound_name = col.media.write_data("hello.mp3", sound)
    deck_id = col.decks.id("Course deck")
    for front, back in (
        ("What does a <b>residual block</b> add?", "<ul><li>the input</li><li>to the output</li></ul>"),
        ("The network, drawn", f'<img src="{image_name}">'),
        ("Say it", f"[sound:{sound_name}]"),
        ("Plain", "text"),
    ):
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"] = front
        note["Back"] = back
        col.add_note(note, deck_id)
    cloze = col.new_note(col.models.by_name("Cloze"))
    cloze["Text"] = "{{c1::ReLU}} keeps {{c2::positive::sign}} inputs"
    col.add_note(cloze, deck_id)
    # Anki's stock reversed types: two cards, the optional reverse only where "Add Reverse"
    # is filled.
    both = col.new_note(col.models.by_name("Basic (and reversed card)"))
    both["Front"], both["Back"] = "Hund", "dog"
    col.add_note(both, deck_id)
    for front, back, reverse in (("Katze", "cat", "y"), ("Maus", "mouse", "")):
        note = col.new_note(col.models.by_name("Basic (optional reversed card)"))
        note["Front"], note["Back"], note["Add Reverse"] = front, back, reverse
        col.add_note(note, deck_id)
    # A type of the deck's own: three fields, a template of its own and a font its styling
    # names (no note does), and a clip of a type studyhall does not serve.
    font_name = col.media.write_data("_vocab.ttf", font)
    clip_name = col.media.write_data("clip.webm", clip)
    vocab = col.models.new("Vocab")
    for name in ("Word", "Meaning", "Example"):
        col.models.add_field(vocab, col.models.new_field(name))
    template = col.models.new_template("Recall")
    template["qfmt"] = "{{Word}}"
    template["afmt"] = "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}"
    col.models.add_template(vocab, template)
    vocab["css"] += '\n@font-face { font-family: vocab; src: url("%s"); }' % font_name
    col.models.add(vocab)
    note = col.new_note(col.models.by_name("Vocab"))
    note["Word"], note["Meaning"], note["Example"] = "Baum", "tree", f"Der Baum ist alt. [sound:{clip_name}]"
    col.add_note(note, deck_id)
    col.export_anki_package(
        out_path=os.path.join(out, file),
        options=ExportAnkiPackageOptions(with_scheduling=False, with_deck_configs=False, with_media=True,
                                         legacy=legacy),
        limit=None,
    )
    col.close()
    image_hash = hashlib.sha256(diagram).hexdigest()
    sound_hash = hashlib.sha256(sound).hexdigest()
    rich[file] = {
        "cards": 12,
        "contains": [
            "Hund | dog",
            "dog | Hund",
            "Katze | cat",
            "cat | Katze",
            "Maus | mouse",
            "Baum | tree<br>Der Baum ist alt. [sound: clip.webm]",
            "<b>[...]</b> keeps positive inputs",
            "ReLU keeps <b>[sign]</b> inputs",
            "ReLU keeps <b>positive</b> inputs",
            "What does a <b>residual block</b> add?",
            "<ul><li>the input</li><li>to the output</li></ul>",
            f'<img src="/media/{image_hash}" alt="{image_name}">',
            f'src="/media/{sound_hash}"></audio>',
        ],
        "media": {image_hash: "diagram.png", sound_hash: "hello.mp3"},
        # Kept with the deck, never served, exported back.
        "kept": {"_vocab.ttf": hashlib.sha256(font).hexdigest(), "clip.webm": hashlib.sha256(clip).hexdigest()},
        "notes": [
            "1 note of type 'Basic (and reversed card)' became 2 cards: front to back and back to front, each with its own schedule.",
            "2 notes of type 'Basic (optional reversed card)' became 3 cards: front to back, and back to front where the 'Add Reverse' field is filled, each with its own schedule.",
            "1 note of type 'Vocab' (3 fields): first field on the front, the rest on the back.",
        ],
    }
with open(os.path.join(out, "expected_rich.json"), "w", encoding="utf-8") as f:
    json.dump(rich, f, ensure_ascii=False)
with open(os.path.join(out, "expected_import.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False)
