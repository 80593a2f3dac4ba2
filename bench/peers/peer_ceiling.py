"""The ceiling of the peer benchmark: a plain keep-alive httpx loop over the contacts list pages.

    python peer_ceiling.py BASE_URL TOKEN WORKDIR

The same requests Headwater's full read makes for live contacts: ``GET /crm/v3/objects/contacts``
with every property and the three association types inline, 100 per page, following
``paging.next.after`` on one keep-alive connection; each page's JSON is parsed and its ids and
``updatedAt`` kept (written to ``WORKDIR/records.json`` after the loop). Nothing else: no
conversion, no destination. Prints one JSON line with the loop's own time.
"""

import json
import sys
import time
from pathlib import Path

import httpx

base, token, work = sys.argv[1].rstrip("/"), sys.argv[2], Path(sys.argv[3])
headers = {"Authorization": f"Bearer {token}"}
with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
    t0 = time.perf_counter()
    props = client.get("/crm/v3/properties/contacts").json()["results"]
    names = ",".join(p["name"] for p in props)
    updated: dict[str, str] = {}
    after: str | None = None
    while True:
        params = {"limit": "100", "properties": names, "associations": "companies,deals,tickets"}
        if after:
            params["after"] = after
        r = client.get("/crm/v3/objects/contacts", params=params)
        if r.status_code == 429:
            time.sleep(1.0)
            continue
        r.raise_for_status()
        body = r.json()
        for rec in body["results"]:
            updated[str(rec["id"])] = rec["updatedAt"]
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
    elapsed = time.perf_counter() - t0
(work / "records.json").write_text(json.dumps(updated))
print(json.dumps({"elapsed_s": elapsed, "records": len(updated)}), flush=True)
