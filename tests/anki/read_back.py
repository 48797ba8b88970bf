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
for line in failures:
    print(line)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
