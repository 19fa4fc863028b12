"""The public disclosure page: what each platform entity must publish to investors (the public items
of its latest filed month, with their definitions)."""

from django.shortcuts import render

from . import selectors
from .items import SECTIONS, registry


def public_disclosures(request):
    known = registry()
    entities = []
    for snapshot in selectors.public_latest():
        sections = []
        for section, title in SECTIONS:
            rows = [
                {
                    "label": known[key].label if key in known else entry["label"],
                    "value": entry["value"],
                    "definition": entry["definition"],
                }
                for key, entry in selectors.items_visible(snapshot, None).items()
                if key.split(".")[0] == section
            ]
            if rows:
                sections.append({"title": title, "rows": rows})
        entities.append({"snapshot": snapshot, "sections": sections})
    return render(request, "disclosures/public.html", {"entities": entities})
