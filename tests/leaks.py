"""The per-service dump check of the personal-data tests: which clear values appear in any stored document."""
from __future__ import annotations

import bson


def clear_values_in(db, values: list[str]) -> list[str]:
    """`collection: value` for every clear value found in any document of any collection of the database."""
    needles = [value.encode() for value in values]
    return [f"{name}: {needle.decode()}" for name in db.list_collection_names() for doc in db[name].find()
            for needle in needles if needle in bson.encode(doc)]
